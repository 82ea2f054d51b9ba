//! Settings as a person types them (the settings screen's fields), and the checks that
//! turn them into [`Settings`] or say, field by field, what is wrong.

use std::str::FromStr;

use thiserror::Error;

use super::settings::Settings;
use crate::device::{InputSpec, OutputSpec, SpecError};
use crate::ice::{IceServer, is_stun_url, is_turn_url};

/// The editable settings, as typed: nothing here is checked yet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsDraft {
    /// Signaling server URLs separated by commas, spaces or new lines.
    pub servers: String,
    pub ice: Vec<IceDraft>,
    pub relay_only: bool,
    pub noise_suppression: bool,
    pub echo_cancellation: bool,
    /// Text form of an `InputSpec` / `OutputSpec`.
    pub input: String,
    pub output: String,
}

/// One STUN/TURN row: a single URL with its credentials.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IceDraft {
    pub url: String,
    pub username: String,
    pub credential: String,
}

/// What is wrong with the signaling servers field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ServersError {
    #[error("enter at least one server, e.g. https://voice.example.org")]
    Empty,
    #[error("\"{0}\" is not a server address (http://, https://, ws:// or wss://)")]
    NotAServer(String),
}

/// What is wrong with one STUN/TURN row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum IceError {
    #[error("must start with stun: or turn:")]
    UnknownScheme,
    #[error("a TURN server needs a username and a credential")]
    TurnNeedsCredentials,
}

/// Every field that keeps a draft from being saved; empty when it can be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors {
    pub servers: Option<ServersError>,
    /// By row index into [`SettingsDraft::ice`].
    pub ice: Vec<(usize, IceError)>,
    pub input: Option<SpecError>,
    pub output: Option<SpecError>,
}

impl FieldErrors {
    pub fn is_empty(&self) -> bool {
        self.servers.is_none()
            && self.ice.is_empty()
            && self.input.is_none()
            && self.output.is_none()
    }

    /// The problem with STUN/TURN row `row`, if any.
    pub fn ice_row(&self, row: usize) -> Option<IceError> {
        self.ice.iter().find(|(i, _)| *i == row).map(|(_, e)| *e)
    }
}

impl SettingsDraft {
    /// The saved settings as editable fields (one row per STUN/TURN URL).
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            servers: settings.servers.join(", "),
            ice: settings
                .ice_servers
                .iter()
                .flat_map(|server| {
                    server.urls.iter().map(|url| IceDraft {
                        url: url.clone(),
                        username: server.username.clone(),
                        credential: server.credential.clone(),
                    })
                })
                .collect(),
            relay_only: settings.relay_only,
            noise_suppression: settings.noise_suppression,
            echo_cancellation: settings.echo_cancellation,
            input: settings.input_device.clone(),
            output: settings.output_device.clone(),
        }
    }

    /// The settings as typed, keeping what the draft does not edit (the recent peers) from
    /// `saved`; or every field that is wrong. Rows left entirely blank are dropped.
    pub fn validate(&self, saved: &Settings) -> Result<Settings, Box<FieldErrors>> {
        let mut errors = FieldErrors::default();
        let servers = parse_servers(&self.servers).unwrap_or_else(|err| {
            errors.servers = Some(err);
            Vec::new()
        });
        let mut ice_servers = Vec::new();
        for (i, row) in self.ice.iter().enumerate() {
            match row.validate() {
                Ok(Some(server)) => ice_servers.push(server),
                Ok(None) => {}
                Err(err) => errors.ice.push((i, err)),
            }
        }
        if let Err(err) = InputSpec::from_str(&self.input) {
            errors.input = Some(err);
        }
        if let Err(err) = OutputSpec::from_str(&self.output) {
            errors.output = Some(err);
        }
        if !errors.is_empty() {
            return Err(Box::new(errors));
        }
        Ok(Settings {
            servers,
            ice_servers,
            relay_only: self.relay_only,
            input_device: self.input.trim().to_owned(),
            output_device: self.output.trim().to_owned(),
            recent_peers: saved.recent_peers.clone(),
            noise_suppression: self.noise_suppression,
            echo_cancellation: self.echo_cancellation,
        })
    }
}

impl IceDraft {
    /// The server this row stands for; `None` for a blank row.
    fn validate(&self) -> Result<Option<IceServer>, IceError> {
        let url = self.url.trim();
        if url.is_empty() && self.username.is_empty() && self.credential.is_empty() {
            return Ok(None);
        }
        let is_turn = is_turn_url(url);
        if !is_turn && !is_stun_url(url) {
            return Err(IceError::UnknownScheme);
        }
        if is_turn && (self.username.trim().is_empty() || self.credential.is_empty()) {
            return Err(IceError::TurnNeedsCredentials);
        }
        Ok(Some(IceServer {
            urls: vec![url.to_owned()],
            username: self.username.trim().to_owned(),
            credential: self.credential.clone(),
        }))
    }
}

