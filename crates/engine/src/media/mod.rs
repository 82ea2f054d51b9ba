//! The audio of one call: microphone → Opus → track, and track → jitter buffer → speaker.

mod devices;
#[cfg(test)]
mod devices_tests;
mod noise;
mod playout_queue;
mod processing;
#[cfg(test)]
mod round_trip_tests;
mod send;
mod session;
mod summary;
#[cfg(test)]
mod talkspurt_tests;
#[doc(hidden)]
pub mod testing;
mod wake;

pub use devices::DeviceSwitch;
pub use processing::{CaptureProcessor, HALF_FRAME, ProcessingConfig, ProcessingCost};
pub use send::{Outgoing, ProtectionMode, SendConfig, SendPath};
pub use session::{MediaConfig, MediaError, MediaSession, PumpTiming, ReceiveMode};
pub use summary::MediaCounters;
