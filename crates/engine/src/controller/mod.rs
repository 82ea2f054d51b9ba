//! The tokio task that runs a [`CallMachine`](voicecall_core::call::CallMachine) against the real
//! world: the signaling client, the peer connection, the audio devices and the clock.
//!
//! UIs talk to it through an [`EngineHandle`] (commands in) and a stream of
//! [`EngineEvent`]s (what happened). They get its [`EngineConfig`] from the saved settings
//! and their overrides through [`Effective`], the one place that builds it.

mod command;
mod config;
mod config_builder;
mod engine;
mod event;
mod executor;
mod peer_setup;

pub use command::UserCommand;
pub use config::EngineConfig;
pub use config_builder::{ConfigProblem, Effective, Overrides, Tuning};
pub use engine::{Engine, EngineHandle, StartError};
pub use event::{EngineEvent, Meters, SignalingState, Warning};
