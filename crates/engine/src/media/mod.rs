//! The audio of one call: microphone → Opus → track, and track → jitter buffer → speaker.

mod processing;
mod send;
mod session;
mod summary;
#[doc(hidden)]
pub mod testing;

pub use processing::{CaptureProcessor, HALF_FRAME, ProcessingConfig, ProcessingCost};
pub use send::{DEFAULT_RED_DISTANCE, Outgoing, PayloadTypes, RedPolicy, SendConfig, SendPath};
pub use session::{MediaConfig, MediaError, MediaSession, ReceiveMode};
pub use summary::MediaCounters;
