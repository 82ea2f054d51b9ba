//! Arrival-delay statistics and the adaptive playout target.
//!
//! The target comes from a windowed percentile of relative transit delay rather than from
//! the RFC 3550 interarrival jitter. RFC 3550's J is a smoothed mean of consecutive
//! differences: it under-reads bursty paths (a Wi-Fi stall that delivers ten packets at once
//! moves it little) and over-reads smooth drifts, while what the buffer must absorb is
//! "how much later than the fastest packet do the slow ones arrive", which the spread
//! between the minimum and the 95th percentile of transit delay measures directly. The
//! percentile also ignores a lone stall shorter than 5 % of the window (~200 ms), which the
//! buffer rides out by refilling instead of raising the delay for the next few seconds.
//! RFC 3550's J is still computed for the stats, since it is what RTCP reports and what
//! peers compare.

use std::time::{Duration, Instant};

use super::JitterConfig;
use voicecall_core::format::{FRAME_DURATION, SAMPLE_RATE};

/// 4 s of 20 ms packets: long enough to see periodic bursts, short enough to forget.
const WINDOW: usize = 200;
/// Packets beyond this percentile of delay are left to concealment.
const PERCENTILE: f64 = 0.95;
/// Below this many packets the window says nothing; the start delay holds.
const MIN_SAMPLES: usize = 10;
/// A sender whose clock lost time (a stalled capture thread that skips what it missed, a
/// route that got longer) moves every later packet's transit up by the same amount: a step,
/// not jitter. When even the fastest of this many recent packets (200 ms) is `STEP_MS` or
/// more behind the window's fastest, the older packets are taken to be that much later too.
/// A stall that delivers a burst does not look like this: its last packets are on time.
const STEP_PACKETS: usize = 10;
const STEP_MS: f64 = 10.0;
/// The target closes 1/SHRINK_PACKETS of its excess per packet: ~2 s time constant.
const SHRINK_PACKETS: f64 = 100.0;
/// RFC 3550 §6.4.1 smoothing.
const RFC3550_GAIN: f64 = 1.0 / 16.0;

#[derive(Debug)]
pub(crate) struct DelayEstimator {
    min_ms: f64,
    max_ms: f64,
    follow_delay_steps: bool,
    start_ms: f64,
    target_ms: f64,
    /// Arrival time of the first packet since the last reset; transit is measured from it.
    origin: Option<Instant>,
    last_ts: u32,
    /// RTP timestamp relative to the first packet's, unwrapped.
    ts_ext: i64,
    last_transit_us: Option<i64>,
    rfc3550_jitter_us: f64,
    transits_us: [i64; WINDOW],
    scratch: [i64; WINDOW],
    filled: usize,
    next: usize,
}

