//! How hard the Opus encoder works on each frame: most of a call's CPU (issue 10).
//!
//! libopus' top complexities buy search effort that matters where bits are scarce; at the
//! bitrates we send speech at (28–40 kb/s) speech is encoded at 7 and 9 is kept for low
//! rates (WebRTC likewise raises the complexity below ~14 kb/s). Not below 7 where DTX may
//! decide: libopus runs its signal analysis only from 7 on, and its DTX decisions lean on
//! it — at 5 the quality benchmark's passage without noise suppression broke into 8
//! talkspurts instead of 1 (`media::talkspurt_tests`). Frames captured in DTX silence that
//! the voice detector did not even look at are encoded at the lowest complexity: they are
//! analysed only to find where speech resumes, and the frame that wakes the detector is
//! encoded at full effort.
//!
//! While the DTX hangover (`talkspurt::DtxHangover`) holds DTX off after speech, nothing
//! of ours reads that analysis: those frames go out whatever it says. So speech inside the
//! hangover is encoded at `HELD_COMPLEXITY`, and the encoder returns to its speech
//! complexity `ANALYSIS_WARM_UP_FRAMES` before the hangover can end, so the analysis
//! (which libopus resets whenever the complexity drops below 7) has warmed up again by the
//! time DTX may decide.

/// From this bitrate on, speech is encoded at no more than `HIGH_RATE_COMPLEXITY`.
pub const LOW_RATE_BPS: u32 = 20_000;
pub const HIGH_RATE_COMPLEXITY: u8 = 7;
/// Complexity for noise-only frames in DTX silence.
pub const QUIET_COMPLEXITY: u8 = 1;
/// Complexity for speech while the DTX hangover holds DTX off.
pub const HELD_COMPLEXITY: u8 = 5;
/// Frames at the speech complexity before the hangover can end: libopus' activity
/// estimate is smoothed over about this many frames.
pub const ANALYSIS_WARM_UP_FRAMES: u16 = 10;

/// How the speech complexity is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ComplexityRule {
    /// By bitrate, and `HELD_COMPLEXITY` inside the DTX hangover.
    #[default]
    Held,
    /// By bitrate only (benchmark baseline: the rule before the hangover one).
    ByRate,
    /// Always the configured one (benchmark baseline: no CPU savings at all).
    Configured,
}

impl ComplexityRule {
    /// Whether noise-only frames in DTX silence may drop to `QUIET_COMPLEXITY`.
    pub fn saves_in_silence(self) -> bool {
        self != Self::Configured
    }
}

/// The complexity for speech at `bitrate_bps`, given the configured one.
pub fn speech_complexity(configured: u8, bitrate_bps: u32) -> u8 {
    if bitrate_bps >= LOW_RATE_BPS {
        configured.min(HIGH_RATE_COMPLEXITY)
    } else {
        configured
    }
}

/// The complexity for the next speech frame under `rule`; `hangover_left`: frames the DTX
/// hangover still holds DTX off for (0 when DTX may decide, or there is no hangover).
pub fn frame_complexity(
    rule: ComplexityRule,
    configured: u8,
    bitrate_bps: u32,
    hangover_left: u16,
) -> u8 {
    match rule {
        ComplexityRule::Configured => configured,
        ComplexityRule::ByRate => speech_complexity(configured, bitrate_bps),
        ComplexityRule::Held => {
            let speech = speech_complexity(configured, bitrate_bps);
            if hangover_left > ANALYSIS_WARM_UP_FRAMES {
                speech.min(HELD_COMPLEXITY)
            } else {
                speech
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::talkspurt::DtxHangover;

    #[test]
    fn full_complexity_is_kept_for_low_rates() {
        assert_eq!(speech_complexity(9, 40_000), 7);
        assert_eq!(speech_complexity(9, 20_000), 7);
        assert_eq!(speech_complexity(9, 16_000), 9);
        // A lower configured complexity is never raised.
        assert_eq!(speech_complexity(3, 40_000), 3);
        assert_eq!(speech_complexity(3, 12_000), 3);
    }

    /// The complexity of each frame of `speech` (true: the detector heard speech).
    fn complexities(rule: ComplexityRule, hangover: u16, speech: &[bool]) -> Vec<u8> {
        let mut h = DtxHangover::new(hangover);
        speech
            .iter()
            .map(|&s| {
                h.dtx_allowed(Some(if s { 0.9 } else { 0.1 }));
                frame_complexity(rule, 9, 40_000, h.frames_left())
            })
            .collect()
    }

    #[test]
    fn speech_in_the_hangover_is_held_low_and_warms_up_before_dtx_may_decide() {
        // Three frames of speech, then 40 quiet ones, with a 30-frame hangover.
        let mut speech = vec![true; 3];
        speech.extend([false; 40]);
        let held = complexities(ComplexityRule::Held, 30, &speech);
        // Speech, and the hangover's first 19 quiet frames: 5.
        assert!(held[..22].iter().all(|&c| c == HELD_COMPLEXITY), "{held:?}");
        // The last 11 of the hangover and every frame after it: 7, so libopus' analysis
        // has run 11 frames when DTX is allowed again (at frame 34).
        assert!(held[22..].iter().all(|&c| c == 7), "{held:?}");
        // Speech inside the warm-up holds it low again.
        speech[30] = true;
        let again = complexities(ComplexityRule::Held, 30, &speech);
        assert_eq!(again[29], 7);
        assert_eq!(again[30], HELD_COMPLEXITY);
        // The baselines never hold.
        let by_rate = complexities(ComplexityRule::ByRate, 30, &speech);
        assert!(by_rate.iter().all(|&c| c == 7));
        let configured = complexities(ComplexityRule::Configured, 30, &speech);
        assert!(configured.iter().all(|&c| c == 9));
    }

    #[test]
    fn without_a_hangover_opus_analysis_is_never_cut() {
        let speech = [true, true, false, true, false, false];
        let held = complexities(ComplexityRule::Held, 0, &speech);
        assert!(held.iter().all(|&c| c == 7), "{held:?}");
        // A low configured complexity stays what it is.
        let mut h = DtxHangover::new(30);
        h.dtx_allowed(Some(0.9));
        assert_eq!(
            frame_complexity(ComplexityRule::Held, 3, 40_000, h.frames_left()),
            3
        );
        // At low rates the hangover still holds speech at 5.
        assert_eq!(
            frame_complexity(ComplexityRule::Held, 9, 16_000, h.frames_left()),
            5
        );
    }
}
