//! People saved by name (`contacts.json` in the config dir), and the certificate a verified
//! contact is pinned to: trust on first *verified* use, like SSH's known_hosts or Signal's
//! safety numbers. A contact is pinned only when both people said their security codes
//! matched; from then on a different certificate under that ID is reported, never accepted
//! silently.
//!
//! The file is the person's data: a damaged entry is kept as it was (and written back
//! untouched), a damaged file is never overwritten.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::config::write_private;
use crate::id::PeerId;
use crate::sas::Fingerprint;

pub const CONTACTS_FILE: &str = "contacts.json";
/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: PeerId,
    pub name: String,
    /// The peer's certificate when both people confirmed matching codes.
    pub verified: Option<Fingerprint>,
}

/// How far this call's certificate can be trusted, from what we know of the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Not a contact.
    Stranger,
    /// A contact whose codes were never confirmed: nothing to compare with.
    Unverified,
    /// The certificate the two people verified.
    Verified,
    /// A verified contact, another certificate: a new installation — or someone else.
    Changed { pinned: Fingerprint },
}

impl Trust {
    /// Stable machine-readable form (`--json`).
    pub fn code(&self) -> &'static str {
        match self {
            Trust::Stranger => "stranger",
            Trust::Unverified => "unverified",
            Trust::Verified => "verified",
            Trust::Changed { .. } => "changed",
        }
    }

    /// What to tell the person about a call with `who`, when there is something to say.
    pub fn warning(&self, who: &str) -> Option<String> {
        match self {
            Trust::Changed { .. } => Some(format!(
                "Warning: {who}'s security key is not the one you verified. It may be a new \
                 installation of their app, or someone pretending to be {who}. Compare the \
                 security code out loud again; trust this call only if it matches."
            )),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContactsError {
    #[error("cannot read or write {path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("{path} is damaged ({reason}); it is left as it is: fix or remove it to save contacts")]
    Damaged { path: PathBuf, reason: String },
    #[error("a name must not be empty")]
    EmptyName,
    #[error("a name may have at most {MAX_NAME_CHARS} characters")]
    LongName,
    #[error("a name may not contain control characters")]
    NameCharacters,
    #[error("{0} is not a contact")]
    NotAContact(PeerId),
}

/// An entry of the file that could not be read as a contact: kept for writing back.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    pub entry: Value,
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct File {
    version: u32,
    contacts: Vec<Value>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    id: String,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verified_fingerprint: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ContactStore {
    path: PathBuf,
    contacts: BTreeMap<PeerId, Contact>,
    unreadable: Vec<Unreadable>,
    /// Why nothing may be written (the file is damaged or unreadable).
    read_only: Option<ContactsError>,
}

impl ContactStore {
    /// The contacts in `dir`; none if there is no file yet. A file that cannot be read or
    /// parsed is an error, and nothing else in `dir` is touched.
    pub fn load(dir: &Path) -> Result<Self, ContactsError> {
        let path = dir.join(CONTACTS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::empty(path, None));
            }
            Err(e) => {
                return Err(ContactsError::Io {
                    path,
                    reason: e.to_string(),
                });
            }
        };
        let file: File = serde_json::from_str(&text).map_err(|e| ContactsError::Damaged {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let mut store = Self::empty(path, None);
        for entry in file.contacts {
            match parse_entry(&entry) {
                Ok(contact) if !store.contacts.contains_key(&contact.id) => {
                    store.contacts.insert(contact.id.clone(), contact);
                }
                Ok(contact) => store.unreadable.push(Unreadable {
                    entry,
                    reason: format!("{} is listed twice", contact.id),
                }),
                Err(reason) => store.unreadable.push(Unreadable { entry, reason }),
            }
        }
        Ok(store)
    }

    /// [`ContactStore::load`], or — when that fails — an empty store that refuses to write
    /// (so the damaged file survives), with the error to show.
    pub fn load_or_empty(dir: &Path) -> (Self, Option<ContactsError>) {
        match Self::load(dir) {
            Ok(store) => (store, None),
            Err(err) => (
                Self::empty(dir.join(CONTACTS_FILE), Some(err.clone())),
                Some(err),
            ),
        }
    }

    fn empty(path: PathBuf, read_only: Option<ContactsError>) -> Self {
        Self {
            path,
            contacts: BTreeMap::new(),
            unreadable: Vec::new(),
            read_only,
        }
    }

    /// Entries of the file that are not contacts (kept, and written back as they were).
    pub fn unreadable(&self) -> &[Unreadable] {
        &self.unreadable
    }

    pub fn get(&self, id: &PeerId) -> Option<&Contact> {
        self.contacts.get(id)
    }

    pub fn name_of(&self, id: &PeerId) -> Option<&str> {
        self.get(id).map(|c| c.name.as_str())
    }

    /// Every contact, by name (then ID).
    pub fn list(&self) -> Vec<&Contact> {
        let mut all: Vec<&Contact> = self.contacts.values().collect();
        all.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then_with(|| a.id.cmp(&b.id))
        });
        all
    }

    /// What `fingerprint` means for a call with `id`.
    pub fn trust(&self, id: &PeerId, fingerprint: &Fingerprint) -> Trust {
        match self.get(id) {
            None => Trust::Stranger,
            Some(Contact { verified: None, .. }) => Trust::Unverified,
            Some(Contact {
                verified: Some(pinned),
                ..
            }) if pinned == fingerprint => Trust::Verified,
            Some(Contact {
                verified: Some(pinned),
                ..
            }) => Trust::Changed {
                pinned: pinned.clone(),
            },
        }
    }

    /// Saves `id` under `name` (a new contact, or a new name for one).
    pub fn save(&mut self, id: &PeerId, name: &str) -> Result<(), ContactsError> {
        let name = valid_name(name)?;
        let mut next = self.contacts.clone();
        next.entry(id.clone())
            .and_modify(|c| c.name = name.clone())
            .or_insert_with(|| Contact {
                id: id.clone(),
                name,
                verified: None,
            });
        self.commit(next)
    }

    /// Forgets `id`; false if it was not a contact.
    pub fn remove(&mut self, id: &PeerId) -> Result<bool, ContactsError> {
        let mut next = self.contacts.clone();
        if next.remove(id).is_none() {
            return Ok(false);
        }
        self.commit(next).map(|()| true)
    }

    /// The two people confirmed matching codes with `fingerprint`: pin it (replacing an
    /// earlier pin: re-verification). Someone not yet a contact is saved under `name`.
    pub fn verify(
        &mut self,
        id: &PeerId,
        fingerprint: &Fingerprint,
        name: &str,
    ) -> Result<(), ContactsError> {
        let mut next = self.contacts.clone();
        let contact = match next.get_mut(id) {
            Some(contact) => contact,
            None => next.entry(id.clone()).or_insert(Contact {
                id: id.clone(),
                name: valid_name(name)?,
                verified: None,
            }),
        };
        contact.verified = Some(fingerprint.clone());
        self.commit(next)
    }

    /// Drops `id`'s pin (it stays a contact).
    pub fn unverify(&mut self, id: &PeerId) -> Result<(), ContactsError> {
        let mut next = self.contacts.clone();
        let contact = next
            .get_mut(id)
            .ok_or_else(|| ContactsError::NotAContact(id.clone()))?;
        contact.verified = None;
        self.commit(next)
    }

    /// Writes `next` and only then makes it current: a failed write changes nothing.
    fn commit(&mut self, next: BTreeMap<PeerId, Contact>) -> Result<(), ContactsError> {
        if let Some(why) = &self.read_only {
            return Err(why.clone());
        }
        let mut entries: Vec<Value> = next.values().map(entry_json).collect();
        entries.extend(self.unreadable.iter().map(|u| u.entry.clone()));
        let file = File {
            version: 1,
            contacts: entries,
        };
        let io = |reason: String| ContactsError::Io {
            path: self.path.clone(),
            reason,
        };
        let text = serde_json::to_string_pretty(&file).map_err(|e| io(e.to_string()))?;
        write_private(&self.path, &text).map_err(|e| io(e.to_string()))?;
        self.contacts = next;
        Ok(())
    }
}

fn valid_name(name: &str) -> Result<String, ContactsError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ContactsError::EmptyName);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ContactsError::LongName);
    }
    if name.chars().any(char::is_control) {
        return Err(ContactsError::NameCharacters);
    }
    Ok(name.to_owned())
}

