//! Capture-side processing in the media pump (never on the audio thread): acoustic echo
//! cancellation against what the speaker was given, then RNNoise noise suppression with a
//! floor (`noise.rs`). Both work on 10 ms (480-sample) halves of the engine's 20 ms frames. This module's buffers
//! are allocated in `new`; the echo canceller allocates small scratch buffers inside each
//! 10 ms call (about 40), which the pump can afford and an audio callback could not.

use std::time::{Duration, Instant};

use sonora::config::EchoCanceller as EchoConfig;
use sonora::{AudioProcessing, Config, StreamConfig};

use voicecall_core::format::{FRAME_SAMPLES, SAMPLE_RATE};
use voicecall_core::talkspurt::VoiceActivity;

use super::noise::NoiseSuppressor;

/// 10 ms at 48 kHz: RNNoise's and the echo canceller's frame.
pub const HALF_FRAME: usize = 480;
const I16_SCALE: f32 = 32_768.0;

/// Which capture processing runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessingConfig {
    pub noise_suppression: bool,
    /// How far noise suppression may attenuate (the original is mixed back at this depth);
    /// `None`: as far as RNNoise likes.
    pub noise_floor_db: Option<u8>,
    /// While the sender is in DTX silence, noise-only frames skip RNNoise (and are
    /// encoded at a low complexity); off only for the cost benchmark's baseline.
    pub silence_savings: bool,
    /// Noise suppression runs only while the microphone has noise worth removing
    /// (`voicecall_core::denoise`); off: on every frame.
    pub clean_mic_bypass: bool,
    pub echo_cancellation: bool,
}

/// Default depth of noise suppression: WebRTC's "high" level.
pub const NOISE_FLOOR_DB: u8 = 18;

impl Default for ProcessingConfig {
    fn default() -> Self {
        Self {
            noise_suppression: true,
            noise_floor_db: Some(NOISE_FLOOR_DB),
            silence_savings: true,
            clean_mic_bypass: true,
            echo_cancellation: true,
        }
    }
}

/// Time spent in each stage, for the CPU-cost table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessingCost {
    pub frames: u64,
    pub echo: Duration,
    pub noise: Duration,
    /// Half frames that skipped noise suppression (noise only, sender in DTX).
    pub noise_skipped: u64,
    /// Half frames that bypassed noise suppression (a clean microphone).
    pub noise_bypassed: u64,
}

pub struct CaptureProcessor {
    noise: Option<NoiseSuppressor>,
    silence_savings: bool,
    echo: Option<EchoCanceller>,
    render: [f32; HALF_FRAME],
    render_fill: usize,
    scratch_in: [f32; HALF_FRAME],
    cost: ProcessingCost,
}

impl std::fmt::Debug for CaptureProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureProcessor")
            .field("noise", &self.noise.is_some())
            .field("echo", &self.echo.is_some())
            .finish_non_exhaustive()
    }
}

impl CaptureProcessor {
    pub fn new(config: ProcessingConfig) -> Self {
        Self {
            noise: config
                .noise_suppression
                .then(|| NoiseSuppressor::new(config.noise_floor_db, config.clean_mic_bypass)),
            silence_savings: config.silence_savings,
            echo: config.echo_cancellation.then(EchoCanceller::new),
            render: [0.0; HALF_FRAME],
            render_fill: 0,
            scratch_in: [0.0; HALF_FRAME],
            cost: ProcessingCost::default(),
        }
    }

    pub fn is_active(&self) -> bool {
        self.noise.is_some() || self.echo.is_some()
    }

    pub fn cost(&self) -> ProcessingCost {
        ProcessingCost {
            noise_skipped: self.noise.as_ref().map_or(0, NoiseSuppressor::skipped),
            noise_bypassed: self.noise.as_ref().map_or(0, NoiseSuppressor::bypassed),
            ..self.cost
        }
    }

    /// What the speaker is about to play (any length): the echo canceller's reference.
    pub fn render(&mut self, pcm: &[i16]) {
        let Some(echo) = self.echo.as_mut() else {
            return;
        };
        for &s in pcm {
            self.render[self.render_fill] = f32::from(s) / I16_SCALE;
            self.render_fill += 1;
            if self.render_fill == HALF_FRAME {
                self.render_fill = 0;
                if let Err(error) = echo.render(&self.render) {
                    self.echo_failed(error);
                    return;
                }
            }
        }
    }

