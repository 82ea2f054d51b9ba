//! The audio of one call: microphone → Opus → track, and track → jitter buffer → speaker.

mod session;
mod summary;
#[doc(hidden)]
pub mod testing;

pub use session::{MediaConfig, MediaError, MediaSession};
pub use summary::{MediaCounters, MediaSummary};
