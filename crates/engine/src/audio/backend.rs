//! Where a call's devices come from: the machine's sound cards and WAV files
//! ([`SystemAudio`]), or, in tests, stand-ins that can be unplugged mid-call.

use std::fmt::Debug;
use std::sync::Arc;

use super::capture::CaptureStream;
use super::cpal_device::{self, DeviceChoice};
use super::error::AudioError;
use super::levels::Levels;
use super::playback::PlaybackStream;
use super::wav_device;
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_core::format::SAMPLE_RATE;

/// Opens devices from what the settings say; each publishes into the `levels` it is given
/// (a call's microphone and speaker share one, and a device reopened mid-call keeps it).
pub trait AudioBackend: Send + Sync + Debug {
    fn open_input(
        &self,
        spec: &InputSpec,
        levels: Arc<Levels>,
    ) -> Result<CaptureStream, AudioError>;
    fn open_output(
        &self,
        spec: &OutputSpec,
        levels: Arc<Levels>,
    ) -> Result<PlaybackStream, AudioError>;
}

/// Sound cards through cpal; WAV files, silence and discard as stand-ins.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemAudio;

impl AudioBackend for SystemAudio {
    fn open_input(
        &self,
        spec: &InputSpec,
        levels: Arc<Levels>,
    ) -> Result<CaptureStream, AudioError> {
        match spec {
            InputSpec::Default => cpal_device::open_input(DeviceChoice::Default, levels),
            InputSpec::Device(name) => cpal_device::open_input(DeviceChoice::Named(name), levels),
            InputSpec::Wav { path, repeat } => {
                wav_device::open_wav_input(path, *repeat, SAMPLE_RATE, levels)
            }
            InputSpec::Silence => wav_device::open_silence(SAMPLE_RATE, levels),
        }
    }

    fn open_output(
        &self,
        spec: &OutputSpec,
        levels: Arc<Levels>,
    ) -> Result<PlaybackStream, AudioError> {
        match spec {
            OutputSpec::Default => cpal_device::open_output(DeviceChoice::Default, levels),
            OutputSpec::Device(name) => cpal_device::open_output(DeviceChoice::Named(name), levels),
            OutputSpec::Wav(path) => wav_device::open_wav_output(path, SAMPLE_RATE, levels),
            OutputSpec::Discard => wav_device::open_discard(SAMPLE_RATE, levels),
        }
    }
}
