//! Test signals for the engine's and the analysis' tests: the speech assets at 48 kHz,
//! deterministic noise and randomness.

use std::sync::OnceLock;

use crate::analysis::load_wav_mono;
use crate::assets::asset;

/// One of the 16 kHz speech assets, upsampled to the engine's 48 kHz and cached.
pub fn speech_48k(name: &str) -> Vec<i16> {
    static A: OnceLock<Vec<i16>> = OnceLock::new();
    static B: OnceLock<Vec<i16>> = OnceLock::new();
    let load = || {
        let (samples, rate) = load_wav_mono(asset(name)).unwrap();
        assert_eq!(rate, 16_000, "{name}");
        upsample_3x(&samples)
    };
    match name {
        "speech-a.wav" => A.get_or_init(load).clone(),
        "speech-b.wav" => B.get_or_init(load).clone(),
        _ => load(),
    }
}

/// 16 → 48 kHz with a windowed-sinc low-pass at 8 kHz: linear interpolation would leave
/// images above 8 kHz that Opus then spends bits on.
pub fn upsample_3x(input: &[i16]) -> Vec<i16> {
    const FACTOR: usize = 3;
    const HALF_TAPS: i64 = 48;
    let taps: Vec<f64> = (-HALF_TAPS..=HALF_TAPS)
        .map(|k| {
            let x = k as f64 / FACTOR as f64;
            let sinc = if k == 0 {
                1.0
            } else {
                (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
            };
            let w = 0.5 + 0.5 * (std::f64::consts::PI * k as f64 / (HALF_TAPS + 1) as f64).cos();
            sinc * w
        })
        .collect();
    (0..input.len() * FACTOR)
        .map(|m| {
            let m = m as i64;
            let mut acc = 0.0;
            for k in -HALF_TAPS..=HALF_TAPS {
                let pos = m - k;
                if pos % FACTOR as i64 != 0 {
                    continue;
                }
                let n = pos / FACTOR as i64;
                if n < 0 || n >= input.len() as i64 {
                    continue;
                }
                acc += f64::from(input[n as usize]) * taps[(k + HALF_TAPS) as usize];
            }
            acc.round().clamp(-32_768.0, 32_767.0) as i16
        })
        .collect()
}

/// xorshift64*: deterministic, dependency-free randomness for tests.
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub fn white_noise(len: usize, amplitude: f64, seed: u64) -> Vec<i16> {
    let mut rng = TestRng::new(seed);
    (0..len)
        .map(|_| ((rng.unit() * 2.0 - 1.0) * amplitude) as i16)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use voicecall_core::format::SAMPLE_RATE;

    #[test]
    fn upsampler_keeps_a_tone_and_its_level() {
        let tone: Vec<i16> = (0..16_000)
            .map(|i| {
                (10_000.0 * (2.0 * std::f64::consts::PI * 1_000.0 * i as f64 / 16_000.0).sin())
                    as i16
            })
            .collect();
        let up = upsample_3x(&tone);
        assert_eq!(up.len(), 48_000);
        let expected: Vec<i16> = (0..48_000)
            .map(|i| {
                (10_000.0
                    * (2.0 * std::f64::consts::PI * 1_000.0 * i as f64 / f64::from(SAMPLE_RATE))
                        .sin()) as i16
            })
            .collect();
        let worst = up[1_000..47_000]
            .iter()
            .zip(&expected[1_000..47_000])
            .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
            .max()
            .unwrap();
        assert!(worst < 150, "worst error {worst}");
    }
}
