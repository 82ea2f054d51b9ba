//! voicecall engine: everything the desktop UI and the headless CLI drive.
//!
//! The call logic (`call`) is sans-IO; the modules around it do the I/O:
//! `signaling` (socket.io client), `rtc` (webrtc-rs peer), `audio` (cpal / WAV devices),
//! `codec` (Opus), `jitter` (receive buffer), `media` (the per-call audio pipeline) and
//! `controller` (the tokio task that runs a call machine against all of them).

pub mod analysis;
pub mod audio;
pub mod call;
pub mod codec;
pub mod config;
pub mod controller;
pub mod format;
pub mod id;
pub mod jitter;
pub mod media;
pub mod netem;
pub mod rtc;
pub mod signaling;
