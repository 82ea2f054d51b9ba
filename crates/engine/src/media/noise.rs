//! RNNoise noise suppression with a floor, and its speech probability for the sender.
//!
//! RNNoise alone takes every part it calls noise to silence, including the quiet ends of
//! words. Opus DTX then leaves those unsent and chromium's NetEq restarts its playout on
//! each new talkspurt, and what is left sounds gated: with chromium as the receiver that cost
//! ~0.8 PESQ against ~0.1 with ours (docs/quality.md). So the original, delayed like
//! RNNoise's output, is mixed back at `floor` (WebRTC's suppressor likewise stops at a
//! fixed depth), and while the sender is in DTX silence frames no louder than the noise
//! already heard skip RNNoise altogether (its cost is most of the capture path's). And
//! on a clean microphone it does not run at all (`voicecall_core::denoise` decides from
//! the input's noise floor): the original goes on, delayed as RNNoise's output would be,
//! so switching never shifts the audio, and the switch itself crossfades over one half
//! frame.

use nnnoiseless::DenoiseState;
use voicecall_core::denoise::MicNoise;
use voicecall_core::talkspurt::VoiceActivity;

use super::processing::HALF_FRAME;

/// RNNoise's output lags its input by one 10 ms frame (overlap-add synthesis).
const RNNOISE_DELAY: usize = HALF_FRAME;
/// A skipped frame wakes RNNoise when it is this much louder than the quietest recent
/// frame (×4 in energy: 6 dB).
const WAKE_RATIO: f32 = 4.0;
/// The noise-floor estimate rises by this factor per skipped half frame (about 3 dB/s),
/// so a room that gets louder is followed.
const FLOOR_RISE: f32 = 1.007;
/// Energies below this (−80 dBFS on i16-scaled samples) count as digital silence.
const SILENT_ENERGY: f32 = 1e-8 * 32_768.0 * 32_768.0;

pub struct NoiseSuppressor {
    state: Box<DenoiseState<'static>>,
    /// Linear gain of the original mixed back into RNNoise's output.
    floor: f32,
    /// The previous half frame's input: what RNNoise's current output stands for.
    delayed: [f32; RNNOISE_DELAY],
    input: [f32; HALF_FRAME],
    output: [f32; HALF_FRAME],
    /// Mean energy per sample of the quietest recent skipped half frame.
    noise_floor: Option<f32>,
    skipped: u64,
    /// Whether the microphone's noise is worth RNNoise; `None`: RNNoise always runs.
    mic: Option<MicNoise>,
    /// The previous half frame went out as the original (RNNoise bypassed).
    bypassing: bool,
    bypassed: u64,
}

impl std::fmt::Debug for NoiseSuppressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoiseSuppressor")
            .field("floor", &self.floor)
            .field("skipped", &self.skipped)
            .field("bypassed", &self.bypassed)
            .finish_non_exhaustive()
    }
}

/// `db` of attenuation as a linear gain; `None` (no limit) is 0.
pub fn floor_gain(max_attenuation_db: Option<u8>) -> f32 {
    max_attenuation_db.map_or(0.0, |db| 10f32.powf(-f32::from(db) / 20.0))
}

impl NoiseSuppressor {
    /// `clean_mic_bypass`: RNNoise runs only while the input has noise worth removing.
    pub fn new(max_attenuation_db: Option<u8>, clean_mic_bypass: bool) -> Self {
        Self {
            state: DenoiseState::new(),
            floor: floor_gain(max_attenuation_db),
            delayed: [0.0; RNNOISE_DELAY],
            input: [0.0; HALF_FRAME],
            output: [0.0; HALF_FRAME],
            noise_floor: None,
            skipped: 0,
            mic: clean_mic_bypass.then(MicNoise::new),
            bypassing: false,
            bypassed: 0,
        }
    }

    /// Half frames that skipped RNNoise in DTX silence.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Half frames that bypassed RNNoise on a clean microphone.
    pub fn bypassed(&self) -> u64 {
        self.bypassed
    }

