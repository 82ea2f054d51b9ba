use std::sync::atomic::{AtomicU64, Ordering};

use voicecall_core::quality::MediaSummary;

/// Live counters, readable while the call runs (the UI's meters and stats).
#[derive(Debug, Default)]
pub struct MediaCounters {
    pub frames_captured: AtomicU64,
    pub frames_sent: AtomicU64,
    pub packets_received: AtomicU64,
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
    pub stalls: AtomicU64,
    pub send_errors: AtomicU64,
    /// Gauges, as of the pump's last wake-up: what the jitter buffer aims to hold, what it
    /// holds, and the decoded audio queued for the speaker.
    pub jitter_target_ms: AtomicU64,
    pub jitter_depth_ms: AtomicU64,
    pub playout_queue_ms: AtomicU64,
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
            stalls: get(&self.stalls),
            send_errors: get(&self.send_errors),
            jitter_target_ms: get(&self.jitter_target_ms),
            jitter_depth_ms: get(&self.jitter_depth_ms),
            playout_queue_ms: get(&self.playout_queue_ms),
        }
    }

    pub(super) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn set(gauge: &AtomicU64, value: u64) {
        gauge.store(value, Ordering::Relaxed);
    }
}