/// An address a signaling client can connect to.
/// A servers field as typed (URLs separated by commas, spaces or new lines), checked.
pub fn parse_servers(text: &str) -> Result<Vec<String>, ServersError> {
    let servers: Vec<String> = text
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if servers.is_empty() {
        return Err(ServersError::Empty);
    }
    match servers.iter().find(|s| !is_server_url(s)) {
        Some(bad) => Err(ServersError::NotAServer(bad.clone())),
        None => Ok(servers),
    }
}

pub fn is_server_url(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|url| {
        matches!(url.scheme(), "http" | "https" | "ws" | "wss") && url.host_str().is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::Direction;

    fn draft() -> SettingsDraft {
        SettingsDraft::from_settings(&Settings::default())
    }

    #[test]
    fn a_valid_draft_becomes_the_settings_keeping_the_recent_peers() {
        let saved = Settings {
            recent_peers: vec!["k7m-q2x-9fd".into()],
            ..Settings::default()
        };
        let mut draft = SettingsDraft::from_settings(&saved);
        draft.servers = " https://a.example.org, http://10.0.0.2:3000\nws://b:1 ".into();
        draft.ice = vec![
            IceDraft {
                url: " turn:turn.example.org:3478 ".into(),
                username: " me ".into(),
                credential: "secret".into(),
            },
            IceDraft::default(),
        ];
        draft.relay_only = true;
        draft.input = " wav:/tmp/x.wav ".into();
        let settings = draft.validate(&saved).expect("valid");
        assert_eq!(
            settings.servers,
            ["https://a.example.org", "http://10.0.0.2:3000", "ws://b:1"]
        );
        assert_eq!(
            settings.ice_servers,
            vec![IceServer {
                urls: vec!["turn:turn.example.org:3478".into()],
                username: "me".into(),
                credential: "secret".into(),
            }],
            "trimmed, and the blank row dropped"
        );
        assert!(settings.relay_only);
        assert_eq!(settings.input_device, "wav:/tmp/x.wav");
        assert_eq!(settings.output_device, "default");
        assert_eq!(settings.recent_peers, saved.recent_peers);
    }

    #[test]
    fn the_saved_settings_round_trip_through_a_draft() {
        let saved = Settings {
            servers: vec![
                "https://a.example.org".into(),
                "http://10.0.0.2:3000".into(),
            ],
            ice_servers: vec![IceServer {
                urls: vec!["stun:a:3478".into(), "turn:b:3478".into()],
                username: "u".into(),
                credential: "c".into(),
            }],
            noise_suppression: false,
            ..Settings::default()
        };
        let back = SettingsDraft::from_settings(&saved)
            .validate(&saved)
            .expect("valid");
        assert_eq!(back.servers, saved.servers);
        assert_eq!(back.ice_servers.len(), 2, "one row per URL");
        assert!(!back.noise_suppression && back.echo_cancellation);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut draft = draft();
        draft.servers = "http://ok.example.org, not a url".into();
        draft.ice = vec![
            IceDraft {
                url: "turn:t.example.org".into(),
                ..IceDraft::default()
            },
            IceDraft {
                url: "stun:fine.example.org".into(),
                ..IceDraft::default()
            },
            IceDraft {
                url: "http://x".into(),
                ..IceDraft::default()
            },
        ];
        draft.input = "wav:".into();
        let errors = draft.validate(&Settings::default()).expect_err("invalid");
        assert_eq!(
            errors.servers,
            Some(ServersError::NotAServer("not".into())),
            "split on spaces too"
        );
        assert_eq!(
            errors.ice,
            vec![
                (0, IceError::TurnNeedsCredentials),
                (2, IceError::UnknownScheme)
            ]
        );
        assert_eq!(errors.ice_row(1), None);
        assert_eq!(
            errors.input.as_ref().map(|e| e.direction),
            Some(Direction::Input)
        );
        assert_eq!(errors.output, None);
    }

    #[test]
    fn no_server_at_all_is_an_error() {
        let mut draft = draft();
        draft.servers = " , ".into();
        let errors = draft.validate(&Settings::default()).expect_err("invalid");
        assert_eq!(errors.servers, Some(ServersError::Empty));
        assert_eq!(
            errors.servers.map(|e| e.to_string()).as_deref(),
            Some("enter at least one server, e.g. https://voice.example.org")
        );
    }

    #[test]
    fn server_addresses_need_a_signaling_scheme_and_a_host() {
        assert!(is_server_url("http://127.0.0.1:3000"));
        assert!(is_server_url("wss://signal.example.org/path"));
        assert!(!is_server_url("ftp://example.org"));
        assert!(!is_server_url("http://"));
        assert!(!is_server_url("127.0.0.1:3000"));
    }
}
