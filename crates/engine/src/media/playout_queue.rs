//! How full the pump keeps the playout queue on the fixed tick, and how its frame counters
//! count audio pulled in pieces.

use std::time::{Duration, Instant};

use crate::jitter::FrameSource;
use voicecall_core::format::FRAME_SAMPLES;

/// The playout queue holds one device period (what the next callback takes) plus slack for
/// the pump's own wake-ups; more only adds latency. Until the device has asked for audio,
/// its period is taken to be 10 ms.
pub(super) const DEFAULT_PERIOD_SAMPLES: usize = FRAME_SAMPLES / 2;
/// The slack starts at one pump interval; each time the device runs dry anyway (the pump
/// woke late on a loaded machine) it grows by one, up to `MAX_PLAYOUT_SLACK`, and it gives
/// one back after `SLACK_CALM` without running dry.
const PUMP_INTERVAL_SAMPLES: usize = FRAME_SAMPLES / 4;
const MAX_PLAYOUT_SLACK: usize = 4 * PUMP_INTERVAL_SAMPLES;
const SLACK_CALM: Duration = Duration::from_secs(10);

/// Silence and comfort noise are pulled in pieces shorter than a frame; their counters
/// still count frames.
#[derive(Default)]
pub(super) struct QuietTally {
    silence: usize,
    comfort_noise: usize,
}

impl QuietTally {
    /// Adds a pulled piece; true when it completes a frame's worth (always for the others).
    pub(super) fn completes_frame(&mut self, source: FrameSource, len: usize) -> bool {
        let samples = match source {
            FrameSource::Silence => &mut self.silence,
            FrameSource::ComfortNoise => &mut self.comfort_noise,
            _ => return true,
        };
        *samples += len;
        if *samples < FRAME_SAMPLES {
            return false;
        }
        *samples -= FRAME_SAMPLES;
        true
    }
}

/// How much the playout queue holds beyond one device period: see `PUMP_INTERVAL_SAMPLES`.
pub(super) struct PlayoutSlack {
    samples: usize,
    /// The device's dry periods when last looked at; `None` before the first fill (the
    /// device ran before the pump started, which says nothing about the pump).
    xruns_seen: Option<u64>,
    changed: Instant,
}

impl PlayoutSlack {
    pub(super) fn new() -> Self {
        Self {
            samples: PUMP_INTERVAL_SAMPLES,
            xruns_seen: None,
            changed: Instant::now(),
        }
    }

    /// The queue's low water for a device with this period that has run dry `xruns` times.
    pub(super) fn low_water(&mut self, period: Option<usize>, xruns: u64, now: Instant) -> usize {
        match self.adapt(xruns, now) {
            Some(true) => {
                self.samples = (self.samples + PUMP_INTERVAL_SAMPLES).min(MAX_PLAYOUT_SLACK);
            }
            Some(false) => {
                self.samples = (self.samples - PUMP_INTERVAL_SAMPLES).max(PUMP_INTERVAL_SAMPLES);
            }
            None => {}
        }
        period.unwrap_or(DEFAULT_PERIOD_SAMPLES) + self.samples
    }

    /// `Some(true)`: the device ran dry since last time, so the slack should grow;
    /// `Some(false)`: it has been calm for `SLACK_CALM`, so it may shrink.
    pub(super) fn adapt(&mut self, xruns: u64, now: Instant) -> Option<bool> {
        let change = match self.xruns_seen {
            // A replaced device counts from zero again.
            Some(seen) if xruns > seen => Some(true),
            _ if now.saturating_duration_since(self.changed) >= SLACK_CALM => Some(false),
            _ => None,
        };
        if change.is_some() {
            self.changed = now;
        }
        self.xruns_seen = Some(xruns);
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: usize = FRAME_SAMPLES / 2;

    #[test]
    fn the_slack_grows_when_the_device_runs_dry_and_shrinks_after_a_calm_spell() {
        let t0 = Instant::now();
        let mut slack = PlayoutSlack::new();
        let start = PERIOD + PUMP_INTERVAL_SAMPLES;
        // Dry periods from before the first fill say nothing about the pump.
        assert_eq!(slack.low_water(Some(PERIOD), 7, t0), start);
        // Each new dry spell adds one pump interval, up to the ceiling.
        let mut xruns = 7;
        for step in 1..=6 {
            xruns += 1;
            let expected = (PUMP_INTERVAL_SAMPLES * (step + 1)).min(MAX_PLAYOUT_SLACK);
            assert_eq!(slack.low_water(Some(PERIOD), xruns, t0), PERIOD + expected);
        }
        // Calm for less than SLACK_CALM: kept; then one interval back per calm spell.
        let full = PERIOD + MAX_PLAYOUT_SLACK;
        assert_eq!(
            slack.low_water(Some(PERIOD), xruns, t0 + SLACK_CALM / 2),
            full
        );
        let calm = t0 + SLACK_CALM;
        assert_eq!(
            slack.low_water(Some(PERIOD), xruns, calm),
            full - PUMP_INTERVAL_SAMPLES
        );
        // Never below one interval, and a device that has not run counts as 10 ms.
        let later = calm + SLACK_CALM * 10;
        for i in 1..=10 {
            slack.low_water(None, xruns, calm + SLACK_CALM * i);
        }
        assert_eq!(slack.low_water(None, xruns, later), start);
    }

    #[test]
    fn quiet_pieces_count_once_a_frame_is_complete() {
        let mut tally = QuietTally::default();
        assert!(!tally.completes_frame(FrameSource::Silence, FRAME_SAMPLES / 2));
        assert!(!tally.completes_frame(FrameSource::ComfortNoise, FRAME_SAMPLES / 2));
        assert!(tally.completes_frame(FrameSource::Silence, FRAME_SAMPLES / 2));
        assert!(tally.completes_frame(FrameSource::Decoded, 10));
    }
}
