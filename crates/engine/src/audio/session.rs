//! Opening devices from specs, alone (mic meter, speaker test) or as a pair for a call.

use std::sync::Arc;

use super::backend::{AudioBackend, SystemAudio};
use super::capture::CaptureStream;
use super::error::AudioError;
use super::levels::Levels;
use super::playback::PlaybackStream;
use voicecall_core::device::{InputSpec, OutputSpec};

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
    open_with(&SystemAudio, input, output)
}

/// [`open`] from another backend.
pub fn open_with(
    backend: &dyn AudioBackend,
    input: &InputSpec,
    output: &OutputSpec,
) -> Result<AudioSession, AudioError> {
    let levels = Arc::new(Levels::new());
    let capture = backend.open_input(input, Arc::clone(&levels))?;
    let playback = backend.open_output(output, levels)?;
    Ok(AudioSession { capture, playback })
}

/// Opens only a microphone, e.g. for the settings screen's input meter.
pub fn open_input(spec: &InputSpec) -> Result<CaptureStream, AudioError> {
    SystemAudio.open_input(spec, Arc::new(Levels::new()))
}

/// Opens only a speaker, e.g. to play a test tone.
pub fn open_output(spec: &OutputSpec) -> Result<PlaybackStream, AudioError> {
    SystemAudio.open_output(spec, Arc::new(Levels::new()))
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
