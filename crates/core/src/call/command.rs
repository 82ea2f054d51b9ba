use crate::id::PeerId;
use crate::sas::{Fingerprint, Verification};
use crate::signaling::message::{IceCandidate, Outbound, SessionDescription};

use super::goodbye::Goodbye;
use super::phase::{EndReason, Phase, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Heard by the caller while the callee rings.
    Ringback,
    /// Heard by the callee: someone is calling.
    Ringtone,
}

/// Things the UI or CLI may want to show; they change nothing by themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    PhaseChanged(Phase),
    /// A second caller was turned away with `busy` while we were in a call.
    RejectedBusy {
        peer: PeerId,
    },
    /// The media path of a running call went down (`up: false`) or came back.
    MediaPath {
        up: bool,
    },
    /// The peer's certificate fingerprints, as soon as its description arrives: with the
    /// offer (before the callee accepts), with the answer for the caller. Comes before the
    /// phase change it belongs to, so a UI can check a pinned contact first.
    PeerCertificate {
        peer: PeerId,
        fingerprint: Fingerprint,
    },
    /// What the two people can compare for this call (`crate::sas`).
    Verification(Verification),
    /// A message was ignored because it made no sense now (stale call, wrong peer…).
    Ignored {
        what: String,
    },
}

/// What the controller must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Send(Outbound),
    /// Build a peer connection. A caller then creates an offer; a callee applies
    /// `remote_offer` and creates an answer. Either way the result comes back as
    /// `Input::LocalDescription`.
    CreatePeer {
        role: Role,
        remote_offer: Option<SessionDescription>,
    },
    /// Apply a remote answer, or a re-offer (ICE restart) that needs an answer back.
    ApplyRemote(SessionDescription),
    AddRemoteCandidate(IceCandidate),
    /// Start an ICE restart: the controller creates a restart offer → `LocalDescription`.
    RestartIce,
    /// Tell the peer over the media path why we leave (an RTCP BYE), before the
    /// connection closes: it hears of it at once, even while signaling is down.
    SayGoodbye(Goodbye),
    ClosePeer,
    /// Open the microphone and speaker and start sending/receiving audio.
    StartMedia,
    StopMedia,
    SetMuted(bool),
    PlayTone(Option<Tone>),
    Notify(Event),
    /// The call with `peer` is over and the machine is `Idle` again: the one report of a
    /// call's end (there is no `Ended` phase). Comes after the media is stopped, so the
    /// controller can attach the call's audio numbers.
    Ended {
        peer: PeerId,
        reason: EndReason,
    },
}
