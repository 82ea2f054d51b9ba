//! The app's own ID: which one to claim from the primary server, remembering the one the
//! server grants (`IdentityStore::remember`), and giving up a remembered ID the server
//! refuses to hand back.

use std::io::Write;
use std::path::Path;

use voicecall_core::config::{Claim, ConfigError, IdentityStore};
use voicecall_core::id::PeerId;

#[derive(Debug)]
pub struct IdentityKeeper {
    /// `None` when `identity.json` could not be read: nothing is remembered this run.
    store: Option<IdentityStore>,
    /// Claim no remembered ID (the server refused it); cleared when the settings change.
    fresh: bool,
    /// The remembered ID the running engine asked for.
    claimed: Option<PeerId>,
}

impl IdentityKeeper {
    /// The remembered IDs, or a problem to show (the app then runs with a fresh ID).
    pub fn load(dir: &Path) -> (Self, Option<String>) {
        let (store, problem) = match IdentityStore::load(dir) {
            Ok(store) => (Some(store), None),
            Err(err) => (
                None,
                Some(format!(
                    "{err}. You get a new ID this time; delete the file to start afresh."
                )),
            ),
        };
        let keeper = Self {
            store,
            fresh: false,
            claimed: None,
        };
        (keeper, problem)
    }

    /// What a new engine on `server` asks for: the ID remembered there, unless refused.
    pub fn claim(&mut self, server: &str) -> Option<Claim> {
        let claim = self
            .store
            .as_ref()
            .filter(|_| !self.fresh)
            .and_then(|store| store.claim(server, None));
        self.claimed = claim.as_ref().map(|claim| claim.id.clone());
        claim
    }

    /// `server` granted us `id`: remember it for next time.
    pub fn granted(&mut self, server: &str, id: &PeerId, token: &str) -> Result<(), ConfigError> {
        match self.store.as_mut() {
            Some(store) => store.remember(server, id, token),
            None => Ok(()),
        }
    }

    /// The server refused to register us. If it refused the remembered ID we claimed, that
    /// ID is returned and the next engine asks for a fresh one.
    pub fn refused(&mut self) -> Option<PeerId> {
        let claimed = self.claimed.take()?;
        self.fresh = true;
        Some(claimed)
    }

    /// New settings (perhaps another server): the remembered ID is worth a try again.
    pub fn settings_changed(&mut self) {
        self.fresh = false;
    }
}

/// Like the headless client: the ID as one line on stdout, for scripts and tests.
pub fn print_id(id: &PeerId) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{id}");
    let _ = out.flush();
}
