//! The connection figures a call screen shows, computed from two stats snapshots.

use std::time::Instant;

use super::RtcStats;

/// Thresholds above which a call sounds bad.
pub const POOR_LOSS_PERCENT: f64 = 5.0;
pub const POOR_RTT_MS: f64 = 300.0;
pub const POOR_JITTER_MS: f64 = 30.0;

/// Connection numbers over the last stats interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Quality {
    pub rtt_ms: Option<f64>,
    pub loss_percent: f64,
    pub jitter_ms: f64,
    /// Sent and received, kbit/s (unknown until a second report gives an interval).
    pub kbps_out: Option<f64>,
    pub kbps_in: Option<f64>,
}

impl Quality {
    /// Numbers between two stats reports (`previous` = `None` for the first one, which
    /// then counts from the start of the call).
    pub fn between(
        previous: Option<(&RtcStats, Instant)>,
        current: &RtcStats,
        now: Instant,
    ) -> Self {
        let zero = RtcStats::default();
        let (before, seconds) = match previous {
            Some((stats, at)) => (stats, now.saturating_duration_since(at).as_secs_f64()),
            None => (&zero, 0.0),
        };
        let received = current
            .packets_received
            .saturating_sub(before.packets_received) as f64;
        let lost = (current.packets_lost - before.packets_lost).max(0) as f64;
        let loss_percent = if received + lost > 0.0 {
            100.0 * lost / (received + lost)
        } else {
            0.0
        };
        let kbps = |now: u64, then: u64| {
            (seconds > 0.0).then(|| now.saturating_sub(then) as f64 * 8.0 / seconds / 1000.0)
        };
        Self {
            rtt_ms: current.rtt_ms,
            loss_percent,
            jitter_ms: current.jitter_ms,
            kbps_out: kbps(current.bytes_sent, before.bytes_sent),
            kbps_in: kbps(current.bytes_received, before.bytes_received),
        }
    }

    pub fn is_poor(&self) -> bool {
        self.loss_percent > POOR_LOSS_PERCENT
            || self.rtt_ms.is_some_and(|rtt| rtt > POOR_RTT_MS)
            || self.jitter_ms > POOR_JITTER_MS
    }

    /// "RTT 42 ms · loss 0.0 % · jitter 3 ms · 32/31 kbit/s"
    pub fn summary(&self) -> String {
        let rtt = match self.rtt_ms {
            None => "RTT –".to_owned(),
            Some(rtt) if rtt < 1.0 => "RTT <1 ms".to_owned(),
            Some(rtt) => format!("RTT {rtt:.0} ms"),
        };
        let rate = match (self.kbps_out, self.kbps_in) {
            (Some(out), Some(r#in)) => format!("{out:.0}↑ {in:.0}↓ kbit/s"),
            _ => "– kbit/s".to_owned(),
        };
        format!(
            "{rtt} · loss {:.1} % · jitter {:.0} ms · {rate}",
            self.loss_percent, self.jitter_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn stats(received: u64, lost: i64, bytes: u64, rtt: f64, jitter: f64) -> RtcStats {
        RtcStats {
            packets_received: received,
            packets_lost: lost,
            bytes_received: bytes,
            bytes_sent: bytes,
            rtt_ms: Some(rtt),
            jitter_ms: jitter,
            ..RtcStats::default()
        }
    }

    #[test]
    fn good_call_numbers_over_an_interval() {
        let t0 = Instant::now();
        let first = stats(100, 0, 4000, 40.0, 2.0);
        let second = stats(150, 0, 8000, 42.0, 3.0);
        let q = Quality::between(Some((&first, t0)), &second, t0 + Duration::from_secs(1));
        assert_eq!(q.loss_percent, 0.0);
        assert!(q.kbps_in.is_some_and(|k| (k - 32.0).abs() < 1e-9), "{q:?}");
        assert!(q.summary().contains("32↑ 32↓ kbit/s"), "{}", q.summary());
        let first = Quality::between(None, &second, t0);
        assert!(first.summary().contains("– kbit/s"), "{}", first.summary());
        assert!(!q.is_poor());
        assert!(q.summary().contains("RTT 42 ms"), "{}", q.summary());
    }

    #[test]
    fn loss_rtt_or_jitter_make_it_poor() {
        let t0 = Instant::now();
        let first = stats(100, 0, 0, 40.0, 2.0);
        let lossy = stats(190, 10, 0, 40.0, 2.0);
        let q = Quality::between(Some((&first, t0)), &lossy, t0 + Duration::from_secs(1));
        assert!((q.loss_percent - 10.0).abs() < 1e-9, "{q:?}");
        assert!(q.is_poor());
        let slow = Quality::between(None, &stats(10, 0, 0, 450.0, 2.0), t0);
        assert!(slow.is_poor());
        let jittery = Quality::between(None, &stats(10, 0, 0, 40.0, 45.0), t0);
        assert!(jittery.is_poor());
    }
}
