//! The contact book: names for IDs and the certificates verified contacts are pinned to
//! (`voicecall_core::contacts`, which decides everything). A damaged `contacts.json` is
//! reported once and left alone; the app then runs without contacts.

use std::path::Path;

use voicecall_core::contacts::{Contact, ContactStore, ContactsError, Trust};
use voicecall_core::id::PeerId;
use voicecall_core::sas::Fingerprint;

#[derive(Debug)]
pub struct ContactBook {
    store: ContactStore,
}

impl ContactBook {
    /// The saved contacts, or none and a problem to show.
    pub fn load(dir: &Path) -> (Self, Option<String>) {
        let (store, problem) = ContactStore::load_or_empty(dir);
        let mut problems: Vec<String> = problem.iter().map(ContactsError::to_string).collect();
        if let [first, ..] = store.unreadable() {
            problems.push(format!(
                "{} saved contact(s) could not be read and were left as they are (first: {})",
                store.unreadable().len(),
                first.reason
            ));
        }
        let problem = (!problems.is_empty()).then(|| problems.join("; "));
        (Self { store }, problem)
    }

    pub fn store(&self) -> &ContactStore {
        &self.store
    }

    pub fn name_of(&self, id: &PeerId) -> Option<String> {
        self.store.name_of(id).map(str::to_owned)
    }

    /// "Alice", or the ID for someone not saved.
    pub fn label(&self, id: &PeerId) -> String {
        self.name_of(id).unwrap_or_else(|| id.to_string())
    }

    pub fn list(&self) -> Vec<&Contact> {
        self.store.list()
    }

    pub fn trust(&self, id: &PeerId, fingerprint: &Fingerprint) -> Trust {
        self.store.trust(id, fingerprint)
    }

    pub fn save(&mut self, id: &PeerId, name: &str) -> Result<(), String> {
        self.store.save(id, name).map_err(|e| e.to_string())
    }

    pub fn remove(&mut self, id: &PeerId) -> Result<(), String> {
        self.store.remove(id).map(|_| ()).map_err(|e| e.to_string())
    }

    pub fn unverify(&mut self, id: &PeerId) -> Result<(), String> {
        self.store.unverify(id).map_err(|e| e.to_string())
    }

    /// Both people said the codes match: pin `fingerprint` (saving `id` under its ID as
    /// name if it is not a contact yet; the name can be changed on the Contacts screen).
    pub fn verify(&mut self, id: &PeerId, fingerprint: &Fingerprint) -> Result<(), String> {
        self.store
            .verify(id, fingerprint, id.as_str())
            .map_err(|e| format!("Could not mark {id} as verified: {e}"))
    }
}
