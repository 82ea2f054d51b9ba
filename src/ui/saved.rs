//! The settings file: loaded once, replaced by Save, and updated with the recent peers —
//! unless it could not be read, in which case nothing is written behind the person's back.

use std::path::{Path, PathBuf};

use voicecall_core::config::{ConfigError, Settings};
use voicecall_core::id::PeerId;

#[derive(Debug)]
pub struct SavedSettings {
    dir: PathBuf,
    settings: Settings,
    /// False when `settings.toml` could not be read: only an explicit Save replaces it.
    writable: bool,
}

impl SavedSettings {
    /// The saved settings, or the defaults and a problem to show.
    pub fn load(dir: &Path) -> (Self, Option<String>) {
        let (settings, writable, problem) = match Settings::load(dir) {
            Ok(settings) => (settings, true, None),
            Err(err) => (
                Settings::default(),
                false,
                Some(format!(
                    "{err}. Using default settings for now; Save in Settings replaces the file."
                )),
            ),
        };
        let saved = Self {
            dir: dir.to_path_buf(),
            settings,
            writable,
        };
        (saved, problem)
    }

    pub fn get(&self) -> &Settings {
        &self.settings
    }

    /// Replaces the file with `new` (Save in Settings).
    pub fn replace(&mut self, new: Settings) -> Result<(), ConfigError> {
        new.save(&self.dir)?;
        self.settings = new;
        self.writable = true;
        Ok(())
    }

    /// Puts `peer` first in the recent list and saves it; a problem to show if that failed.
    pub fn remember_peer(&mut self, peer: &PeerId) -> Option<String> {
        if !self.settings.remember_peer(peer) || !self.writable {
            return None;
        }
        let err = self.settings.save(&self.dir).err()?;
        Some(format!(
            "Could not remember {peer} in the recent list: {err}"
        ))
    }
}
