use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::audio::Levels;
use voicecall_core::call::{EndReason, Phase, Tone};
use voicecall_core::id::PeerId;
use voicecall_core::quality::MediaSummary;
use voicecall_core::quality::RtcStats;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalingState {
    Connected,
    Reconnecting,
    Offline,
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
    Signaling {
        state: SignalingState,
        detail: String,
    },
    Phase(Phase),
    /// Play (or stop) a call-progress tone; the shell owns the speaker for tones.
    Tone(Option<Tone>),
    /// The media path is up and audio flows both ways. The meters update live while the
    /// call lasts; a UI polls them at its frame rate.
    MediaStarted {
        meters: Meters,
    },
    /// The media path went down mid-call (`up: false`; the engine is trying to restore
    /// it) or came back.
    MediaPath {
        up: bool,
    },
    /// The first remote audio frame was decoded and queued for the speaker: the call is
    /// audible. `setup` is how long that took since the user placed or accepted the call.
    FirstAudio {
        at: Instant,
        setup: Option<Duration>,
    },
    /// The call's short authentication string: both people should see the same code;
    /// different codes mean someone sits between them.
    Verification {
        code: String,
    },
    /// Periodic numbers while in a call.
    Stats {
        rtc: RtcStats,
        media: MediaSummary,
    },
    Ended {
        reason: EndReason,
        media: Option<MediaSummary>,
    },
    /// A second caller was turned away because we were busy.
    RejectedBusy {
        peer: PeerId,
    },
    /// Something went wrong that did not end a call (a malformed message, a server error).
    Warning(String),
}

/// Live microphone and speaker levels of the running call.
#[derive(Debug, Clone)]
pub struct Meters(pub Arc<Levels>);

impl PartialEq for Meters {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