    /// Once the canceller reports an error it is switched off for the rest of the call: a
    /// call without it is better than no call.
    fn echo_failed(&mut self, error: EchoError) {
        tracing::warn!(%error, "echo cancellation stopped");
        self.echo = None;
    }

    /// Processes one 20 ms microphone frame in place. `quiet`: the sender is in DTX
    /// silence (noise suppression may skip noise-only frames). Returns what the noise
    /// suppressor's voice detector said (the higher probability of the two halves; noise
    /// only if both were), `None` without noise suppression.
    pub fn capture(
        &mut self,
        pcm: &mut [i16; FRAME_SAMPLES],
        quiet: bool,
    ) -> Option<VoiceActivity> {
        if !self.is_active() {
            return None;
        }
        let quiet = quiet && self.silence_savings;
        let mut voice: Option<VoiceActivity> = None;
        self.cost.frames += 1;
        for half in pcm.chunks_exact_mut(HALF_FRAME) {
            if let Some(echo) = self.echo.as_mut() {
                let started = Instant::now();
                for (dst, &s) in self.scratch_in.iter_mut().zip(half.iter()) {
                    *dst = f32::from(s) / I16_SCALE;
                }
                match echo.capture(&mut self.scratch_in) {
                    Ok(()) => {
                        for (dst, &s) in half.iter_mut().zip(self.scratch_in.iter()) {
                            *dst = (s * I16_SCALE).clamp(-32_768.0, 32_767.0) as i16;
                        }
                    }
                    // The frame goes on unprocessed.
                    Err(error) => self.echo_failed(error),
                }
                self.cost.echo += started.elapsed();
            }
            if let Some(noise) = self.noise.as_mut() {
                let started = Instant::now();
                let half = noise.process(half, quiet);
                let v = voice.get_or_insert(half);
                v.speech_probability = v.speech_probability.max(half.speech_probability);
                v.noise_only &= half.noise_only;
                self.cost.noise += started.elapsed();
            }
        }
        voice
    }
}

/// Why the echo canceller stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EchoError {
    #[error("processing the speaker's audio failed: {0}")]
    Render(sonora::Error),
    #[error("processing the microphone's audio failed: {0}")]
    Capture(sonora::Error),
}

/// WebRTC's echo canceller (AEC3), ported to Rust by the `sonora` crate, with nothing else
/// of its pipeline on: RNNoise does the noise suppression, and the old canceller ran without
/// a high-pass filter too. It finds the speaker-to-microphone delay itself.
struct EchoCanceller {
    apm: AudioProcessing,
    /// The library writes its output apart from its input.
    out: [f32; HALF_FRAME],
}

impl EchoCanceller {
    fn new() -> Self {
        let config = Config {
            echo_canceller: Some(EchoConfig {
                enforce_high_pass_filtering: false,
                ..EchoConfig::default()
            }),
            ..Config::default()
        };
        let mono = StreamConfig::new(SAMPLE_RATE, 1);
        let apm = AudioProcessing::builder()
            .config(config)
            .capture_config(mono)
            .render_config(mono)
            .build();
        Self {
            apm,
            out: [0.0; HALF_FRAME],
        }
    }

    fn render(&mut self, frame: &[f32; HALF_FRAME]) -> Result<(), EchoError> {
        self.apm
            .process_render_f32(&[frame], &mut [&mut self.out])
            .map_err(EchoError::Render)
    }

    fn capture(&mut self, frame: &mut [f32; HALF_FRAME]) -> Result<(), EchoError> {
        self.apm
            .process_capture_f32(&[frame], &mut [&mut self.out])
            .map_err(EchoError::Capture)?;
        frame.copy_from_slice(&self.out);
        Ok(())
    }
}

const _: () = assert!(FRAME_SAMPLES == 2 * HALF_FRAME);

#[cfg(test)]
mod tests {
    use super::*;

