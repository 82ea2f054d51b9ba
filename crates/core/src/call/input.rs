use super::goodbye::Goodbye;
use super::phase::Failure;
use crate::id::{CallId, PeerId};
use crate::signaling::message::{IceCandidate, Inbound, ServerError, SessionDescription};

/// Connection state reported by the peer connection (ICE + DTLS together).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcState {
    Connecting,
    Connected,
    /// Consent lost for now; it may come back.
    Disconnected,
    Failed,
    Closed,
}

/// Everything that can happen to a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The signaling server told us our own ID (needed to break glare ties).
    Registered {
        id: PeerId,
    },
    /// Our signaling connection dropped: what we send waits in the outbox, and what the
    /// peer sends waits for us, until `Registered` again.
    SignalingLost,
    /// The user wants to call `peer`; the controller picks the fresh `call_id`.
    PlaceCall {
        peer: PeerId,
        call_id: CallId,
    },
    Accept,
    Decline,
    /// End, cancel or decline — whatever "the red button" means right now.
    Hangup,
    SetMuted(bool),
    /// A relayed message from another client.
    Signal(Inbound),
    /// The server rejected something we sent.
    ServerError(ServerError),
    /// Our peer connection produced a local description (offer or answer).
    LocalDescription(SessionDescription),
    /// Our peer connection gathered a candidate (trickle ICE).
    LocalCandidate(IceCandidate),
    Rtc(RtcState),
    /// The peer said over the media path that it left (`crate::call::Goodbye`).
    PeerGoodbye(Goodbye),
    /// The controller could not do what a command asked (WebRTC error, no audio device…).
    Failure(Failure),
    /// Nothing happened, but time passed: fire due timers.
    Tick,
}
