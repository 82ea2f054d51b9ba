//! When the pump wakes: on time for the speaker, to a fraction of a millisecond.

use std::time::{Duration, Instant};

/// How early tokio's timer is set before a wake-up: the rest is slept on the pump's own
/// thread. Tokio's timer counts whole milliseconds and rounds up: on its own it woke the
/// pump 1.1–1.6 ms late (median; p99 1.9–2.6 ms, Chromium → voicecall calls), half of the
/// speaker's 3 ms margin. With the lead: 0.05 ms (p99 0.1–0.2 ms).
const TIMER_LEAD: Duration = Duration::from_millis(2);

/// The pump's next wake-up: at `at`, or on the fixed tick. Blocking the pump's thread for
/// the last stretch costs nothing but the wait: packets are stamped when they arrive, not
/// when the pump takes them up.
pub(super) async fn wake(tick: &mut tokio::time::Interval, at: Option<Instant>) {
    match at {
        Some(at) => {
            if let Some(early) = at.checked_sub(TIMER_LEAD) {
                tokio::time::sleep_until(early.into()).await;
            }
            let rest = at.saturating_duration_since(Instant::now());
            if !rest.is_zero() {
                std::thread::sleep(rest);
            }
        }
        None => {
            tick.tick().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn the_pump_never_wakes_before_its_time() {
        let mut tick = tokio::time::interval(Duration::from_millis(5));
        for offset_us in [0, 300, 1_000, 1_999, 2_000, 2_500, 7_300] {
            let at = Instant::now() + Duration::from_micros(offset_us);
            wake(&mut tick, Some(at)).await;
            assert!(Instant::now() >= at, "woke before {offset_us} µs");
        }
    }
}
