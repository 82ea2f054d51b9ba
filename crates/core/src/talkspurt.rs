//! When the sender may let Opus go silent (DTX) after speech.
//!
//! Opus enters DTX after 200 ms it judges inactive, so a pause between words that the noise
//! suppressor has taken to near-silence ends the talkspurt. Each new talkspurt makes
//! chromium's NetEq restart its playout and rebuild its delay, which it pays for in time
//! stretching and concealment (docs/quality.md, issue 17). The hangover keeps DTX off for a
//! while after the last frame the voice detector called speech, so pauses inside a sentence
//! go out as (cheap) ordinary frames and only real silences become DTX.

/// Voice-detector probability from which a frame counts as speech.
pub const SPEECH_PROBABILITY: f32 = 0.5;
/// Default hangover after speech, in 20 ms frames (600 ms: longer than the pauses between
/// words and clauses of read speech, shorter than those between sentences).
pub const DEFAULT_HANGOVER_FRAMES: u16 = 30;

/// What the capture path's voice detector said about one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoiceActivity {
    /// The detector's probability that the frame holds speech: RNNoise's, or 0 or 1 from
    /// the level where a clean microphone bypasses RNNoise (`denoise`).
    pub speech_probability: f32,
    /// The frame was no louder than the noise heard before it (in DTX silence RNNoise did
    /// not even run on it).
    pub noise_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtxHangover {
    frames: u16,
    left: u16,
}

impl DtxHangover {
    /// `frames` of hangover after each speech frame; 0 leaves DTX to Opus alone.
    pub fn new(frames: u16) -> Self {
        Self { frames, left: 0 }
    }

    /// One frame's voice-detector probability in (`None`: no detector ran, e.g. noise
    /// suppression is off); whether Opus may use DTX on it.
    pub fn dtx_allowed(&mut self, speech_probability: Option<f32>) -> bool {
        match speech_probability {
            Some(p) if p >= SPEECH_PROBABILITY => {
                self.left = self.frames;
                self.frames == 0
            }
            Some(_) if self.left > 0 => {
                self.left -= 1;
                false
            }
            _ => true,
        }
    }
}

impl Default for DtxHangover {
    fn default() -> Self {
        Self::new(DEFAULT_HANGOVER_FRAMES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtx_waits_the_hangover_after_each_speech_frame() {
        let mut h = DtxHangover::new(3);
        assert!(h.dtx_allowed(Some(0.1)), "no speech yet");
        assert!(!h.dtx_allowed(Some(0.9)));
        // Three quiet frames of hangover, then DTX.
        let quiet: Vec<bool> = (0..5).map(|_| h.dtx_allowed(Some(0.2))).collect();
        assert_eq!(quiet, [false, false, false, true, true]);
        // Speech inside the hangover starts it again.
        assert!(!h.dtx_allowed(Some(0.8)));
        assert!(!h.dtx_allowed(Some(0.0)));
        assert!(!h.dtx_allowed(Some(0.7)));
        let quiet: Vec<bool> = (0..4).map(|_| h.dtx_allowed(Some(0.0))).collect();
        assert_eq!(quiet, [false, false, false, true]);
    }

    #[test]
    fn without_a_detector_or_hangover_opus_decides_alone() {
        let mut h = DtxHangover::default();
        assert!(h.dtx_allowed(None));
        let mut off = DtxHangover::new(0);
        assert!(off.dtx_allowed(Some(1.0)));
        assert!(off.dtx_allowed(Some(0.0)));
    }
}
