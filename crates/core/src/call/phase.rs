use std::fmt;
use std::time::Instant;

use crate::id::{CallId, PeerId};
use crate::sas::SecurityFailure;
use crate::signaling::message::ErrorCode;

/// Who made the offer for this call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Caller,
    Callee,
}

/// Why a call ended, in words a person understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// We hung up an established call.
    HungUp,
    /// The peer hung up (an established call, or while connecting).
    HungUpByPeer,
    /// We cancelled our own call before it was answered.
    Cancelled,
    /// The callee declined our call.
    Declined,
    /// We declined an incoming call.
    DeclinedByUs,
    /// The callee is in another call.
    Busy,
    /// Nobody answered within the ring timeout.
    NoAnswer,
    /// An incoming call stopped ringing before we answered (caller gave up or timed out).
    Missed,
    /// The ID we called is not online.
    PeerNotFound,
    /// No media path could be established.
    ConnectFailed,
    /// The media path died mid-call and did not come back.
    ConnectionLost,
    /// Something on this machine (or the server) failed: see [`Failure`].
    Failed(Failure),
    /// The check of the call's security keys failed: someone may be in the middle. The
    /// call was ended before (callee) or as soon as (caller) it was found out.
    SecurityCheckFailed(SecurityFailure),
}

/// What failed, so that a shell can say what to do about it (pick another microphone,
/// check the connection) without reading the words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// We dialled our own ID.
    OwnId,
    /// No signaling server to place the call through.
    NotConnected,
    /// The server would not pass the call on (`code`, in its words).
    Refused { code: ErrorCode, message: String },
    /// The microphone or speaker could not be opened (the device's error, in words).
    AudioDevice(String),
    /// The audio pipeline (codec) could not start.
    Media(String),
    /// The peer connection could not be set up, or refused what the peer sent.
    Connection(String),
}

impl Failure {
    /// Stable machine-readable form, used in `--json` events.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::OwnId => "own_id",
            Failure::NotConnected => "not_connected",
            Failure::Refused { .. } => "refused",
            Failure::AudioDevice(_) => "audio_device",
            Failure::Media(_) => "media",
            Failure::Connection(_) => "connection",
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::OwnId => f.write_str("you cannot call your own ID"),
            Failure::NotConnected => f.write_str("not connected to the signaling server"),
            Failure::Refused { message, .. } => f.write_str(message),
            Failure::AudioDevice(why) | Failure::Media(why) | Failure::Connection(why) => {
                f.write_str(why)
            }
        }
    }
}

impl EndReason {
    /// Stable machine-readable form, used in `--json` events and hang-up reasons.
    pub fn code(&self) -> &'static str {
        match self {
            EndReason::HungUp => "hangup",
            EndReason::HungUpByPeer => "remote_hangup",
            EndReason::Cancelled => "cancelled",
            EndReason::Declined => "declined",
            EndReason::DeclinedByUs => "declined_locally",
            EndReason::Busy => "busy",
            EndReason::NoAnswer => "no_answer",
            EndReason::Missed => "missed",
            EndReason::PeerNotFound => "peer_not_found",
            EndReason::ConnectFailed => "connect_failed",
            EndReason::ConnectionLost => "connection_lost",
            EndReason::Failed(_) => "failed",
            EndReason::SecurityCheckFailed(_) => "security_check_failed",
        }
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndReason::HungUp => f.write_str("hung up"),
            EndReason::HungUpByPeer => f.write_str("hung up by peer"),
            EndReason::Cancelled => f.write_str("cancelled"),
            EndReason::Declined => f.write_str("declined"),
            EndReason::DeclinedByUs => f.write_str("declined by you"),
            EndReason::Busy => f.write_str("busy"),
            EndReason::NoAnswer => f.write_str("no answer"),
            EndReason::Missed => f.write_str("missed call"),
            EndReason::PeerNotFound => f.write_str("peer not found"),
            EndReason::ConnectFailed => f.write_str("could not connect"),
            EndReason::ConnectionLost => f.write_str("connection lost"),
            EndReason::Failed(why) => write!(f, "failed: {why}"),
            EndReason::SecurityCheckFailed(why) => write!(f, "security check failed: {why}"),
        }
    }
}

/// Where the call stands. Everything a UI shows about a live call is derived from this; how
/// a call ended is reported once, by [`Command::Ended`](super::Command::Ended), after which
/// the machine is `Idle` again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Idle,
    /// We are calling `peer`; `ringing` once the callee reported that it rings.
    Outgoing {
        peer: PeerId,
        call_id: CallId,
        since: Instant,
        ringing: bool,
    },
    /// `peer` is calling us and we have not answered.
    Incoming {
        peer: PeerId,
        call_id: Option<CallId>,
        since: Instant,
    },
    /// Answered; ICE and DTLS are setting up the media path.
    Connecting {
        peer: PeerId,
        call_id: Option<CallId>,
        role: Role,
        since: Instant,
    },
    InCall {
        peer: PeerId,
        call_id: Option<CallId>,
        role: Role,
        since: Instant,
        muted: bool,
    },
}

impl Phase {
    pub fn peer(&self) -> Option<&PeerId> {
        match self {
            Phase::Idle => None,
            Phase::Outgoing { peer, .. }
            | Phase::Incoming { peer, .. }
            | Phase::Connecting { peer, .. }
            | Phase::InCall { peer, .. } => Some(peer),
        }
    }

    /// The call ID of the live call, if any (legacy peers send none).
    pub fn call_id(&self) -> Option<&CallId> {
        match self {
            Phase::Outgoing { call_id, .. } => Some(call_id),
            Phase::Incoming { call_id, .. }
            | Phase::Connecting { call_id, .. }
            | Phase::InCall { call_id, .. } => call_id.as_ref(),
            Phase::Idle => None,
        }
    }

    /// True while a call occupies us (a new caller gets `busy`).
    pub fn is_live(&self) -> bool {
        !matches!(self, Phase::Idle)
    }

    /// Short machine-readable name.
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Outgoing { .. } => "outgoing",
            Phase::Incoming { .. } => "incoming",
            Phase::Connecting { .. } => "connecting",
            Phase::InCall { .. } => "in_call",
        }
    }
}
