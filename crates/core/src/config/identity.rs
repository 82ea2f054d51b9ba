use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::settings::ConfigError;
use crate::id::PeerId;

/// The ID a server gave us and the token that lets us reclaim it after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub id: String,
    pub token: String,
}

/// An ID to ask the server for, and the token proving it is ours if we have one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub id: PeerId,
    pub token: Option<String>,
}

/// Identities per server URL, in `identity.json` (kept apart from the settings because it
/// holds a secret and is written by the app, not by people).
#[derive(Debug, Clone)]
pub struct IdentityStore {
    path: PathBuf,
    by_server: BTreeMap<String, Identity>,
}

impl IdentityStore {
    pub fn load(dir: &Path) -> Result<Self, ConfigError> {
        let path = dir.join("identity.json");
        let by_server = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.clone(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => {
                return Err(ConfigError::Io {
                    path,
                    reason: e.to_string(),
                });
            }
        };
        Ok(Self { path, by_server })
    }

    /// The stored identity for `server`, if it is well-formed.
    pub fn get(&self, server: &str) -> Option<(PeerId, String)> {
        let identity = self.by_server.get(server)?;
        let id = PeerId::parse(&identity.id).ok()?;
        Some((id, identity.token.clone()))
    }

    /// What to ask `server` for: `wanted` (with its token if it is the ID remembered there),
    /// or without a wish the ID remembered there, if any (else a fresh one: `None`).
    pub fn claim(&self, server: &str, wanted: Option<&PeerId>) -> Option<Claim> {
        let remembered = self.get(server);
        match wanted {
            Some(wanted) => Some(Claim {
                id: wanted.clone(),
                token: remembered
                    .filter(|(id, _)| id == wanted)
                    .map(|(_, token)| token),
            }),
            None => remembered.map(|(id, token)| Claim {
                id,
                token: Some(token),
            }),
        }
    }

    /// Remembers the ID `server` granted us, so the next run can claim it back. Writes
    /// nothing when that is already remembered, or when there is no token (without one
    /// the server would not give the ID back anyway).
    pub fn remember(&mut self, server: &str, id: &PeerId, token: &str) -> Result<(), ConfigError> {
        if token.is_empty()
            || self
                .get(server)
                .is_some_and(|(i, t)| i == *id && t == token)
        {
            return Ok(());
        }
        self.set(server, id, token)
    }

    pub fn set(&mut self, server: &str, id: &PeerId, token: &str) -> Result<(), ConfigError> {
        self.by_server.insert(
            server.to_owned(),
            Identity {
                id: id.to_string(),
                token: token.to_owned(),
            },
        );
        let text = serde_json::to_string_pretty(&self.by_server).map_err(|e| ConfigError::Io {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        super::settings::write_private(&self.path, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_identities_per_server() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = IdentityStore::load(dir.path()).expect("empty store");
        assert_eq!(store.get("http://a"), None);
        let id = PeerId::parse("k7m-q2x-9fd").expect("id");
        store
            .set("http://a", &id, "secret-token-123456")
            .expect("saved");
        let again = IdentityStore::load(dir.path()).expect("reload");
        assert_eq!(
            again.get("http://a"),
            Some((id, "secret-token-123456".into()))
        );
        assert_eq!(again.get("http://b"), None);
    }

    #[test]
    fn claims_the_remembered_id_or_the_wanted_one_with_its_token_only_if_it_matches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = IdentityStore::load(dir.path()).expect("empty store");
        let alice = PeerId::parse("alice-test").expect("id");
        let bob = PeerId::parse("bob-test").expect("id");
        assert_eq!(store.claim("http://a", None), None, "fresh ID");
        assert_eq!(
            store.claim("http://a", Some(&alice)),
            Some(Claim {
                id: alice.clone(),
                token: None
            })
        );
        store
            .set("http://a", &alice, "alice-token-123")
            .expect("saved");
        assert_eq!(
            store.claim("http://a", None),
            Some(Claim {
                id: alice.clone(),
                token: Some("alice-token-123".into())
            })
        );
        assert_eq!(
            store.claim("http://a", Some(&alice)).and_then(|c| c.token),
            Some("alice-token-123".into())
        );
        assert_eq!(
            store.claim("http://a", Some(&bob)),
            Some(Claim {
                id: bob,
                token: None
            }),
            "alice's token is not sent for bob"
        );
        assert_eq!(store.claim("http://b", None), None, "per server");
    }

    #[test]
    fn remembers_only_real_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("identity.json");
        let mut store = IdentityStore::load(dir.path()).expect("empty store");
        let id = PeerId::parse("k7m-q2x-9fd").expect("id");
        store.remember("http://a", &id, "").expect("nothing to do");
        assert!(!file.exists(), "no token, nothing written");
        store
            .remember("http://a", &id, "token-123456")
            .expect("saved");
        std::fs::write(&file, "{}").expect("replace behind its back");
        store
            .remember("http://a", &id, "token-123456")
            .expect("unchanged");
        assert_eq!(
            std::fs::read_to_string(&file).expect("file"),
            "{}",
            "an unchanged identity is not written again"
        );
        store
            .remember("http://a", &id, "token-new-7890")
            .expect("saved");
        assert_eq!(
            IdentityStore::load(dir.path())
                .expect("reload")
                .get("http://a"),
            Some((id, "token-new-7890".into()))
        );
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("identity.json"), "{nope").expect("write");
        let err = IdentityStore::load(dir.path()).expect_err("corrupt");
        assert!(err.to_string().contains("identity.json"), "{err}");
    }
}
