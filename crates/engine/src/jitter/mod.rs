//! Receive side of the call: a sans-IO jitter buffer that turns packets arriving at
//! irregular times, out of order, duplicated or not at all into one decision per 20 ms
//! (`Playout`), and `ReceivePath`, which turns those decisions into PCM with the decoder.

mod buffer;
mod bursts;
mod estimator;
mod naive;
mod padding;
mod playout;
mod receive;
pub mod replay;
mod ring;
mod sequence;
mod stats;
mod stretch;
pub mod trace;

#[cfg(test)]
mod buffer_tests;
#[cfg(test)]
mod device_clock_tests;
#[cfg(test)]
mod padding_tests;
#[cfg(test)]
mod receive_tests;
#[cfg(test)]
mod trace_tests;

use std::time::Duration;

pub use buffer::{DTX_MAX_BYTES, JitterBuffer};
pub use naive::NaiveReceivePath;
pub use playout::{InsertOutcome, Playout};
pub use receive::{FrameSource, ReceivePath};
pub use ring::{SLOT_COUNT, SLOT_PAYLOAD_BYTES};
pub use stats::JitterStats;
pub use stretch::{Stretch, TimeStretcher};

/// Bounds of the adaptive playout delay. `max_delay` is capped at half the ring (640 ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitterConfig {
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Target before there are enough packets to measure jitter.
    pub start_delay: Duration,
    /// A lasting rise in every packet's transit moves the estimator's floor with it instead
    /// of counting as spread (`false`: the comparison baseline).
    pub follow_delay_steps: bool,
    /// The Opus decoder's complexity (`codec::Decoder::with_complexity`): what conceals
    /// lost frames and how decoded speech is enhanced.
    pub decoder_complexity: u8,
}

impl Default for JitterConfig {
    /// At least two frames of delay: Chromium's packets on a clean line reach us up to
    /// 25 ms behind the fastest (p95 10 ms), and a target of one frame plus a few
    /// milliseconds of lead lengthened and shortened speech around every such packet —
    /// 0.3–0.7 PESQ-WB on replayed real streams (issue 17, `jitter::trace_tests`,
    /// `benches/rx_replay.rs`). NetEq held 35–75 ms in the same runs.
    fn default() -> Self {
        Self {
            min_delay: Duration::from_millis(40),
            max_delay: Duration::from_millis(200),
            start_delay: Duration::from_millis(40),
            follow_delay_steps: true,
            decoder_complexity: crate::codec::DEFAULT_DECODER_COMPLEXITY,
        }
    }
}
