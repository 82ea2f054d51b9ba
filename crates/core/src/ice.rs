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

impl IceServer {
    /// One server from its URL, as given on a command line: the credentials are for TURN
    /// only (a STUN server takes none).
    pub fn from_url(url: &str, username: Option<&str>, credential: Option<&str>) -> Self {
        let turn = is_turn_url(url);
        let keep = |value: Option<&str>| value.filter(|_| turn).unwrap_or_default().to_owned();
        Self {
            urls: vec![url.to_owned()],
            username: keep(username),
            credential: keep(credential),
        }
    }
}

/// `turn:` or `turns:` (TURN over TLS).
pub fn is_turn_url(url: &str) -> bool {
    url.starts_with("turn:") || url.starts_with("turns:")
}

/// `stun:` or `stuns:`.
pub fn is_stun_url(url: &str) -> bool {
    url.starts_with("stun:") || url.starts_with("stuns:")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_stay_with_turn_servers_only() {
        let turn = IceServer::from_url("turns:t.example.org:5349", Some("me"), Some("pw"));
        assert_eq!(
            (turn.username.as_str(), turn.credential.as_str()),
            ("me", "pw")
        );
        let stun = IceServer::from_url("stun:s.example.org:3478", Some("me"), Some("pw"));
        assert_eq!(stun.urls, ["stun:s.example.org:3478"]);
        assert!(stun.username.is_empty() && stun.credential.is_empty());
        let bare = IceServer::from_url("turn:t.example.org", None, None);
        assert!(bare.username.is_empty());
    }
}
