//! Call links: `voicecall:k7m-q2x-9fd?server=https://voice.example.org`. A person shares
//! one so that the other person's app opens with the call ready to place — never placed:
//! the app asks "Call k7m-q2x-9fd?" first, and asks before it switches to a server it has
//! not been using (a link could point anywhere).

use std::fmt;

use thiserror::Error;

use crate::config::is_server_url;
use crate::id::{IdError, PeerId};

/// The URI scheme the desktop entry registers (`x-scheme-handler/voicecall`).
pub const SCHEME: &str = "voicecall";
/// Longer text is not a link a person shared; it is refused before any parsing.
pub const MAX_LINK_LEN: usize = 2048;

/// Who to call, and on which signaling server (the app's own when the link names none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLink {
    pub peer: PeerId,
    pub server: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LinkError {
    #[error("a call link is at most {MAX_LINK_LEN} characters long")]
    TooLong,
    #[error("\"{0}\" is not a call link (they start with voicecall:)")]
    NotALink(String),
    #[error("the call link names no one to call")]
    NoPeer,
    #[error("the call link's {0}")]
    Peer(IdError),
    #[error(
        "the call link's server \"{0}\" is not a server address (http://, https://, ws:// or wss://)"
    )]
    Server(String),
    #[error("the call link names more than one server")]
    RepeatedServer,
}

/// What the app does first with a link, given the servers it uses now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkStep {
    /// Ask whether to switch to the link's server, which is not one of ours.
    AskServer(String),
    /// Ask "Call …?" on the server in use.
    Confirm,
}

impl CallLink {
    pub fn new(peer: PeerId, server: Option<&str>) -> Self {
        Self {
            peer,
            server: server.map(str::to_owned),
        }
    }

    /// Reads a link as the system hands it over (a command-line argument). Both
    /// `voicecall:ID` and `voicecall://ID` are accepted; parameters other than `server`
    /// are ignored, so a newer app's links still open in this one.
    pub fn parse(text: &str) -> Result<Self, LinkError> {
        let text = text.trim();
        if text.len() > MAX_LINK_LEN {
            return Err(LinkError::TooLong);
        }
        let not_a_link = || LinkError::NotALink(text.chars().take(80).collect());
        let url = url::Url::parse(text).map_err(|_| not_a_link())?;
        if url.scheme() != SCHEME {
            return Err(not_a_link());
        }
        let peer = match url.host_str() {
            Some(host) if !host.is_empty() => host.to_owned(),
            _ => url.path().trim_matches('/').to_owned(),
        };
        if peer.is_empty() {
            return Err(LinkError::NoPeer);
        }
        let peer = PeerId::parse(&peer).map_err(LinkError::Peer)?;
        let mut server = None;
        for (key, value) in url.query_pairs() {
            if key != "server" {
                continue;
            }
            if server.is_some() {
                return Err(LinkError::RepeatedServer);
            }
            let value = value.trim();
            if !is_server_url(value) {
                return Err(LinkError::Server(value.chars().take(200).collect()));
            }
            server = Some(value.to_owned());
        }
        Ok(Self { peer, server })
    }

    /// What to do first with this link when the app uses `current` servers.
    pub fn first_step(&self, current: &[String]) -> LinkStep {
        match &self.server {
            Some(server) if !current.iter().any(|ours| same_server(ours, server)) => {
                LinkStep::AskServer(server.clone())
            }
            _ => LinkStep::Confirm,
        }
    }
}

impl fmt::Display for CallLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}:{}", self.peer)?;
        if let Some(server) = &self.server {
            write!(f, "?server={}", encode_query_value(server))?;
        }
        Ok(())
    }
}

