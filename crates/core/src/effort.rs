//! How hard the Opus encoder works on each frame: most of a call's CPU (issue 10).
//!
//! libopus' top complexities buy search effort that matters where bits are scarce; at the
//! bitrates we send speech at (28–40 kb/s) speech is encoded at 7 and 9 is kept for low
//! rates (WebRTC likewise raises the complexity below ~14 kb/s). 8 scored 4.19 against 4.09
//! at 7 with the same bits on the send path alone (`benches/send_quality.sh`), and was
//! tried: it moved one passage of the end-to-end tests' speech to their waveform bar
//! (correlation 0.90 against 0.94 at 7, `tests/e2e_call.rs`), and with the receiver's
//! call-start stretching costing another segment the two-way call test failed 1 run in 5.
//! Back to 8 once the receiver stops stretching speech at call start. Not below 7: libopus
//! runs its signal analysis only from 7 on, and its DTX decisions lean on it — at 5 the
//! quality benchmark's passage without noise suppression broke into 8 talkspurts instead
//! of 1 (`media::talkspurt_tests`). Frames captured in DTX silence that the voice detector did
//! not even look at are encoded at the lowest complexity: they are analysed only to find
//! where speech resumes, and the frame that wakes the detector is encoded at full effort.

/// From this bitrate on, speech is encoded at no more than `HIGH_RATE_COMPLEXITY`.
pub const LOW_RATE_BPS: u32 = 20_000;
pub const HIGH_RATE_COMPLEXITY: u8 = 7;
/// Complexity for noise-only frames in DTX silence.
pub const QUIET_COMPLEXITY: u8 = 1;

/// The complexity for speech at `bitrate_bps`, given the configured one.
pub fn speech_complexity(configured: u8, bitrate_bps: u32) -> u8 {
    if bitrate_bps >= LOW_RATE_BPS {
        configured.min(HIGH_RATE_COMPLEXITY)
    } else {
        configured
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_complexity_is_kept_for_low_rates() {
        assert_eq!(speech_complexity(9, 40_000), 7);
        assert_eq!(speech_complexity(9, 20_000), 7);
        assert_eq!(speech_complexity(9, 16_000), 9);
        // A lower configured complexity is never raised.
        assert_eq!(speech_complexity(3, 40_000), 3);
        assert_eq!(speech_complexity(3, 12_000), 3);
    }
}