fn parse_entry(value: &Value) -> Result<Contact, String> {
    let entry: Entry = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    let id = PeerId::parse(&entry.id).map_err(|e| e.to_string())?;
    let name = valid_name(&entry.name).map_err(|e| format!("{id}: {e}"))?;
    let verified = match entry.verified_fingerprint {
        None => None,
        Some(raw) => Some(
            Fingerprint::parse(&raw)
                .ok_or_else(|| format!("{id}: the verified fingerprint is empty"))?,
        ),
    };
    Ok(Contact { id, name, verified })
}

fn entry_json(contact: &Contact) -> Value {
    serde_json::to_value(Entry {
        id: contact.id.to_string(),
        name: contact.name.clone(),
        verified_fingerprint: contact.verified.as_ref().map(|f| f.as_str().to_owned()),
    })
    .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> PeerId {
        PeerId::parse(s).expect("id")
    }

    fn fp(s: &str) -> Fingerprint {
        Fingerprint::parse(s).expect("fingerprint")
    }

    #[test]
    fn contacts_are_saved_renamed_removed_and_survive_a_reload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = ContactStore::load(dir.path()).expect("no file yet");
        assert!(store.list().is_empty());
        store.save(&id("bob-1"), "  Bob ").expect("saved");
        store.save(&id("alice-1"), "alice").expect("saved");
        store.save(&id("bob-1"), "Bobby").expect("renamed");
        let again = ContactStore::load(dir.path()).expect("reload");
        let names: Vec<&str> = again.list().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["alice", "Bobby"]);
        assert_eq!(again.name_of(&id("bob-1")), Some("Bobby"));
        assert!(store.remove(&id("bob-1")).expect("removed"));
        assert!(!store.remove(&id("bob-1")).expect("already gone"));
        assert_eq!(
            ContactStore::load(dir.path())
                .expect("reload")
                .name_of(&id("bob-1")),
            None
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(CONTACTS_FILE))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn names_are_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = ContactStore::load(dir.path()).expect("store");
        assert_eq!(
            store.save(&id("bob-1"), "  "),
            Err(ContactsError::EmptyName)
        );
        assert_eq!(
            store.save(&id("bob-1"), &"x".repeat(65)),
            Err(ContactsError::LongName)
        );
        assert_eq!(
            store.save(&id("bob-1"), "Bob\nAdmin"),
            Err(ContactsError::NameCharacters)
        );
        store
            .save(&id("bob-1"), &"é".repeat(64))
            .expect("64 characters");
        assert!(
            !dir.path().join("contacts.tmp").exists(),
            "no temporary file left"
        );
    }

    #[test]
    fn trust_follows_the_pin() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = ContactStore::load(dir.path()).expect("store");
        let (bob, key, other) = (id("bob-1"), fp("SHA-256 AA"), fp("SHA-256 BB"));
        assert_eq!(store.trust(&bob, &key), Trust::Stranger);
        store.save(&bob, "Bob").expect("saved");
        assert_eq!(store.trust(&bob, &key), Trust::Unverified);
        store.verify(&bob, &key, "ignored").expect("pinned");
        assert_eq!(store.trust(&bob, &key), Trust::Verified);
        let changed = store.trust(&bob, &other);
        assert_eq!(
            changed,
            Trust::Changed {
                pinned: key.clone()
            }
        );
        let warning = changed.warning("Bob").expect("a warning");
        assert!(warning.contains("Bob's security key is not the one you verified"));
        assert_eq!(Trust::Verified.warning("Bob"), None);
        // Re-verifying pins the new key; the name stays.
        store.verify(&bob, &other, "ignored").expect("re-pinned");
        let reloaded = ContactStore::load(dir.path()).expect("reload");
        assert_eq!(reloaded.trust(&bob, &other), Trust::Verified);
        assert_eq!(reloaded.name_of(&bob), Some("Bob"));
        // Verifying a stranger saves them.
        store
            .verify(&id("carol-1"), &key, "Carol")
            .expect("saved and pinned");
        assert_eq!(store.trust(&id("carol-1"), &key), Trust::Verified);
        store.unverify(&id("carol-1")).expect("unpinned");
        assert_eq!(store.trust(&id("carol-1"), &key), Trust::Unverified);
        assert_eq!(
            store.unverify(&id("dave-1")),
            Err(ContactsError::NotAContact(id("dave-1")))
        );
    }

    #[test]
    fn a_damaged_file_is_a_clear_error_and_is_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(CONTACTS_FILE);
        std::fs::write(dir.path().join("settings.toml"), "relay_only = true\n").expect("write");
        for damaged in ["{nope", "[]", "{\"version\": 1}", ""] {
            std::fs::write(&path, damaged).expect("write");
            let err = ContactStore::load(dir.path()).expect_err(damaged);
            assert!(
                matches!(err, ContactsError::Damaged { .. }),
                "{damaged}: {err}"
            );
            assert!(err.to_string().contains("contacts.json"), "{err}");
            let (mut store, shown) = ContactStore::load_or_empty(dir.path());
            assert_eq!(shown, Some(err.clone()));
            assert_eq!(store.save(&id("bob-1"), "Bob"), Err(err));
            assert_eq!(
                store.name_of(&id("bob-1")),
                None,
                "a failed save changes nothing"
            );
            assert_eq!(std::fs::read_to_string(&path).expect("kept"), damaged);
        }
        assert_eq!(
            std::fs::read_to_string(dir.path().join("settings.toml")).expect("untouched"),
            "relay_only = true\n"
        );
    }

    #[test]
    fn a_damaged_entry_is_kept_and_the_others_still_work() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(CONTACTS_FILE);
        let text = r#"{"version": 1, "contacts": [
            {"id": "bob-1", "name": "Bob", "verified_fingerprint": "SHA-256 AA"},
            {"id": "Not An ID!", "name": "Mallory"},
            {"id": "carol-1"},
            {"id": "bob-1", "name": "Bob again"},
            {"id": "dave-1", "name": "Dave", "verified_fingerprint": " "}
        ]}"#;
        std::fs::write(&path, text).expect("write");
        let mut store = ContactStore::load(dir.path()).expect("loads");
        assert_eq!(store.list().len(), 1);
        assert_eq!(
            store.trust(&id("bob-1"), &fp("SHA-256 AA")),
            Trust::Verified
        );
        let reasons: Vec<&str> = store
            .unreadable()
            .iter()
            .map(|u| u.reason.as_str())
            .collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(
            reasons[0].contains("Not An ID!") || reasons[0].contains("not an id"),
            "{reasons:?}"
        );
        assert!(reasons[1].contains("name"), "{reasons:?}");
        assert!(reasons[2].contains("twice"), "{reasons:?}");
        assert!(reasons[3].contains("fingerprint"), "{reasons:?}");
        store.save(&id("erin-1"), "Erin").expect("saved");
        let again = ContactStore::load(dir.path()).expect("reload");
        assert_eq!(again.list().len(), 2);
        assert_eq!(
            again.unreadable(),
            store.unreadable(),
            "written back as they were"
        );
    }
}
