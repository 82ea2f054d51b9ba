//! STUN/TURN servers and how a media path reaches the peer: shared by settings, the
//! signaling protocol (issued servers) and the engine.

use serde::{Deserialize, Serialize};

/// A STUN or TURN server, as configured by the user or issued by the signaling server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub credential: String,
}

/// How the media path reaches the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CandidateKind {
    Host,
    Srflx,
    Prflx,
    Relay,
    Unknown,
}
