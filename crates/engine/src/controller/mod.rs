//! The tokio task that runs a [`CallMachine`](voicecall_core::call::CallMachine) against the real
//! world: the signaling client, the peer connection, the audio devices and the clock.
//!
//! UIs talk to it through an [`EngineHandle`] (commands in) and a stream of
//! [`EngineEvent`]s (what happened).

mod engine;
mod event;
mod executor;

pub use engine::{Engine, EngineConfig, EngineHandle, StartError, UserCommand};
pub use event::{EngineEvent, Meters, SignalingState};
