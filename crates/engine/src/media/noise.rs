//! RNNoise noise suppression with a floor, and its speech probability for the sender.
//!
//! RNNoise alone takes every part it calls noise to silence, including the quiet ends of
//! words. Opus DTX then leaves those unsent and chromium's NetEq restarts its playout on
//! each new talkspurt, and what is left sounds gated: with chromium as the receiver that cost
//! ~0.8 PESQ against ~0.1 with ours (docs/quality.md). So the original, delayed like
//! RNNoise's output, is mixed back at `floor` (WebRTC's suppressor likewise stops at a
//! fixed depth), and while the sender is in DTX silence frames no louder than the noise
//! already heard skip RNNoise altogether (its cost is most of the capture path's).

use nnnoiseless::DenoiseState;

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
}

impl std::fmt::Debug for NoiseSuppressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoiseSuppressor")
            .field("floor", &self.floor)
            .field("skipped", &self.skipped)
            .finish_non_exhaustive()
    }
}

/// `db` of attenuation as a linear gain; `None` (no limit) is 0.
pub fn floor_gain(max_attenuation_db: Option<u8>) -> f32 {
    max_attenuation_db.map_or(0.0, |db| 10f32.powf(-f32::from(db) / 20.0))
}

impl NoiseSuppressor {
    pub fn new(max_attenuation_db: Option<u8>) -> Self {
        Self {
            state: DenoiseState::new(),
            floor: floor_gain(max_attenuation_db),
            delayed: [0.0; RNNOISE_DELAY],
            input: [0.0; HALF_FRAME],
            output: [0.0; HALF_FRAME],
            noise_floor: None,
            skipped: 0,
        }
    }

    /// Half frames that skipped RNNoise.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Suppresses noise in one 10 ms half frame in place and returns RNNoise's probability
    /// that it holds speech, `None` where it skipped RNNoise: `quiet` (the sender is in
    /// DTX silence) and the half frame no louder than the noise heard so far, which goes
    /// on at the floor.
    pub fn process(&mut self, half: &mut [i16], quiet: bool) -> Option<f32> {
        for (dst, &s) in self.input.iter_mut().zip(half.iter()) {
            *dst = f32::from(s);
        }
        if quiet && self.is_noise_only() {
            self.skipped += 1;
            // The delay line keeps RNNoise's alignment for when it wakes.
            for ((out, delayed), &now) in half
                .iter_mut()
                .zip(self.delayed.iter_mut())
                .zip(self.input.iter())
            {
                *out = to_i16(self.floor * *delayed);
                *delayed = now;
            }
            return None;
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
        Some(speech)
    }

    /// Whether the half frame in `input` is no louder than the quietest recent one; keeps
    /// the estimate.
    fn is_noise_only(&mut self) -> bool {
        let energy =
            self.input.iter().map(|s| s * s).sum::<f32>() / HALF_FRAME as f32 + SILENT_ENERGY;
        let floor = match self.noise_floor {
            Some(floor) if energy < floor => energy,
            Some(floor) => floor * FLOOR_RISE,
            None => energy,
        };
        self.noise_floor = Some(floor);
        energy <= floor * WAKE_RATIO
    }
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
        let mut ns = NoiseSuppressor::new(None);
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
        let mut ns = NoiseSuppressor::new(Some(20));
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
        assert!(ns.process(&mut loud, true).is_some());
        assert_eq!(ns.skipped(), skipped);
        // And nothing is skipped while the sender is not silent.
        let mut half = noise(HALF_FRAME, 5, 16);
        assert!(ns.process(&mut half, false).is_some());
    }
}