    fn speechlike(n: usize, seed: u32) -> Vec<i16> {
        // A vowel-like harmonic series with a slow envelope and a little noise.
        let mut state = seed;
        (0..n)
            .map(|i| {
                let t = i as f64 / 48_000.0;
                let env = (0.5 + 0.5 * (t * 2.0 * std::f64::consts::PI * 3.0).sin()).powi(2);
                let f0 = 140.0 + 20.0 * (t * 1.3).sin();
                let mut x = 0.0;
                for h in 1..12 {
                    x += (t * 2.0 * std::f64::consts::PI * f0 * h as f64).sin() / h as f64;
                }
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (state >> 16) as f64 / 65_536.0 - 0.5;
                (env * x * 6_000.0 + noise * 200.0) as i16
            })
            .collect()
    }

    fn energy(x: &[i16]) -> f64 {
        x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len().max(1) as f64
    }

    #[test]
    fn disabled_processing_leaves_frames_alone() {
        let mut p = CaptureProcessor::new(ProcessingConfig {
            noise_suppression: false,
            echo_cancellation: false,
            ..ProcessingConfig::default()
        });
        assert!(!p.is_active());
        let mut frame = [123i16; FRAME_SAMPLES];
        p.render(&[5; 700]);
        p.capture(&mut frame, false);
        assert!(frame.iter().all(|&s| s == 123));
        assert_eq!(p.cost().frames, 0);
    }

    #[test]
    fn noise_suppression_removes_steady_noise_and_keeps_speech() {
        let mut p = CaptureProcessor::new(ProcessingConfig {
            noise_suppression: true,
            noise_floor_db: None,
            echo_cancellation: false,
            ..ProcessingConfig::default()
        });
        let mut state = 7u32;
        let mut noise_out = Vec::new();
        let mut noise_in = Vec::new();
        for _ in 0..100 {
            let mut frame = [0i16; FRAME_SAMPLES];
            for s in frame.iter_mut() {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                *s = ((state >> 16) as i32 - 32_768) as i16 / 64;
            }
            noise_in.extend_from_slice(&frame);
            p.capture(&mut frame, false);
            noise_out.extend_from_slice(&frame);
        }
        // RNNoise learned real rooms' noise; synthetic white noise (-40 dBFS here) loses
        // only 1–2 dB, so this checks that it runs and attenuates, not how well.
        let tail = noise_out.len() / 2;
        assert!(
            energy(&noise_out[tail..]) < energy(&noise_in[tail..]) * 0.85,
            "noise {} → {}",
            energy(&noise_in[tail..]),
            energy(&noise_out[tail..])
        );
        let speech = speechlike(FRAME_SAMPLES * 100, 3);
        let mut out = Vec::new();
        for chunk in speech.chunks_exact(FRAME_SAMPLES) {
            let mut frame = [0i16; FRAME_SAMPLES];
            frame.copy_from_slice(chunk);
            p.capture(&mut frame, false);
            out.extend_from_slice(&frame);
        }
        assert!(
            energy(&out) > energy(&speech) / 4.0,
            "speech was suppressed"
        );
        assert_eq!(p.cost().frames, 200);
        assert!(p.cost().noise > Duration::ZERO);
    }

    /// Echo-only processing: the far end's speech plays for eight seconds and reaches the
    /// microphone `delay_ms` later at `gain`, plus `near` (the local talker). Returns the
    /// microphone and the processed frames of the last two seconds, when the canceller has
    /// converged.
    fn through_the_canceller(delay_ms: usize, gain: f64, near: &[i16]) -> (Vec<i16>, Vec<i16>) {
        let mut p = CaptureProcessor::new(ProcessingConfig {
            noise_suppression: false,
            echo_cancellation: true,
            ..ProcessingConfig::default()
        });
        assert!(p.is_active(), "the echo canceller did not start");
        let far = speechlike(FRAME_SAMPLES * 400, 11);
        let delay = 48 * delay_ms;
        let (mut mic_tail, mut out_tail) = (Vec::new(), Vec::new());
        for (i, chunk) in far.chunks_exact(FRAME_SAMPLES).enumerate() {
            p.render(chunk);
            let mut mic = [0i16; FRAME_SAMPLES];
            for (n, s) in mic.iter_mut().enumerate() {
                let at = i * FRAME_SAMPLES + n;
                let echo = at
                    .checked_sub(delay)
                    .map_or(0.0, |k| f64::from(far[k]) * gain);
                *s = (echo + f64::from(near[at])).clamp(-32_768.0, 32_767.0) as i16;
            }
            let before = mic;
            p.capture(&mut mic, false);
            if i >= 300 {
                mic_tail.extend_from_slice(&before);
                out_tail.extend_from_slice(&mic);
            }
        }
        (mic_tail, out_tail)
    }

