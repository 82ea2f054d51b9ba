//! The WebRTC side of a call (webrtc-rs): one Opus track each way, trickle ICE,
//! connection-state events and stats. The call machine decides; this module just does.

mod config;
mod driver_thread;
mod events;
mod feedback;
mod goodbye;
mod identity;
mod mdns;
mod opus_sdp;
#[cfg(test)]
mod opus_sdp_tests;
mod peer;
mod rx_trace;
mod stats;
mod turn_tcp;

pub use config::RtcConfig;
pub use driver_thread::DRIVER_THREAD;
pub use events::{RemoteRtp, RtcEvent};
pub use identity::{DtlsIdentity, IDENTITY_FILE, IdentityError, IdentitySource};
pub use opus_sdp::DtxRequest;
pub use peer::{
    AudioTrackWriter, LocalDescription, MIME_TYPE_RED, PendingDescription, PreparedIce, RtcError,
    RtcPeer,
};
pub use turn_tcp::TurnTcpBridge;
