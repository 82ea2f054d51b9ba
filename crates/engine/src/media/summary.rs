use std::sync::atomic::{AtomicU64, Ordering};

use voicecall_core::protection::{LossSummary, Protection, ProtectionLevel, RedPlan};
use voicecall_core::quality::{MediaSummary, SendProtection};

/// Live counters, readable while the call runs (the UI's meters and stats).
#[derive(Debug, Default)]
pub struct MediaCounters {
    pub frames_captured: AtomicU64,
    pub frames_sent: AtomicU64,
    pub packets_received: AtomicU64,
    pub packets_padding: AtomicU64,
    pub frames_decoded: AtomicU64,
    pub frames_fec: AtomicU64,
    pub frames_red: AtomicU64,
    pub frames_comfort_noise: AtomicU64,
    pub frames_sent_red: AtomicU64,
    pub frames_unsent_dtx: AtomicU64,
    pub frames_concealed: AtomicU64,
    pub frames_silent: AtomicU64,
    /// The jitter buffer's own counts, as of the pump's last wake-up.
    pub frames_skipped: AtomicU64,
    pub frames_held: AtomicU64,
    pub samples_accelerated: AtomicU64,
    pub samples_expanded: AtomicU64,
    pub stalls: AtomicU64,
    pub send_errors: AtomicU64,
    /// Gauges, as of the pump's last wake-up: what the jitter buffer aims to hold, what it
    /// holds, and the decoded audio queued for the speaker.
    pub jitter_target_ms: AtomicU64,
    pub jitter_depth_ms: AtomicU64,
    pub playout_queue_ms: AtomicU64,
    pub output_underruns: AtomicU64,
    pub output_underrun_samples: AtomicU64,
    pub late_fills: AtomicU64,
    /// The protection applied, packed by `pack_protection`.
    protection: AtomicU64,
    peer_reports: AtomicU64,
    /// `f64` bits: the peer's loss (%), mean burst (packets), jitter (ms).
    peer_loss_pct: AtomicU64,
    peer_mean_burst: AtomicU64,
    peer_jitter_ms: AtomicU64,
}

fn pack_protection(p: Protection) -> u64 {
    let level = match p.level {
        ProtectionLevel::Off => 0u64,
        ProtectionLevel::Fec => 1,
        ProtectionLevel::Red => 2,
    };
    level
        | u64::from(p.red.bits()) << 8
        | u64::from(p.fec_loss_pct) << 16
        | u64::from(p.bitrate_bps) << 32
}

fn unpack_protection(v: u64) -> Protection {
    Protection {
        level: match v & 0xFF {
            1 => ProtectionLevel::Fec,
            2 => ProtectionLevel::Red,
            _ => ProtectionLevel::Off,
        },
        red: RedPlan::from_bits((v >> 8) as u8),
        fec_loss_pct: (v >> 16) as u8,
        bitrate_bps: (v >> 32) as u32,
    }
}

impl MediaCounters {
    pub fn snapshot(&self) -> MediaSummary {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MediaSummary {
            frames_captured: get(&self.frames_captured),
            frames_sent: get(&self.frames_sent),
            packets_received: get(&self.packets_received),
            frames_decoded: get(&self.frames_decoded),
            frames_fec: get(&self.frames_fec),
            frames_red: get(&self.frames_red),
            frames_comfort_noise: get(&self.frames_comfort_noise),
            frames_sent_red: get(&self.frames_sent_red),
            frames_unsent_dtx: get(&self.frames_unsent_dtx),
            frames_concealed: get(&self.frames_concealed),
            frames_silent: get(&self.frames_silent),
            frames_skipped: get(&self.frames_skipped),
            frames_held: get(&self.frames_held),
            packets_padding: get(&self.packets_padding),
            samples_accelerated: get(&self.samples_accelerated),
            samples_expanded: get(&self.samples_expanded),
            stalls: get(&self.stalls),
            send_errors: get(&self.send_errors),
            jitter_target_ms: get(&self.jitter_target_ms),
            jitter_depth_ms: get(&self.jitter_depth_ms),
            playout_queue_ms: get(&self.playout_queue_ms),
            output_underruns: get(&self.output_underruns),
            output_underrun_samples: get(&self.output_underrun_samples),
            late_fills: get(&self.late_fills),
            protection: self.send_protection(),
        }
    }

    fn send_protection(&self) -> SendProtection {
        let applied = unpack_protection(self.protection.load(Ordering::Relaxed));
        let float = |c: &AtomicU64| f64::from_bits(c.load(Ordering::Relaxed));
        SendProtection {
            level: applied.level,
            red: applied.red,
            fec_loss_pct: applied.fec_loss_pct,
            bitrate_bps: applied.bitrate_bps,
            peer_reports: self.peer_reports.load(Ordering::Relaxed),
            peer_loss_pct: float(&self.peer_loss_pct),
            peer_mean_burst: float(&self.peer_mean_burst),
            peer_jitter_ms: float(&self.peer_jitter_ms),
        }
    }

    pub(super) fn set_protection(&self, p: Protection) {
        self.protection.store(pack_protection(p), Ordering::Relaxed);
    }

    /// One more report from the peer, and what the reports so far add up to.
    pub(super) fn set_peer(&self, summary: &LossSummary) {
        self.peer_reports.fetch_add(1, Ordering::Relaxed);
        let set = |c: &AtomicU64, v: f64| c.store(v.to_bits(), Ordering::Relaxed);
        set(&self.peer_loss_pct, summary.loss * 100.0);
        set(&self.peer_mean_burst, summary.mean_burst);
        set(&self.peer_jitter_ms, summary.jitter_ms);
    }

    pub(super) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn set(gauge: &AtomicU64, value: u64) {
        gauge.store(value, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protection_gauge_round_trips() {
        let p = Protection {
            level: ProtectionLevel::Red,
            red: RedPlan::of(&[1, 3]).unwrap(),
            fec_loss_pct: 7,
            bitrate_bps: 28_000,
        };
        assert_eq!(unpack_protection(pack_protection(p)), p);
    }
}