    /// The least-squares gain of `reference` in `signal` at the best lag within ±10 ms,
    /// and the energy of what is left once that is taken away.
    fn split_on(signal: &[i16], reference: &[i16]) -> (f64, f64) {
        let mut best = (0.0, f64::MAX);
        for lag in -480i64..=480 {
            let pairs = (0..signal.len()).filter_map(|i| {
                let j = i as i64 - lag;
                (j >= 0 && (j as usize) < reference.len())
                    .then(|| (f64::from(signal[i]), f64::from(reference[j as usize])))
            });
            let (mut sr, mut rr) = (0.0, 0.0);
            for (s, r) in pairs.clone() {
                sr += s * r;
                rr += r * r;
            }
            let gain = sr / rr.max(1.0);
            let residual: f64 = pairs.map(|(s, r)| (s - gain * r).powi(2)).sum();
            if residual < best.1 {
                best = (gain, residual);
            }
        }
        best
    }

    fn db(ratio: f64) -> f64 {
        10.0 * ratio.log10()
    }

    #[test]
    fn echo_cancellation_attenuates_a_delayed_copy_of_the_render_signal() {
        let silence = vec![0i16; FRAME_SAMPLES * 400];
        // Rooms: a near speaker at half level, a farther one, and one as loud as the far end.
        for (delay_ms, gain) in [(30, 0.5), (80, 0.5), (30, 1.0)] {
            let (mic, out) = through_the_canceller(delay_ms, gain, &silence);
            let erle = db(energy(&mic) / energy(&out).max(1.0));
            eprintln!("echo {delay_ms} ms at {gain}: attenuated by {erle:.1} dB");
            assert!(
                erle > 35.0,
                "echo return loss enhancement {erle:.1} dB ({delay_ms} ms, gain {gain})"
            );
        }
    }

    #[test]
    fn echo_cancellation_keeps_a_local_talker_heard_over_the_far_end() {
        // A second voice (another pitch and rhythm) talking over the echo the whole time.
        let near: Vec<i16> = (0..FRAME_SAMPLES * 400)
            .map(|i| {
                let t = i as f64 / 48_000.0;
                let env = (0.5 + 0.5 * (t * std::f64::consts::TAU * 4.7 + 1.0).sin()).powi(2);
                let f0 = 210.0 + 35.0 * (t * 0.7).sin();
                let x: f64 = (1..10)
                    .map(|h| {
                        (t * std::f64::consts::TAU * f0 * h as f64 + h as f64).sin() / h as f64
                    })
                    .sum();
                (env * x * 6_000.0) as i16
            })
            .collect();
        let (mic, out) = through_the_canceller(30, 0.5, &near);
        let tail = &near[near.len() - out.len()..];
        // Output energy alone would count leftover echo as kept speech: split the output
        // into the part that is the local talker (its least-squares projection on the
        // talker, at the best lag) and the rest.
        let (gain, residual) = split_on(&out, tail);
        let echo_in: Vec<f64> = mic
            .iter()
            .zip(tail)
            .map(|(&m, &n)| f64::from(m) - f64::from(n))
            .collect();
        let kept = 20.0 * gain.abs().max(1e-9).log10();
        let echo_left = db(residual / echo_in.iter().map(|e| e * e).sum::<f64>().max(1.0));
        eprintln!(
            "double talk: local talker kept at {kept:.1} dB, echo and distortion left {echo_left:.1} dB"
        );
        // Measured: the talker kept at -0.6 dB, the echo down by 6.6 dB (35+ dB with the far
        // end alone): like libwebrtc's AEC3, the canceller stays transparent in double talk
        // and lets the talker mask what is left.
        assert!(kept > -3.0, "the local talker lost {kept:.1} dB");
        assert!(
            echo_left < -5.0,
            "only {:.1} dB of the echo was removed",
            -echo_left
        );
    }
}