impl DelayEstimator {
    pub(crate) fn new(config: &JitterConfig) -> Self {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let start_ms = ms(config.start_delay).clamp(ms(config.min_delay), ms(config.max_delay));
        Self {
            min_ms: ms(config.min_delay),
            max_ms: ms(config.max_delay),
            follow_delay_steps: config.follow_delay_steps,
            start_ms,
            target_ms: start_ms,
            origin: None,
            last_ts: 0,
            ts_ext: 0,
            last_transit_us: None,
            rfc3550_jitter_us: 0.0,
            transits_us: [0; WINDOW],
            scratch: [0; WINDOW],
            filled: 0,
            next: 0,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.target_ms = self.start_ms;
        self.origin = None;
        self.last_transit_us = None;
        self.rfc3550_jitter_us = 0.0;
        self.filled = 0;
        self.next = 0;
    }

    /// Records one packet's arrival (any arrival order) and updates the target.
    pub(crate) fn observe(&mut self, rtp_timestamp: u32, now: Instant) {
        let origin = match self.origin {
            Some(origin) => {
                // Signed 32-bit difference: exact for any reordering under 12 hours.
                self.ts_ext += i64::from(rtp_timestamp.wrapping_sub(self.last_ts) as i32);
                origin
            }
            None => {
                self.origin = Some(now);
                self.ts_ext = 0;
                now
            }
        };
        self.last_ts = rtp_timestamp;
        let arrival_us =
            i64::try_from(now.saturating_duration_since(origin).as_micros()).unwrap_or(i64::MAX);
        let media_us = self.ts_ext.saturating_mul(1_000_000) / i64::from(SAMPLE_RATE);
        let transit_us = arrival_us.saturating_sub(media_us);

        if let Some(last) = self.last_transit_us {
            let d = transit_us.saturating_sub(last).unsigned_abs() as f64;
            self.rfc3550_jitter_us += (d - self.rfc3550_jitter_us) * RFC3550_GAIN;
        }
        self.last_transit_us = Some(transit_us);

        self.transits_us[self.next] = transit_us;
        self.next = (self.next + 1) % WINDOW;
        self.filled = (self.filled + 1).min(WINDOW);
        if self.follow_delay_steps {
            self.follow_step();
        }
        if let Some(spread_us) = self.spread_us() {
            self.adapt(spread_us as f64 / 1000.0);
        }
    }

    /// See `STEP_PACKETS`: lifts the window's older packets to the recent floor, so the step
    /// is not read as spread (which raised the target by the step, expanded speech to reach
    /// it and, once the window forgot the old floor, accelerated it back).
    fn follow_step(&mut self) {
        if self.filled < STEP_PACKETS.max(MIN_SAMPLES) {
            return;
        }
        let recent = (0..STEP_PACKETS).map(|back| (self.next + WINDOW - 1 - back) % WINDOW);
        let Some(recent_floor) = recent.map(|i| self.transits_us[i]).min() else {
            return;
        };
        let window = &mut self.transits_us[..self.filled];
        let Some(floor) = window.iter().copied().min() else {
            return;
        };
        if (recent_floor - floor) as f64 >= STEP_MS * 1000.0 {
            for transit in window.iter_mut() {
                *transit = (*transit).max(recent_floor);
            }
        }
    }

    /// Delay of the 95th-percentile packet behind the fastest one in the window.
    fn spread_us(&mut self) -> Option<i64> {
        if self.filled < MIN_SAMPLES {
            return None;
        }
        let values = &mut self.scratch[..self.filled];
        values.copy_from_slice(&self.transits_us[..self.filled]);
        let fastest = values.iter().copied().min()?;
        let rank = ((self.filled - 1) as f64 * PERCENTILE).ceil() as usize;
        let (_, &mut slow, _) = values.select_nth_unstable(rank);
        Some(slow - fastest)
    }

    /// Rises at once when packets need more time, shrinks slowly once they stop needing it:
    /// a too-short delay costs audible losses, a too-long one only latency.
    fn adapt(&mut self, spread_ms: f64) {
        // One more frame because playout is clocked in whole frames at an arbitrary phase.
        let frame_ms = FRAME_DURATION.as_secs_f64() * 1000.0;
        let wanted = (spread_ms + frame_ms).clamp(self.min_ms, self.max_ms);
        if wanted > self.target_ms {
            self.target_ms = wanted;
        } else {
            self.target_ms += (wanted - self.target_ms) / SHRINK_PACKETS;
        }
    }

    pub(crate) fn target_ms(&self) -> f64 {
        self.target_ms
    }

    pub(crate) fn jitter_ms(&self) -> f64 {
        self.rfc3550_jitter_us / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use voicecall_core::format::RTP_TICKS_PER_FRAME;

    fn feed(
        est: &mut DelayEstimator,
        t0: Instant,
        from: u32,
        count: u32,
        delay_ms: impl Fn(u32) -> u64,
    ) {
        for i in from..from + count {
            let sent = Duration::from_millis(u64::from(i) * 20);
            est.observe(
                i.wrapping_mul(RTP_TICKS_PER_FRAME),
                t0 + sent + Duration::from_millis(delay_ms(i)),
            );
        }
    }

    /// The mechanics with a one-frame floor (the default's is two, for real streams).
    fn one_frame_floor() -> JitterConfig {
        JitterConfig {
            min_delay: Duration::from_millis(20),
            ..JitterConfig::default()
        }
    }

    #[test]
    fn steady_arrivals_settle_at_the_minimum() {
        let mut est = DelayEstimator::new(&one_frame_floor());
        assert_eq!(est.target_ms(), 40.0);
        feed(&mut est, Instant::now(), 0, 1_000, |_| 30);
        assert!(est.target_ms() < 20.5, "{}", est.target_ms());
        assert!(est.jitter_ms() < 0.01);
    }

    #[test]
    fn rfc3550_jitter_of_alternating_delay() {
        let mut est = DelayEstimator::new(&JitterConfig::default());
        // Transit alternates 0/10 ms: |D| = 10 ms every packet, so J converges to 10 ms.
        feed(&mut est, Instant::now(), 0, 500, |i| u64::from(i % 2) * 10);
        assert!((est.jitter_ms() - 10.0).abs() < 0.1, "{}", est.jitter_ms());
    }

    #[test]
    fn timestamps_wrapping_u32_do_not_disturb_the_estimate() {
        let mut est = DelayEstimator::new(&one_frame_floor());
        let t0 = Instant::now();
        let start = u32::MAX / RTP_TICKS_PER_FRAME - 100;
        feed(&mut est, t0, start, 400, |_| 5);
        assert!(est.target_ms() < 25.0, "{}", est.target_ms());
        assert!(est.jitter_ms() < 0.01, "{}", est.jitter_ms());
    }

    #[test]
    fn a_single_stall_does_not_raise_the_target_but_steady_jitter_does() {
        let mut est = DelayEstimator::new(&JitterConfig::default());
        let t0 = Instant::now();
        feed(&mut est, t0, 0, 200, |_| 0);
        // 160 ms stall: eight packets arrive together, 4 % of the window.
        feed(&mut est, t0, 200, 8, |i| u64::from(208 - i) * 20);
        assert!(est.target_ms() < 45.0, "{}", est.target_ms());
        // Every third packet 60 ms late: a third of the window.
        feed(&mut est, t0, 208, 200, |i| if i % 3 == 0 { 60 } else { 0 });
        assert!(est.target_ms() >= 79.0, "{}", est.target_ms());
    }

    #[test]
    fn a_lasting_step_in_transit_moves_the_floor_not_the_target() {
        let step = |follow_delay_steps| {
            let mut est = DelayEstimator::new(&JitterConfig {
                follow_delay_steps,
                ..JitterConfig::default()
            });
            let t0 = Instant::now();
            // Steady, then every packet 30 ms later: a sender that lost 30 ms.
            feed(&mut est, t0, 0, 200, |i| u64::from(i % 4));
            feed(&mut est, t0, 200, 100, |i| 30 + u64::from(i % 4));
            est.target_ms()
        };
        assert!(step(true) < 41.0, "{}", step(true));
        assert!(step(false) >= 50.0, "the baseline: {}", step(false));
        // A burst after a stall is not a step: its last packets are on time.
        let mut est = DelayEstimator::new(&JitterConfig::default());
        let t0 = Instant::now();
        feed(&mut est, t0, 0, 200, |_| 0);
        feed(&mut est, t0, 200, 8, |i| u64::from(208 - i) * 20);
        feed(&mut est, t0, 208, 20, |_| 0);
        assert!(est.target_ms() < 45.0, "{}", est.target_ms());
        // Steady jitter after a step is still measured from the new floor.
        feed(&mut est, t0, 228, 20, |_| 40);
        feed(&mut est, t0, 248, 200, |i| {
            40 + if i % 3 == 0 { 60 } else { 0 }
        });
        assert!(est.target_ms() >= 79.0, "{}", est.target_ms());
    }

    #[test]
    fn config_bounds_the_target() {
        let config = JitterConfig {
            min_delay: Duration::from_millis(60),
            max_delay: Duration::from_millis(100),
            start_delay: Duration::from_millis(10),
            ..JitterConfig::default()
        };
        let mut est = DelayEstimator::new(&config);
        assert_eq!(est.target_ms(), 60.0);
        feed(&mut est, Instant::now(), 0, 300, |i| u64::from(i % 2) * 500);
        assert_eq!(est.target_ms(), 100.0);
    }
}
