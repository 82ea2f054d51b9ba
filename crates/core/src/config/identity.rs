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
    fn a_corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("identity.json"), "{nope").expect("write");
        let err = IdentityStore::load(dir.path()).expect_err("corrupt");
        assert!(err.to_string().contains("identity.json"), "{err}");
    }
}
