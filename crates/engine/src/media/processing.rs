//! Capture-side processing in the media pump (never on the audio thread): acoustic echo
//! cancellation against what the speaker was given, then RNNoise noise suppression. Both
//! work on 10 ms (480-sample) halves of the engine's 20 ms frames; every buffer is
//! allocated in `new`, nothing per frame.

use std::time::{Duration, Instant};

use nnnoiseless::DenoiseState;
use webrtc_audio_processing as apm;
use webrtc_audio_processing_sys as ffi;

use voicecall_core::format::FRAME_SAMPLES;

/// 10 ms at 48 kHz: RNNoise's and the WebRTC APM's frame.
pub const HALF_FRAME: usize = 480;
const I16_SCALE: f32 = 32_768.0;

/// Which capture processing runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessingConfig {
    pub noise_suppression: bool,
    pub echo_cancellation: bool,
}

impl Default for ProcessingConfig {
    fn default() -> Self {
        Self {
            noise_suppression: true,
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
}

pub struct CaptureProcessor {
    noise: Option<Box<DenoiseState<'static>>>,
    echo: Option<EchoCanceller>,
    render: [f32; HALF_FRAME],
    render_fill: usize,
    scratch_in: [f32; HALF_FRAME],
    scratch_out: [f32; HALF_FRAME],
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
    /// Echo cancellation that cannot start (the library refused) is logged and left off:
    /// a call without it is better than no call.
    pub fn new(config: ProcessingConfig) -> Self {
        let echo = if config.echo_cancellation {
            match EchoCanceller::new() {
                Ok(aec) => Some(aec),
                Err(code) => {
                    tracing::warn!(code, "echo cancellation unavailable");
                    None
                }
            }
        } else {
            None
        };
        Self {
            noise: config.noise_suppression.then(DenoiseState::new),
            echo,
            render: [0.0; HALF_FRAME],
            render_fill: 0,
            scratch_in: [0.0; HALF_FRAME],
            scratch_out: [0.0; HALF_FRAME],
            cost: ProcessingCost::default(),
        }
    }

    pub fn is_active(&self) -> bool {
        self.noise.is_some() || self.echo.is_some()
    }

    pub fn cost(&self) -> ProcessingCost {
        self.cost
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
                echo.render(&mut self.render);
                self.render_fill = 0;
            }
        }
    }

    /// Processes one 20 ms microphone frame in place.
    pub fn capture(&mut self, pcm: &mut [i16; FRAME_SAMPLES]) {
        if !self.is_active() {
            return;
        }
        self.cost.frames += 1;
        for half in pcm.chunks_exact_mut(HALF_FRAME) {
            if let Some(echo) = self.echo.as_mut() {
                let started = Instant::now();
                for (dst, &s) in self.scratch_in.iter_mut().zip(half.iter()) {
                    *dst = f32::from(s) / I16_SCALE;
                }
                echo.capture(&mut self.scratch_in);
                for (dst, &s) in half.iter_mut().zip(self.scratch_in.iter()) {
                    *dst = (s * I16_SCALE).clamp(-32_768.0, 32_767.0) as i16;
                }
                self.cost.echo += started.elapsed();
            }
            if let Some(noise) = self.noise.as_mut() {
                let started = Instant::now();
                // RNNoise works on i16-scaled floats.
                for (dst, &s) in self.scratch_in.iter_mut().zip(half.iter()) {
                    *dst = f32::from(s);
                }
                noise.process_frame(&mut self.scratch_out, &self.scratch_in);
                for (dst, &s) in half.iter_mut().zip(self.scratch_out.iter()) {
                    *dst = s.clamp(-32_768.0, 32_767.0) as i16;
                }
                self.cost.noise += started.elapsed();
            }
        }
    }
}

/// The WebRTC audio processing module (Debian's libwebrtc-audio-processing) with only
/// its echo canceller on, driven through its C interface with a preallocated channel
/// pointer so no call allocates.
struct EchoCanceller {
    inner: *mut ffi::AudioProcessing,
}

// SAFETY: the module is used from one thread at a time (`&mut self` on every call); the
// library keeps no thread affinity.
unsafe impl Send for EchoCanceller {}