/// Leaves a URL readable (`https://voice.example.org`) and escapes only what would change
/// how the query is read: `%`, `&`, `#`, `+` (a space when decoded), spaces and non-ASCII.
fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~:/?@!$'()*,;=[]".contains(&byte);
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Whether two server URLs reach the same server: scheme family (http = ws, https = wss),
/// host, port and path compared; case and a trailing slash do not matter.
pub fn same_server(a: &str, b: &str) -> bool {
    match (server_key(a), server_key(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a.trim() == b.trim(),
    }
}

fn server_key(text: &str) -> Option<(bool, String, Option<u16>, String)> {
    let url = url::Url::parse(text.trim()).ok()?;
    let secure = match url.scheme() {
        "http" | "ws" => false,
        "https" | "wss" => true,
        _ => return None,
    };
    let port = url.port().or(if secure { Some(443) } else { Some(80) });
    let host = url.host_str()?.to_ascii_lowercase();
    Some((
        secure,
        host,
        port,
        url.path().trim_end_matches('/').to_owned(),
    ))
}

/// How a server is named to a person: its host, and its port when not the usual one
/// (`voice.example.org`, `127.0.0.1:3000`). The host is what a link really leads to,
/// whatever user name stands before an `@`.
pub fn server_label(server: &str) -> String {
    let Ok(url) = url::Url::parse(server.trim()) else {
        return server.trim().to_owned();
    };
    let Some(host) = url.host_str() else {
        return server.trim().to_owned();
    };
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn peer(id: &str) -> PeerId {
        PeerId::parse(id).expect("valid id")
    }

    #[test]
    fn reads_the_documented_form() {
        let link = CallLink::parse("voicecall:k7m-q2x-9fd?server=https://voice.example.org")
            .expect("valid link");
        assert_eq!(link.peer, peer("k7m-q2x-9fd"));
        assert_eq!(link.server.as_deref(), Some("https://voice.example.org"));
    }

    #[test]
    fn reads_other_spellings_a_person_may_paste() {
        for text in [
            "voicecall:k7m-q2x-9fd",
            " voicecall:K7M-Q2X-9FD\n",
            "VOICECALL:k7m-q2x-9fd",
            "voicecall://k7m-q2x-9fd",
            "voicecall://k7m-q2x-9fd/",
            "voicecall:k7m-q2x-9fd?name=Alice",
        ] {
            let link = CallLink::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(link.peer, peer("k7m-q2x-9fd"), "{text:?}");
            assert_eq!(link.server, None, "{text:?}");
        }
        let encoded =
            CallLink::parse("voicecall:k7m-q2x-9fd?server=https%3A%2F%2Fvoice.example.org%3A8443")
                .expect("percent-encoded server");
        assert_eq!(
            encoded.server.as_deref(),
            Some("https://voice.example.org:8443")
        );
    }

    /// Whether an error is the expected kind.
    type IsExpected = fn(&LinkError) -> bool;

    #[test]
    fn refuses_what_is_not_a_call_link_and_says_why() {
        let cases: [(&str, IsExpected); 9] = [
            ("https://voice.example.org", |e| {
                matches!(e, LinkError::NotALink(_))
            }),
            ("k7m-q2x-9fd", |e| matches!(e, LinkError::NotALink(_))),
            ("voicecall:", |e| matches!(e, LinkError::NoPeer)),
            ("voicecall:?server=https://a.example.org", |e| {
                matches!(e, LinkError::NoPeer)
            }),
            ("voicecall:a", |e| {
                matches!(e, LinkError::Peer(IdError::Length(_)))
            }),
            ("voicecall:rm%20-rf", |e| {
                matches!(e, LinkError::Peer(IdError::Characters(_)))
            }),
            ("voicecall:k7m-q2x-9fd?server=file:///etc/passwd", |e| {
                matches!(e, LinkError::Server(_))
            }),
            ("voicecall:k7m-q2x-9fd?server=", |e| {
                matches!(e, LinkError::Server(_))
            }),
            (
                "voicecall:k7m-q2x-9fd?server=https://a.example.org&server=https://b.example.org",
                |e| matches!(e, LinkError::RepeatedServer),
            ),
        ];
        for (text, expected) in cases {
            let err = CallLink::parse(text).expect_err(text);
            assert!(expected(&err), "{text:?} gave {err:?}");
        }
        let long = format!("voicecall:k7m-q2x-9fd?pad={}", "x".repeat(MAX_LINK_LEN));
        assert_eq!(CallLink::parse(&long), Err(LinkError::TooLong));
        assert_eq!(
            CallLink::parse("voicecall:k7m-q2x-9fd?server=ftp://x.org")
                .expect_err("ftp")
                .to_string(),
            "the call link's server \"ftp://x.org\" is not a server address \
             (http://, https://, ws:// or wss://)"
        );
    }

    #[test]
    fn writes_links_that_read_back_and_stay_readable() {
        let link = CallLink::new(peer("k7m-q2x-9fd"), Some("https://voice.example.org"));
        assert_eq!(
            link.to_string(),
            "voicecall:k7m-q2x-9fd?server=https://voice.example.org"
        );
        assert_eq!(CallLink::parse(&link.to_string()), Ok(link));
        let bare = CallLink::new(peer("alice"), None);
        assert_eq!(bare.to_string(), "voicecall:alice");
        let odd = CallLink::new(peer("alice"), Some("https://h.example.org/a&b#c+d%"));
        assert_eq!(
            odd.to_string(),
            "voicecall:alice?server=https://h.example.org/a%26b%23c%2Bd%25"
        );
        assert_eq!(CallLink::parse(&odd.to_string()), Ok(odd));
    }

    #[test]
    fn asks_before_using_a_server_we_do_not_use() {
        let ours = vec!["https://voice.example.org".to_owned()];
        let link = |server: Option<&str>| CallLink::new(peer("k7m-q2x-9fd"), server);
        assert_eq!(link(None).first_step(&ours), LinkStep::Confirm);
        assert_eq!(
            link(Some("wss://VOICE.example.org:443/")).first_step(&ours),
            LinkStep::Confirm,
            "the same server written differently"
        );
        assert_eq!(
            link(Some("https://other.example.org")).first_step(&ours),
            LinkStep::AskServer("https://other.example.org".into())
        );
        assert_eq!(
            link(Some("https://voice.example.org")).first_step(&[]),
            LinkStep::AskServer("https://voice.example.org".into()),
            "no server set up yet"
        );
    }

    #[test]
    fn compares_servers_by_where_they_lead() {
        assert!(same_server("http://127.0.0.1:3000", "ws://127.0.0.1:3000/"));
        assert!(same_server(
            "https://a.example.org",
            "https://a.example.org:443"
        ));
        assert!(!same_server(
            "https://a.example.org",
            "http://a.example.org"
        ));
        assert!(!same_server(
            "https://a.example.org",
            "https://a.example.org:8443"
        ));
        assert!(!same_server(
            "https://a.example.org",
            "https://a.example.org/other"
        ));
        assert!(!same_server(
            "https://a.example.org",
            "https://b.example.org"
        ));
    }

    #[test]
    fn names_servers_by_the_host_they_lead_to() {
        assert_eq!(
            server_label("https://voice.example.org/"),
            "voice.example.org"
        );
        assert_eq!(server_label("http://127.0.0.1:3000"), "127.0.0.1:3000");
        assert_eq!(
            server_label("https://voice.example.org@evil.example.net"),
            "evil.example.net"
        );
    }

    proptest! {
        #[test]
        fn any_link_we_write_reads_back(
            id in "[a-z0-9]{3}-[a-z0-9]{3}-[a-z0-9]{3}",
            host in "[a-z]{1,12}\\.example\\.org",
            port in proptest::option::of(1u16..),
            path in "(/[a-zA-Z0-9+&=%#?._~-]{0,10}){0,2}",
        ) {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let server = format!("https://{host}{port}{path}");
            let link = CallLink::new(peer(&id), Some(&server));
            let back = CallLink::parse(&link.to_string());
            prop_assert_eq!(back, Ok(link));
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,300}") {
            let _ = CallLink::parse(&text);
        }
    }
}