    /// Suppresses noise in one 10 ms half frame in place; what the voice detector said.
    /// RNNoise's detector where it ran. It skips RNNoise (noise only, probability 0) where
    /// `quiet` (the sender is in DTX silence) and the half frame is no louder than the
    /// noise heard so far, which goes on at the floor. On a clean microphone it is
    /// bypassed, and the level relative to the microphone's floor tells speech.
    pub fn process(&mut self, half: &mut [i16], quiet: bool) -> VoiceActivity {
        for (dst, &s) in self.input.iter_mut().zip(half.iter()) {
            *dst = f32::from(s);
        }
        // Mean energy per sample: both the clean-microphone check and the skip need it.
        let energy = self.input.iter().map(|s| s * s).sum::<f32>() / HALF_FRAME as f32;
        if let Some(mic) = self.mic.as_mut() {
            let level = mic.half(energy);
            let was_bypassing = std::mem::replace(&mut self.bypassing, !level.suppress);
            let voice = VoiceActivity {
                speech_probability: if level.speech { 1.0 } else { 0.0 },
                noise_only: level.noise_only,
            };
            match (was_bypassing, level.suppress) {
                (true, false) => {
                    self.bypassed += 1;
                    self.pass_delayed(half, 1.0);
                    return voice;
                }
                (false, false) => {
                    // One last RNNoise frame, faded into the original.
                    self.bypassed += 1;
                    self.state.process_frame(&mut self.output, &self.input);
                    self.crossfade(half, Fade::ToOriginal);
                    return voice;
                }
                (true, true) => {
                    // RNNoise's memory is of long ago: give it the half frame its output
                    // now stands for, then fade it in.
                    self.state.process_frame(&mut self.output, &self.delayed);
                    let speech = self.state.process_frame(&mut self.output, &self.input);
                    self.crossfade(half, Fade::ToSuppressed);
                    return VoiceActivity {
                        speech_probability: speech,
                        noise_only: false,
                    };
                }
                (false, true) => {}
            }
        }
        if quiet && self.is_noise_only(energy) {
            self.skipped += 1;
            // At the floor; the delay line keeps RNNoise's alignment for when it wakes.
            self.pass_delayed(half, self.floor);
            return VoiceActivity {
                speech_probability: 0.0,
                noise_only: true,
            };
        }
        let speech = self.state.process_frame(&mut self.output, &self.input);
        let floor = self.floor;
        for (((out, delayed), &now), &clean) in half
            .iter_mut()
            .zip(self.delayed.iter_mut())
            .zip(self.input.iter())
            .zip(self.output.iter())
        {
            *out = to_i16(clean + floor * (*delayed - clean));
            *delayed = now;
        }
        VoiceActivity {
            speech_probability: speech,
            noise_only: false,
        }
    }

    /// The original at `gain`, delayed as RNNoise's output would be.
    fn pass_delayed(&mut self, half: &mut [i16], gain: f32) {
        for ((out, delayed), &now) in half
            .iter_mut()
            .zip(self.delayed.iter_mut())
            .zip(self.input.iter())
        {
            *out = to_i16(gain * *delayed);
            *delayed = now;
        }
    }

    /// RNNoise's output (in `output`, with the floor mixed back) and the delayed original,
    /// one fading into the other over the half frame.
    fn crossfade(&mut self, half: &mut [i16], fade: Fade) {
        let floor = self.floor;
        let step = 1.0 / HALF_FRAME as f32;
        for (i, (((out, delayed), &now), &clean)) in half
            .iter_mut()
            .zip(self.delayed.iter_mut())
            .zip(self.input.iter())
            .zip(self.output.iter())
            .enumerate()
        {
            let suppressed = clean + floor * (*delayed - clean);
            let t = (i as f32 + 0.5) * step;
            let w = match fade {
                Fade::ToSuppressed => t,
                Fade::ToOriginal => 1.0 - t,
            };
            *out = to_i16(w * suppressed + (1.0 - w) * *delayed);
            *delayed = now;
        }
    }

    /// Whether a half frame of mean `energy` is no louder than the quietest recent one;
    /// keeps the estimate.
    fn is_noise_only(&mut self, energy: f32) -> bool {
        let energy = energy + SILENT_ENERGY;
        let floor = match self.noise_floor {
            Some(floor) if energy < floor => energy,
            Some(floor) => floor * FLOOR_RISE,
            None => energy,
        };
        self.noise_floor = Some(floor);
        energy <= floor * WAKE_RATIO
    }
}