impl EchoCanceller {
    fn new() -> Result<Self, i32> {
        let init = ffi::InitializationConfig {
            num_capture_channels: 1,
            num_render_channels: 1,
            enable_experimental_agc: false,
            enable_intelligibility_enhancer: false,
        };
        let mut code = 0;
        // SAFETY: `init` and `code` outlive the call; a null result is handled.
        let inner = unsafe { ffi::audio_processing_create(&init, &mut code) };
        if inner.is_null() {
            return Err(code);
        }
        let config = apm::Config {
            echo_cancellation: Some(apm::EchoCancellation {
                suppression_level: apm::EchoCancellationSuppressionLevel::Moderate,
                stream_delay_ms: None,
                enable_delay_agnostic: true,
                enable_extended_filter: true,
            }),
            enable_high_pass_filter: false,
            ..Default::default()
        };
        let config: ffi::Config = config.into();
        // SAFETY: `inner` is a live module and `config` a valid struct for the call.
        unsafe { ffi::set_config(inner, &config) };
        Ok(Self { inner })
    }

    fn render(&mut self, frame: &mut [f32; HALF_FRAME]) {
        let mut channels = [frame.as_mut_ptr()];
        // SAFETY: one channel of exactly NUM_SAMPLES_PER_FRAME (480) floats, as configured.
        let _ = unsafe { ffi::process_render_frame(self.inner, channels.as_mut_ptr()) };
    }

    fn capture(&mut self, frame: &mut [f32; HALF_FRAME]) {
        let mut channels = [frame.as_mut_ptr()];
        // SAFETY: as in `render`.
        let _ = unsafe { ffi::process_capture_frame(self.inner, channels.as_mut_ptr()) };
    }
}

impl Drop for EchoCanceller {
    fn drop(&mut self) {
        // SAFETY: created by `audio_processing_create` and deleted exactly once.
        unsafe { ffi::audio_processing_delete(self.inner) };
    }
}

const _: () = assert!(ffi::NUM_SAMPLES_PER_FRAME as usize == HALF_FRAME);
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
        });
        assert!(!p.is_active());
        let mut frame = [123i16; FRAME_SAMPLES];
        p.render(&[5; 700]);
        p.capture(&mut frame);
        assert!(frame.iter().all(|&s| s == 123));
        assert_eq!(p.cost().frames, 0);
    }

    #[test]
    fn noise_suppression_removes_steady_noise_and_keeps_speech() {
        let mut p = CaptureProcessor::new(ProcessingConfig {
            noise_suppression: true,
            echo_cancellation: false,
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
            p.capture(&mut frame);
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
            p.capture(&mut frame);
            out.extend_from_slice(&frame);
        }
        assert!(
            energy(&out) > energy(&speech) / 4.0,
            "speech was suppressed"
        );
        assert_eq!(p.cost().frames, 200);
        assert!(p.cost().noise > Duration::ZERO);
    }

    #[test]
    fn echo_cancellation_attenuates_a_delayed_copy_of_the_render_signal() {
        let mut p = CaptureProcessor::new(ProcessingConfig {
            noise_suppression: false,
            echo_cancellation: true,
        });
        assert!(p.is_active(), "the echo canceller did not start");
        let far = speechlike(FRAME_SAMPLES * 400, 11);
        // The "room": 30 ms later, at half amplitude.
        let delay = 48 * 30;
        let mut before = 0.0;
        let mut after = 0.0;
        for (i, chunk) in far.chunks_exact(FRAME_SAMPLES).enumerate() {
            p.render(chunk);
            let mut mic = [0i16; FRAME_SAMPLES];
            for (n, s) in mic.iter_mut().enumerate() {
                let k = (i * FRAME_SAMPLES + n) as i64 - delay;
                *s = if k >= 0 { far[k as usize] / 2 } else { 0 };
            }
            let e_in = energy(&mic);
            p.capture(&mut mic);
            if i >= 300 {
                before += e_in;
                after += energy(&mic);
            }
        }
        let erle_db = 10.0 * (before / after.max(1.0)).log10();
        assert!(
            erle_db > 10.0,
            "echo return loss enhancement {erle_db:.1} dB"
        );
    }
}
