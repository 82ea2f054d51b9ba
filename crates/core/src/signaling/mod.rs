//! The signaling server's protocol: typed messages and their wire form (PROTOCOL.md).

pub mod message;
pub mod wire;
