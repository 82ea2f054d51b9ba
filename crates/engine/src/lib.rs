//! voicecall's engine: the I/O around the sans-IO core (`voicecall_core`).
//!
//! `signaling` (socket.io client), `rtc` (webrtc-rs peer), `audio` (cpal / WAV devices),
//! `codec` (Opus), `jitter` (receive buffer), `media` (the per-call audio pipeline) and
//! `controller` (the tokio task that runs a call machine against all of them). The shells
//! (desktop UI, headless CLI) talk to `controller` and render what it reports.

pub mod audio;
pub mod codec;
pub mod controller;
pub mod jitter;
pub mod media;
pub mod rtc;
pub mod signaling;
