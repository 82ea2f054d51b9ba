//! Level meters and progress counters that the audio thread publishes and the UI polls.
//!
//! Everything is a relaxed atomic: the UI only needs a recent value, not a consistent
//! snapshot, and the audio thread must never wait for a reader.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use voicecall_core::format::FRAME_DURATION;

/// Peak and RMS of the most recent device period, as fractions of full scale (0.0–1.0).
#[derive(Debug, Default)]
pub struct LevelMeter {
    // f32 bit patterns: there is no AtomicF32, and u32 stores are lock-free everywhere.
    peak: AtomicU32,
    rms: AtomicU32,
}

impl LevelMeter {
    pub fn peak(&self) -> f32 {
        f32::from_bits(self.peak.load(Ordering::Relaxed))
    }

    pub fn rms(&self) -> f32 {
        f32::from_bits(self.rms.load(Ordering::Relaxed))
    }

    /// RMS in dBFS, floored at -96 dB so silence still draws as a number.
    pub fn rms_dbfs(&self) -> f32 {
        to_dbfs(self.rms())
    }

    pub fn peak_dbfs(&self) -> f32 {
        to_dbfs(self.peak())
    }

    fn store(&self, peak: f32, rms: f32) {
        self.peak.store(peak.to_bits(), Ordering::Relaxed);
        self.rms.store(rms.to_bits(), Ordering::Relaxed);
    }
}

fn to_dbfs(linear: f32) -> f32 {
    const FLOOR_DB: f32 = -96.0;
    if linear <= 0.0 {
        FLOOR_DB
    } else {
        (20.0 * linear.log10()).max(FLOOR_DB)
    }
}

/// Shared between a capture stream, a playback stream and the UI through an `Arc`.
#[derive(Debug, Default)]
pub struct Levels {
    input: LevelMeter,
    output: LevelMeter,
    // Counted in device samples because the audio thread must not do rate conversion
    // arithmetic that could drift; readers convert with the device rate.
    captured_samples: AtomicU64,
    capture_rate: AtomicU32,
    played_samples: AtomicU64,
    playback_rate: AtomicU32,
    capture_clock: OnceLock<Instant>,
    playback_clock: OnceLock<Instant>,
}

impl Levels {
    pub fn new() -> Self {
        Self::default()
    }

    /// What the microphone (or input file) delivered in its last period.
    pub fn input(&self) -> &LevelMeter {
        &self.input
    }

    /// What the speaker (or output file) was given in its last period, silence included.
    pub fn output(&self) -> &LevelMeter {
        &self.output
    }

    /// 20 ms frames the input device has delivered so far (including any it had to drop).
    pub fn frames_captured(&self) -> u64 {
        to_frames(
            self.captured_samples.load(Ordering::Relaxed),
            self.capture_rate.load(Ordering::Relaxed),
        )
    }

    /// 20 ms frames of queued audio the output device has played so far (underrun
    /// silence is not counted).
    pub fn frames_played(&self) -> u64 {
        to_frames(
            self.played_samples.load(Ordering::Relaxed),
            self.playback_rate.load(Ordering::Relaxed),
        )
    }

    /// When the input device's sample clock started: its sample `n` was captured at this
    /// instant plus `n / rate`. Known for the WAV and silence stand-ins (measurement), not
    /// for sound cards.
    pub fn capture_clock(&self) -> Option<Instant> {
        self.capture_clock.get().copied()
    }

    /// When the output device's sample clock started: its sample `n` is handed to the
    /// "hardware" at this instant plus `n / rate` plus one device period. Known for the WAV
    /// and discard stand-ins, not for sound cards.
    pub fn playback_clock(&self) -> Option<Instant> {
        self.playback_clock.get().copied()
    }

    pub(crate) fn start_capture_clock(&self, at: Instant) {
        let _ = self.capture_clock.set(at);
    }

    pub(crate) fn start_playback_clock(&self, at: Instant) {
        let _ = self.playback_clock.set(at);
    }

    pub(crate) fn set_capture_rate(&self, rate: u32) {
        self.capture_rate.store(rate, Ordering::Relaxed);
    }

    pub(crate) fn set_playback_rate(&self, rate: u32) {
        self.playback_rate.store(rate, Ordering::Relaxed);
    }

    pub(crate) fn publish_input(&self, period: &PeriodLevel) {
        self.input.store(period.peak(), period.rms());
        self.captured_samples
            .fetch_add(period.count, Ordering::Relaxed);
    }

    pub(crate) fn publish_output(&self, period: &PeriodLevel, played_from_queue: u64) {
        self.output.store(period.peak(), period.rms());
        self.played_samples
            .fetch_add(played_from_queue, Ordering::Relaxed);
    }
}

fn to_frames(samples: u64, rate: u32) -> u64 {
    let samples_per_frame = u64::from(rate) * FRAME_DURATION.as_millis() as u64 / 1000;
    samples.checked_div(samples_per_frame).unwrap_or(0)
}

/// Accumulates one period's level on the audio thread's stack.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PeriodLevel {
    peak: u16,
    sum_squares: f64,
    count: u64,
}

impl PeriodLevel {
    pub(crate) fn add(&mut self, samples: &[i16]) {
        for &s in samples {
            self.peak = self.peak.max(s.unsigned_abs());
            let x = f64::from(s);
            self.sum_squares += x * x;
        }
        self.count += samples.len() as u64;
    }

    fn peak(&self) -> f32 {
        f32::from(self.peak) / 32768.0
    }

    fn rms(&self) -> f32 {
        if self.count == 0 {
            0.0
        } else {
            ((self.sum_squares / self.count as f64).sqrt() / 32768.0) as f32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_square_wave_reads_as_unity() {
        let levels = Levels::new();
        let mut period = PeriodLevel::default();
        period.add(&[i16::MIN, i16::MIN, i16::MIN]);
        levels.publish_input(&period);
        assert!((levels.input().peak() - 1.0).abs() < 1e-6);
        assert!((levels.input().rms() - 1.0).abs() < 1e-6);
        assert!(levels.input().rms_dbfs().abs() < 0.01);
    }

    #[test]
    fn silence_is_floored_not_infinite() {
        let levels = Levels::new();
        levels.publish_output(&PeriodLevel::default(), 0);
        assert_eq!(levels.output().rms(), 0.0);
        assert_eq!(levels.output().rms_dbfs(), -96.0);
    }

    #[test]
    fn frame_counters_convert_device_samples_to_20ms_frames() {
        let levels = Levels::new();
        assert_eq!(
            levels.frames_captured(),
            0,
            "no rate yet must not divide by zero"
        );
        levels.set_capture_rate(44_100);
        let mut period = PeriodLevel::default();
        period.add(&[0; 882 * 3]);
        levels.publish_input(&period);
        assert_eq!(levels.frames_captured(), 3);

        levels.set_playback_rate(48_000);
        levels.publish_output(&PeriodLevel::default(), 960 * 2 + 10);
        assert_eq!(levels.frames_played(), 2);
    }
}
