//! Hooks for tests outside this module (integration tests, the engine's own tests):
//! WAV devices that pretend to run at another rate, so the resampling paths can be
//! exercised without a sound card, and a probe around the device threads' per-period work.
//! Not part of the supported API.

use std::path::Path;
use std::sync::Arc;

use super::capture::CaptureStream;
use super::error::AudioError;
use super::levels::Levels;
use super::playback::PlaybackStream;
use super::wav_device;

pub use super::wav_device::set_period_probe;

/// A WAV input whose "hardware" runs at `device_rate`, so `read_frame` has to resample.
pub fn open_wav_input_at_rate(
    path: &Path,
    repeat: bool,
    device_rate: u32,
) -> Result<CaptureStream, AudioError> {
    wav_device::open_wav_input(path, repeat, device_rate, Arc::new(Levels::new()))
}

/// A WAV output whose "hardware" runs at `device_rate`; the file is written at that rate.
pub fn open_wav_output_at_rate(
    path: &Path,
    device_rate: u32,
) -> Result<PlaybackStream, AudioError> {
    wav_device::open_wav_output(path, device_rate, Arc::new(Levels::new()))
}