#[derive(Debug, Clone, Copy)]
enum Fade {
    ToSuppressed,
    ToOriginal,
}

fn to_i16(s: f32) -> i16 {
    s.clamp(-32_768.0, 32_767.0) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn energy(x: &[i16]) -> f64 {
        x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len().max(1) as f64
    }

    fn noise(n: usize, seed: u32, level: i32) -> Vec<i16> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (((state >> 16) as i32 - 32_768) / level) as i16
            })
            .collect()
    }

    #[test]
    fn the_original_is_mixed_back_in_step_with_rnnoise() {
        // A vowel-like sound RNNoise keeps: its output must line up with the input one
        // RNNoise frame later, where the floor adds the original.
        let input: Vec<i16> = (0..HALF_FRAME * 60)
            .map(|i| {
                let t = i as f32 / 48_000.0;
                // Pitch gliding from 100 to 280 Hz, so no lag but the true one matches.
                let phase = (100.0 * t + 150.0 * t * t) * std::f32::consts::TAU;
                let x: f32 = (1..8).map(|h| (phase * h as f32).sin() / h as f32).sum();
                (x * (1.0 + (t * 9.0).sin()) * 4_000.0) as i16
            })
            .collect();
        let mut ns = NoiseSuppressor::new(None, false);
        let mut out = Vec::new();
        for chunk in input.chunks_exact(HALF_FRAME) {
            let mut half = chunk.to_vec();
            ns.process(&mut half, false);
            out.extend_from_slice(&half);
        }
        let skip = HALF_FRAME * 10;
        let correlation = |lag: usize| -> f64 {
            out[skip..]
                .iter()
                .zip(&input[skip - lag..])
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum()
        };
        let best = (0..=2 * HALF_FRAME)
            .max_by(|&a, &b| correlation(a).total_cmp(&correlation(b)))
            .unwrap();
        // RNNoise's input high-pass filter adds a couple of samples of phase lag.
        assert!(best.abs_diff(RNNOISE_DELAY) <= 3, "best lag {best}");
    }

    #[test]
    fn steady_noise_stays_at_the_floor_and_skips_rnnoise_while_quiet() {
        let mut ns = NoiseSuppressor::new(Some(20), false);
        let input = noise(HALF_FRAME * 200, 5, 16);
        let mut out = Vec::new();
        for chunk in input.chunks_exact(HALF_FRAME) {
            let mut half = chunk.to_vec();
            ns.process(&mut half, true);
            out.extend_from_slice(&half);
        }
        let tail = out.len() / 2;
        let gain_db = 10.0 * (energy(&out[tail..]) / energy(&input[tail..])).log10();
        assert!(
            (-21.0..-19.0).contains(&gain_db),
            "noise at {gain_db:.1} dB"
        );
        assert!(ns.skipped() >= 190, "skipped {}", ns.skipped());
        // A burst 18 dB louder wakes RNNoise at once.
        let skipped = ns.skipped();
        let mut loud = noise(HALF_FRAME, 9, 2);
        assert!(!ns.process(&mut loud, true).noise_only);
        assert_eq!(ns.skipped(), skipped);
        // And nothing is skipped while the sender is not silent.
        let mut half = noise(HALF_FRAME, 5, 16);
        assert!(!ns.process(&mut half, false).noise_only);
        assert_eq!(ns.skipped(), skipped);
    }

    /// Half frames of sound, then of pause, in `speech_over`: out of step with the floor's
    /// 50-half-frame sub-windows, so switches also fall inside the sound.
    const SOUND_HALVES: usize = 30;
    const PERIOD_HALVES: usize = 37;

    /// A vowel-like sound with 70 ms pauses, over `noise` (e.g. `noise(n, 3, 4_000)` for
    /// about -78 dBFS).
    fn speech_over(noise: &[i16]) -> Vec<i16> {
        noise
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let t = i as f32 / 48_000.0;
                let on = (i / HALF_FRAME) % PERIOD_HALVES < SOUND_HALVES;
                let x: f32 = (1..6)
                    .map(|h| (t * 180.0 * h as f32 * std::f32::consts::TAU).sin() / h as f32)
                    .sum();
                let s = if on { x * 5_000.0 } else { 0.0 };
                (s + f32::from(n)) as i16
            })
            .collect()
    }

    fn run(ns: &mut NoiseSuppressor, input: &[i16]) -> (Vec<i16>, Vec<VoiceActivity>) {
        let mut out = Vec::with_capacity(input.len());
        let mut voice = Vec::new();
        for chunk in input.chunks_exact(HALF_FRAME) {
            let mut half = chunk.to_vec();
            voice.push(ns.process(&mut half, false));
            out.extend_from_slice(&half);
        }
        (out, voice)
    }

    #[test]
    fn a_clean_microphone_bypasses_rnnoise_in_step_and_keeps_the_speech_detector() {
        let seconds = 6;
        let input = speech_over(&noise(48_000 * seconds, 3, 4_000));
        let mut ns = NoiseSuppressor::new(Some(18), true);
        let (out, voice) = run(&mut ns, &input);
        // RNNoise runs until the floor is known (3 s), then the original goes through,
        // one RNNoise frame late as before, bit for bit.
        let halves = input.len() / HALF_FRAME;
        assert!(
            (290..=300).contains(&(halves - ns.bypassed() as usize)),
            "bypassed {} of {halves}",
            ns.bypassed()
        );
        let from = 4 * 48_000;
        assert_eq!(
            out[from..],
            input[from - RNNOISE_DELAY..input.len() - RNNOISE_DELAY]
        );
        // The level stands in for RNNoise's detector: the sound is speech, the pauses not.
        let said: Vec<bool> = voice[400..450]
            .iter()
            .map(|v| v.speech_probability >= 0.5)
            .collect();
        let truth: Vec<bool> = (400..450)
            .map(|h| h % PERIOD_HALVES < SOUND_HALVES)
            .collect();
        assert_eq!(said, truth);
        assert!(
            voice[400..450]
                .iter()
                .all(|v| v.noise_only != (v.speech_probability >= 0.5))
        );
    }

    #[test]
    fn noise_brings_rnnoise_back_in_step() {
        // Clean for 5 s, then a -45 dBFS noise under the same sound.
        let clean = noise(48_000 * 5, 3, 4_000);
        let loud = noise(48_000 * 6, 11, 100);
        let input = speech_over(&[clean, loud].concat());
        let mut ns = NoiseSuppressor::new(Some(18), true);
        let (out, _) = run(&mut ns, &input);
        let bypassed = ns.bypassed();
        // On again within a window of the noise, and the noise is suppressed by the end.
        // Bypassed from 3 s on; the floor of the window still holds the last pause before
        // the noise (4.8 s) for up to 3 s.
        assert!((490..=510).contains(&bypassed), "bypassed {bypassed}");
        // A second after the switch the output is what RNNoise running all along gives,
        // in step (−38 dB apart in the 8th second, −47 from the 9th).
        let mut always = NoiseSuppressor::new(Some(18), false);
        let (reference, _) = run(&mut always, &input);
        let tail = 9 * 48_000;
        let diff: Vec<i16> = out[tail..]
            .iter()
            .zip(&reference[tail..])
            .map(|(&a, &b)| a.saturating_sub(b))
            .collect();
        let apart_db = 10.0 * (energy(&diff) / energy(&reference[tail..])).log10();
        assert!(apart_db < -30.0, "{apart_db:.1} dB from RNNoise all along");
    }

    #[test]
    fn a_switch_fades_over_one_half_frame() {
        // No floor: the suppressed signal is RNNoise's output itself.
        let mut ns = NoiseSuppressor::new(None, true);
        for (fade, from, to) in [
            (Fade::ToSuppressed, -1_000, 1_000),
            (Fade::ToOriginal, 1_000, -1_000),
        ] {
            ns.output = [1_000.0; HALF_FRAME];
            ns.delayed = [-1_000.0; HALF_FRAME];
            let mut half = [0i16; HALF_FRAME];
            ns.crossfade(&mut half, fade);
            assert!(half[0].abs_diff(from) < 10, "starts at {}", half[0]);
            assert!(
                half[HALF_FRAME - 1].abs_diff(to) < 10,
                "ends at {}",
                half[HALF_FRAME - 1]
            );
            // Evenly: no step larger than 2000 / 480 samples, rounded.
            assert!(half.windows(2).all(|w| w[1].abs_diff(w[0]) <= 5));
        }
    }
}
