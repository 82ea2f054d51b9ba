use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ice::IceServer;
use crate::id::PeerId;

/// The bundled signaling server, run locally: what a run without a configured server
/// uses where there is one to run (a checkout), and the headless client's default.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:3000";
/// How many people the recent list keeps.
pub const MAX_RECENT_PEERS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("cannot read or write {path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("{path} is not valid: {reason}")]
    Parse { path: PathBuf, reason: String },
}

/// What a person can change in Settings; `settings.toml` in the config dir.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Signaling servers, tried in order. Empty until a person sets one: an installed app
    /// has no server of its own to fall back on (see [`servers_for_run`]).
    pub servers: Vec<String>,
    pub ice_servers: Vec<IceServer>,
    pub relay_only: bool,
    /// Audio devices in the text form of `InputSpec`/`OutputSpec` (`default`, a device
    /// name, or `wav:PATH`).
    pub input_device: String,
    pub output_device: String,
    /// People called recently, newest first.
    pub recent_peers: Vec<String>,
    /// RNNoise noise suppression on the microphone.
    pub noise_suppression: bool,
    /// Acoustic echo cancellation (WebRTC's) on the microphone.
    pub echo_cancellation: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            ice_servers: Vec::new(),
            relay_only: false,
            input_device: "default".into(),
            output_device: "default".into(),
            recent_peers: Vec::new(),
            noise_suppression: true,
            echo_cancellation: true,
        }
    }
}

impl Settings {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("settings.toml")
    }

    /// Missing file → defaults; a broken file is an error (silently replacing a person's
    /// settings with defaults would lose them).
    pub fn load(dir: &Path) -> Result<Self, ConfigError> {
        let path = Self::path(dir);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(ConfigError::Io {
                path,
                reason: e.to_string(),
            }),
        }
    }

    /// Puts `peer` first in the recent list, without duplicates, keeping at most
    /// [`MAX_RECENT_PEERS`]. True when the list changed.
    pub fn remember_peer(&mut self, peer: &PeerId) -> bool {
        if self.recent_peers.first().map(String::as_str) == Some(peer.as_str()) {
            return false;
        }
        self.recent_peers.retain(|p| p != peer.as_str());
        self.recent_peers.insert(0, peer.to_string());
        self.recent_peers.truncate(MAX_RECENT_PEERS);
        true
    }

    pub fn save(&self, dir: &Path) -> Result<(), ConfigError> {
        let path = Self::path(dir);
        let text = toml::to_string_pretty(self).map_err(|e| ConfigError::Io {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_private(&path, &text)
    }
}

/// The servers a run uses: the configured ones; else the bundled local server when this
/// run has one to start (a checkout, or the headless client's documented default); else
/// none, and the desktop app asks the person for one.
pub fn servers_for_run(configured: &[String], bundled_server: bool) -> Vec<String> {
    if !configured.is_empty() {
        configured.to_vec()
    } else if bundled_server {
        vec![DEFAULT_SERVER.to_owned()]
    } else {
        Vec::new()
    }
}

/// Writes via a temporary file and rename, so a crash never leaves half a file.
pub(crate) fn write_private(path: &Path, text: &str) -> Result<(), ConfigError> {
    let io = |e: std::io::Error| ConfigError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_missing_and_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut settings = Settings::load(dir.path()).expect("defaults");
        assert_eq!(settings, Settings::default());
        settings.servers = vec!["https://signal.example.org".into()];
        settings.ice_servers.push(IceServer {
            urls: vec!["stun:stun.example.org:3478".into()],
            username: String::new(),
            credential: String::new(),
        });
        settings.save(dir.path()).expect("save");
        assert_eq!(Settings::load(dir.path()).expect("load"), settings);
    }

    #[test]
    fn a_fresh_install_has_no_server_and_falls_back_only_to_a_bundled_one() {
        assert!(Settings::default().servers.is_empty());
        let mine = vec!["https://voice.example.org".to_owned()];
        assert_eq!(servers_for_run(&mine, true), mine);
        assert_eq!(servers_for_run(&mine, false), mine);
        assert_eq!(servers_for_run(&[], true), vec![DEFAULT_SERVER.to_owned()]);
        assert!(servers_for_run(&[], false).is_empty());
    }

    #[test]
    fn capture_processing_defaults_on_and_older_files_keep_it_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(Settings::path(dir.path()), "relay_only = true\n").expect("write");
        let settings = Settings::load(dir.path()).expect("load");
        assert!(settings.noise_suppression && settings.echo_cancellation);
        std::fs::write(Settings::path(dir.path()), "noise_suppression = false\n").expect("write");
        let settings = Settings::load(dir.path()).expect("load");
        assert!(!settings.noise_suppression && settings.echo_cancellation);
    }

    #[test]
    fn recent_peers_are_newest_first_unique_and_capped() {
        let peer = |i: usize| PeerId::parse(&format!("peer-{i}")).expect("id");
        let mut settings = Settings::default();
        for i in 0..12 {
            assert!(settings.remember_peer(&peer(i)));
        }
        assert!(settings.remember_peer(&peer(5)));
        assert!(!settings.remember_peer(&peer(5)), "already first");
        let recent = &settings.recent_peers;
        assert_eq!(recent.len(), MAX_RECENT_PEERS);
        assert_eq!(recent[0], "peer-5");
        assert_eq!(recent[1], "peer-11");
        assert_eq!(recent.iter().filter(|p| *p == "peer-5").count(), 1);
    }

    #[test]
    fn broken_settings_are_reported_not_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(Settings::path(dir.path()), "servers = 5").expect("write");
        let err = Settings::load(dir.path()).expect_err("broken");
        assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
    }
}
