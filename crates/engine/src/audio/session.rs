//! Opening devices from specs, alone (mic meter, speaker test) or as a pair for a call.

use std::sync::Arc;

use super::capture::CaptureStream;
use super::cpal_device::{self, DeviceChoice};
use super::error::AudioError;
use super::levels::Levels;
use super::playback::PlaybackStream;
use super::wav_device;
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_core::format::SAMPLE_RATE;

/// A microphone and a speaker sharing one [`Levels`], for the duration of a call.
///
/// Dropping it stops both devices and finalises a WAV output file; use
/// [`AudioSession::finish`] to learn whether that worked.
#[derive(Debug)]
pub struct AudioSession {
    pub capture: CaptureStream,
    pub playback: PlaybackStream,
}

/// Opens both devices; if the second fails the first is closed again.
pub fn open(input: &InputSpec, output: &OutputSpec) -> Result<AudioSession, AudioError> {
    let levels = Arc::new(Levels::new());
    let capture = open_input_with(input, Arc::clone(&levels))?;
    let playback = open_output_with(output, levels)?;
    Ok(AudioSession { capture, playback })
}

/// Opens only a microphone, e.g. for the settings screen's input meter.
pub fn open_input(spec: &InputSpec) -> Result<CaptureStream, AudioError> {
    open_input_with(spec, Arc::new(Levels::new()))
}

/// Opens only a speaker, e.g. to play a test tone.
pub fn open_output(spec: &OutputSpec) -> Result<PlaybackStream, AudioError> {
    open_output_with(spec, Arc::new(Levels::new()))
}

fn open_input_with(spec: &InputSpec, levels: Arc<Levels>) -> Result<CaptureStream, AudioError> {
    match spec {
        InputSpec::Default => cpal_device::open_input(DeviceChoice::Default, levels),
        InputSpec::Device(name) => cpal_device::open_input(DeviceChoice::Named(name), levels),
        InputSpec::Wav { path, repeat } => {
            wav_device::open_wav_input(path, *repeat, SAMPLE_RATE, levels)
        }
        InputSpec::Silence => wav_device::open_silence(SAMPLE_RATE, levels),
    }
}

fn open_output_with(spec: &OutputSpec, levels: Arc<Levels>) -> Result<PlaybackStream, AudioError> {
    match spec {
        OutputSpec::Default => cpal_device::open_output(DeviceChoice::Default, levels),
        OutputSpec::Device(name) => cpal_device::open_output(DeviceChoice::Named(name), levels),
        OutputSpec::Wav(path) => wav_device::open_wav_output(path, SAMPLE_RATE, levels),
        OutputSpec::Discard => wav_device::open_discard(SAMPLE_RATE, levels),
    }
}

impl AudioSession {
    /// Input and output meters and frame counters, for the in-call UI.
    pub fn levels(&self) -> &Arc<Levels> {
        self.capture.device().levels()
    }

    pub fn into_parts(self) -> (CaptureStream, PlaybackStream) {
        (self.capture, self.playback)
    }

    /// Stops both devices now and reports the first problem, e.g. a WAV output that
    /// could not be finalised.
    pub fn finish(self) -> Result<(), AudioError> {
        let captured = self.capture.finish();
        let played = self.playback.finish();
        captured.and(played)
    }
}
