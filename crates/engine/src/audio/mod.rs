//! Audio devices: microphones and speakers through cpal, or WAV files and silence standing
//! in for them when running headless.
//!
//! The engine sees every device the same way: [`CaptureStream::read_frame`] gives 20 ms
//! frames of 48 kHz mono, [`PlaybackStream::write`] takes 48 kHz mono. Between the engine
//! and each device sits a lock-free SPSC ring at the device's own rate; the audio thread
//! only copies into or out of it (downmixing or duplicating channels and converting sample
//! types on the way) and updates atomics. Rate conversion happens on the engine's side of
//! the ring, in `read_frame` and `write`.
//!
//! [`open`] opens a microphone and speaker for a call; [`open_input`] and [`open_output`]
//! open one alone for the settings screen's meter and test tone.

mod backend;
mod capture;
mod cpal_device;
mod device_handle;
mod device_list;
pub mod embedded;
mod error;
mod health;
mod levels;
mod open_device;
mod playback;
mod priority;
mod resample;
mod session;
mod tone;
mod wav_device;
mod wav_file;

#[doc(hidden)]
pub mod testing;

#[cfg(test)]
mod tests;

pub use backend::{AudioBackend, SystemAudio};
pub use capture::CaptureStream;
pub use device_list::{DeviceInfo, list_input_devices, list_output_devices};
pub use error::{AudioError, Direction};
pub use levels::{LevelMeter, Levels};
pub use open_device::OpenDevice;
pub use playback::PlaybackStream;
#[cfg(all(test, target_os = "linux"))]
pub(crate) use priority::current_scheduling;
pub use priority::{ThreadPriority, raise_current_thread};
pub use session::{AudioSession, open, open_input, open_output, open_with};
pub use tone::{Cadence, ToneGenerator};
pub use voicecall_core::device::has_acoustic_path;
pub use wav_file::load_wav_48k_mono;
