//! The socket.io side of the signaling session: a driver task that runs the core's
//! session machine (`voicecall_core::signaling::session`) against rust_socketio, and the
//! client handle the controller holds.

mod client;
mod driver;
mod socket;

pub use client::SignalingClient;
// The session's own types, so that using the client takes one import.
pub use voicecall_core::signaling::session::{SignalingConfig, SignalingError, SignalingEvent};
