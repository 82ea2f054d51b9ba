//! Talking to the signaling server: typed messages, their wire form, and the socket.io client.

mod client;
pub mod message;
pub mod wire;

pub use client::{
    IssuedIceServers, SignalingClient, SignalingConfig, SignalingError, SignalingEvent,
};
