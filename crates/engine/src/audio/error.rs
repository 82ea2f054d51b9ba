//! Everything that can go wrong opening or running an audio device, with enough context
//! (path, device name, direction) that the message alone tells the user what to fix.

use std::path::PathBuf;

pub use voicecall_core::device::{Direction, SpecError};

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("cannot open WAV file {}: {source}", path.display())]
    WavOpen {
        path: PathBuf,
        #[source]
        source: hound::Error,
    },

    #[error("cannot decode WAV file {}: {source}", path.display())]
    WavDecode {
        path: PathBuf,
        #[source]
        source: hound::Error,
    },

    #[error("WAV file {} holds no audio samples", path.display())]
    WavEmpty { path: PathBuf },

    #[error("WAV file {} has an unsupported format: {detail}", path.display())]
    WavUnsupported { path: PathBuf, detail: String },

    #[error("cannot create WAV file {}: {source}", path.display())]
    WavCreate {
        path: PathBuf,
        #[source]
        source: hound::Error,
    },

    #[error("cannot write WAV file {}: {source}", path.display())]
    WavWrite {
        path: PathBuf,
        #[source]
        source: hound::Error,
    },

    #[error(
        "no default {direction} audio device on audio host {host} \
         (no sound card or sound server found); choose a WAV file instead"
    )]
    NoDefaultDevice { direction: Direction, host: String },

    #[error("{direction} audio device {name:?} not found on audio host {host}")]
    DeviceNotFound {
        direction: Direction,
        name: String,
        host: String,
    },

    #[error("{direction} audio device {device:?}: {action} failed: {source}")]
    Device {
        direction: Direction,
        device: String,
        action: &'static str,
        #[source]
        source: cpal::Error,
    },

    #[error("cannot list {direction} audio devices on audio host {host}: {source}")]
    Enumerate {
        direction: Direction,
        host: String,
        #[source]
        source: cpal::Error,
    },

    #[error(
        "{direction} audio device {device:?} only offers sample format {format}, \
         which voicecall cannot convert"
    )]
    UnsupportedSampleFormat {
        direction: Direction,
        device: String,
        format: cpal::SampleFormat,
    },

    #[error("cannot resample audio from {from} Hz to {to} Hz: {detail}")]
    Resample { from: u32, to: u32, detail: String },

    #[error("cannot start the audio thread {name}: {source}")]
    Thread {
        name: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error("the audio thread {name} panicked")]
    ThreadPanicked { name: &'static str },

    #[error(transparent)]
    InvalidSpec(#[from] SpecError),
}
