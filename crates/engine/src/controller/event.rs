use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::audio::Levels;
use crate::media::DeviceSwitch;
use voicecall_core::call::{EndReason, Phase, Tone};
use voicecall_core::id::PeerId;
use voicecall_core::quality::MediaSummary;
use voicecall_core::quality::RtcStats;
use voicecall_core::sas::{Fingerprint, Verification};
use voicecall_core::signaling::message::{ErrorCode, ServerError};
use voicecall_core::signaling::wire::WireError;

/// The connection to the signaling server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalingState {
    Connected,
    Reconnecting,
    /// Not connected; the engine keeps trying (the desktop app's engine) or has given up.
    Offline,
    /// Not connected, for good: the server would not register us (`code` says why, e.g.
    /// the ID we claimed is held by someone else). Trying again as before would be refused
    /// again.
    Refused(ErrorCode),
}

impl SignalingState {
    /// Not connected, whether or not the engine keeps trying.
    pub fn is_offline(&self) -> bool {
        matches!(self, SignalingState::Offline | SignalingState::Refused(_))
    }
}

/// Everything a shell (GUI or CLI) may show.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineEvent {
    /// Our ID on the server (again after every reconnect), and the token that lets us
    /// reclaim it later. The token is a secret: shells store it, never print it.
    Registered {
        id: PeerId,
        token: String,
        reclaimed: bool,
    },
    /// `detail` is for people: the server, or why the connection is down.
    Signaling {
        state: SignalingState,
        detail: String,
    },
    /// The live call moved on (a call's end is `Ended`, not a phase).
    Phase(Phase),
    /// Play (or stop) a call-progress tone; the shell owns the speaker for tones.
    Tone(Option<Tone>),
    /// The media path is up and audio flows both ways. The meters update live while the
    /// call lasts; a UI polls them at its frame rate.
    MediaStarted { meters: Meters },
    /// The media path went down mid-call (`up: false`; the engine is trying to restore
    /// it) or came back.
    MediaPath { up: bool },
    /// The first remote audio frame was decoded and queued for the speaker: the call is
    /// audible. `setup` is how long that took since the user placed or accepted the call.
    FirstAudio {
        at: Instant,
        setup: Option<Duration>,
    },
    /// The peer's certificate fingerprints, as soon as its description arrives: before an
    /// incoming call rings, with the answer of an outgoing one. A shell compares them with
    /// a pinned contact's.
    PeerCertificate {
        peer: PeerId,
        fingerprint: Fingerprint,
    },
    /// The call's security code (the same on both screens unless someone sits between the
    /// two people), or why there is none.
    Verification(Verification),
    /// Periodic numbers while in a call.
    Stats { rtc: RtcStats, media: MediaSummary },
    /// The call with `peer` is over (the one report of a call's end); the engine is idle
    /// again. `media` holds the call's audio numbers when audio ran.
    Ended {
        peer: PeerId,
        reason: EndReason,
        media: Option<MediaSummary>,
    },
    /// The call's microphone or speaker went away (unplugged) and the call switched to
    /// another (or, with `to: None`, has none for now; the engine keeps trying).
    DeviceSwitched(DeviceSwitch),
    /// A second caller was turned away because we were busy.
    RejectedBusy { peer: PeerId },
    /// Something went wrong that did not end a call.
    Warning(Warning),
}

/// What went wrong without ending a call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Warning {
    /// The server rejected something we sent (not about the call in progress).
    #[error("server: {}", .0.message)]
    Server(ServerError),
    /// A message from the server we could not understand was ignored.
    #[error("ignored a malformed `{event}` message: {error}")]
    Malformed { event: String, error: WireError },
    /// The media path is down and an ICE restart could not be started.
    #[error("ICE restart: {0}")]
    IceRestart(String),
}

impl Warning {
    /// Stable machine-readable form, used in `--json` events.
    pub fn code(&self) -> &'static str {
        match self {
            Warning::Server(_) => "server_error",
            Warning::Malformed { .. } => "malformed_message",
            Warning::IceRestart(_) => "ice_restart",
        }
    }
}

/// Live microphone and speaker levels of the running call.
#[derive(Debug, Clone)]
pub struct Meters(pub Arc<Levels>);

impl PartialEq for Meters {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
