//! The signaling server's protocol (typed messages and their wire form, PROTOCOL.md) and
//! the client's session machine.

pub mod message;
pub mod session;
pub mod wire;
