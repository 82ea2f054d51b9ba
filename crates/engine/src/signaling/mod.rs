//! The socket.io client that carries the core's signaling messages (`voicecall_core::signaling`).

mod client;

pub use client::{
    IssuedIceServers, SignalingClient, SignalingConfig, SignalingError, SignalingEvent,
};
