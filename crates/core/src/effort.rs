//! How hard the Opus encoder works on each frame: most of a call's CPU (issue 10).
//!
//! libopus' top complexities buy search effort that matters where bits are scarce; at the
//! bitrates we send speech at (28–40 kb/s) speech is encoded at 8 and 9 is kept for low
//! rates (WebRTC likewise raises the complexity below ~14 kb/s). 8 scores what 9 does on the
//! send path alone and 0.14 above 7 with the same bits (`benches/send_quality.sh`), for
//! ~60 µs more a frame (0.3 % of a core). It was tried once before the receiver decoded
//! with NoLACE and reverted: one passage of the end-to-end tests' speech then decoded at
//! their waveform bar (docs/quality.md, "The sender at 0 % loss"). Not below 7: libopus
//! runs its signal analysis only from 7 on, and its DTX decisions lean on it — at 5 the
//! quality benchmark's passage without noise suppression broke into 8 talkspurts instead
//! of 1 (`media::talkspurt_tests`). Frames captured in DTX silence that the voice detector did
//! not even look at are encoded at the lowest complexity: they are analysed only to find
//! where speech resumes, and the frame that wakes the detector is encoded at full effort.

/// From this bitrate on, speech is encoded at no more than the high-rate complexity.
pub const LOW_RATE_BPS: u32 = 20_000;
/// The default high-rate complexity.
pub const HIGH_RATE_COMPLEXITY: u8 = 8;
/// Complexity for noise-only frames in DTX silence.
pub const QUIET_COMPLEXITY: u8 = 1;

/// The complexity for speech at `bitrate_bps`, given the configured one and the cap from
/// `LOW_RATE_BPS` on.
pub fn speech_complexity(configured: u8, high_rate_cap: u8, bitrate_bps: u32) -> u8 {
    if bitrate_bps >= LOW_RATE_BPS {
        configured.min(high_rate_cap)
    } else {
        configured
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_complexity_is_kept_for_low_rates() {
        let cap = HIGH_RATE_COMPLEXITY;
        assert_eq!(speech_complexity(9, cap, 40_000), 8);
        assert_eq!(speech_complexity(9, cap, 20_000), 8);
        assert_eq!(speech_complexity(9, cap, 16_000), 9);
        assert_eq!(speech_complexity(9, 7, 40_000), 7);
        // A lower configured complexity is never raised.
        assert_eq!(speech_complexity(3, cap, 40_000), 3);
        assert_eq!(speech_complexity(3, cap, 12_000), 3);
    }
}
