//! Signaling messages as the engine sees them: typed, validated, free of wire details.
//!
//! `wire.rs` turns these into the socket.io payloads of `signaling-server/PROTOCOL.md`
//! (including the seed's JSON-string forms) and back.

use crate::id::{CallId, PeerId};
use crate::sas::{Commitment, Nonce};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SdpKind {
    Offer,
    Answer,
}

impl SdpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SdpKind::Offer => "offer",
            SdpKind::Answer => "answer",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionDescription {
    pub kind: SdpKind,
    pub sdp: String,
}

/// One trickled ICE candidate. An empty `candidate` means end-of-candidates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IceCandidate {
    pub candidate: String,
    pub mid: Option<String>,
    pub mline_index: Option<u16>,
}

/// What one client asks the server to relay to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    pub to: PeerId,
    pub call_id: Option<CallId>,
    pub body: Body,
}

/// What the server relayed to us from another client.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Inbound {
    pub from: PeerId,
    pub call_id: Option<CallId>,
    pub body: Body,
}

/// What an offer or answer carries for the security code (`crate::sas`); descriptions
/// from old clients carry nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SasPart {
    /// On the caller's first offer: its commitment (`sasCommit`).
    Commit(Commitment),
    /// On the callee's first answer: its nonce (`sasNonce`).
    Nonce(Nonce),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Body {
    Description {
        desc: SessionDescription,
        sas: Option<SasPart>,
    },
    Ice(IceCandidate),
    Ringing,
    Decline {
        reason: Option<DeclineReason>,
    },
    Hangup {
        reason: HangupReason,
    },
    Busy,
    /// The caller's nonce, sent once the answer is in (`sas_reveal`).
    SasReveal {
        nonce: Nonce,
    },
}

/// Why the peer hung up (`call_hangup`'s `reason`). Words this client does not know (from
/// newer or older clients) are kept as they came.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HangupReason {
    /// An answered call ended normally.
    Hangup,
    /// The caller gave up before an answer.
    Cancel,
    /// The caller's ring timeout ran out.
    NoAnswer,
    /// No media path could be set up.
    ConnectFailed,
    /// The media path died mid-call and did not come back.
    ConnectionLost,
    /// Something on the sender's machine failed.
    Failed,
    /// The sender's security check of the call's keys failed (`crate::sas`).
    SecurityCheckFailed,
    Other(String),
}

impl HangupReason {
    pub fn parse(reason: &str) -> Self {
        match reason {
            "hangup" => Self::Hangup,
            "cancel" => Self::Cancel,
            "no_answer" => Self::NoAnswer,
            "connect_failed" => Self::ConnectFailed,
            "connection_lost" => Self::ConnectionLost,
            "failed" => Self::Failed,
            "security_check_failed" => Self::SecurityCheckFailed,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Hangup => "hangup",
            Self::Cancel => "cancel",
            Self::NoAnswer => "no_answer",
            Self::ConnectFailed => "connect_failed",
            Self::ConnectionLost => "connection_lost",
            Self::Failed => "failed",
            Self::SecurityCheckFailed => "security_check_failed",
            Self::Other(other) => other,
        }
    }
}

/// Why the callee declined (`call_decline`'s optional `reason`); unknown words are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeclineReason {
    /// The person pressed Decline.
    Declined,
    /// The callee is in another call.
    Busy,
    /// Nobody answered before the callee's ring timeout.
    NoAnswer,
    /// Something on the callee's machine failed.
    Failed,
    Other(String),
}

impl DeclineReason {
    pub fn parse(reason: &str) -> Self {
        match reason {
            "declined" => Self::Declined,
            "busy" => Self::Busy,
            "no_answer" => Self::NoAnswer,
            "failed" => Self::Failed,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Declined => "declined",
            Self::Busy => "busy",
            Self::NoAnswer => "no_answer",
            Self::Failed => "failed",
            Self::Other(other) => other,
        }
    }
}

impl Body {
    /// The socket.io event that carries this body.
    pub fn event(&self) -> &'static str {
        match self {
            Body::Description { desc, .. } if desc.kind == SdpKind::Offer => "offer_sdp",
            Body::Description { .. } => "answer_sdp",
            Body::Ice(_) => "send_ice",
            Body::Ringing => "ringing",
            Body::Decline { .. } => "call_decline",
            Body::Hangup { .. } => "call_hangup",
            Body::Busy => "busy",
            Body::SasReveal { .. } => "sas_reveal",
        }
    }
}

/// Error codes of PROTOCOL.md, plus `Other` for codes a newer server may add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidPayload,
    PayloadTooLarge,
    InvalidId,
    InvalidToken,
    InvalidTarget,
    IdTaken,
    SessionReplaced,
    PeerNotFound,
    UnknownEvent,
    RateLimited,
    /// A call message for a call the server does not know of (only offers open calls).
    NotInCall,
    RegistryFull,
    Internal,
    Other(String),
}

impl ErrorCode {
    pub fn parse(code: &str) -> Self {
        match code {
            "INVALID_PAYLOAD" => Self::InvalidPayload,
            "PAYLOAD_TOO_LARGE" => Self::PayloadTooLarge,
            "INVALID_ID" => Self::InvalidId,
            "INVALID_TOKEN" => Self::InvalidToken,
            "INVALID_TARGET" => Self::InvalidTarget,
            "ID_TAKEN" => Self::IdTaken,
            "SESSION_REPLACED" => Self::SessionReplaced,
            "PEER_NOT_FOUND" => Self::PeerNotFound,
            "UNKNOWN_EVENT" => Self::UnknownEvent,
            "RATE_LIMITED" => Self::RateLimited,
            "NOT_IN_CALL" => Self::NotInCall,
            "REGISTRY_FULL" => Self::RegistryFull,
            "INTERNAL" => Self::Internal,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// An error the server reported, tied (when it says so) to a peer and call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    pub code: ErrorCode,
    pub message: String,
    pub event: Option<String>,
    pub target: Option<PeerId>,
    pub call_id: Option<CallId>,
}
