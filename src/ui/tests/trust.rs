//! Contacts, names on every call screen, the security code with "Codes match", and the
//! warning when a verified contact's key changed.

use super::*;
use crate::ui::screen::{contacts, ended};
use voicecall_core::contacts::{CONTACTS_FILE, ContactStore, Trust};
use voicecall_core::sas::{Fingerprint, Nonce, SasCode, Unverifiable, Verification};

impl Harness {
    /// Whether some text on screen contains `part` (for long sentences).
    fn shows_containing(&self, part: &str) -> bool {
        let mut ui = simulator(self.app.view());
        ui.find(
            |candidate: iced_test::selector::Candidate<'_>| match candidate {
                iced_test::selector::Candidate::Text { content, .. } if content.contains(part) => {
                    Some(())
                }
                _ => None,
            },
        )
        .is_ok()
    }
}

fn fp(value: &str) -> Fingerprint {
    Fingerprint::parse(&format!("SHA-256 {value}")).expect("fingerprint")
}

fn code() -> SasCode {
    SasCode::derive(
        &fp("AA"),
        &fp("BB"),
        &Nonce::from_bytes([1; 32]),
        &Nonce::from_bytes([2; 32]),
    )
}

fn certificate(value: &str) -> EngineEvent {
    EngineEvent::PeerCertificate {
        peer: peer(PEER),
        fingerprint: fp(value),
    }
}

fn stored(h: &Harness) -> ContactStore {
    ContactStore::load(h.dir.path()).expect("contacts file")
}

/// A harness whose contacts file already holds `PEER` as "Bob", pinned to `pinned`.
fn with_bob(pinned: Option<&str>) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = ContactStore::load(dir.path()).expect("store");
    store.save(&peer(PEER), "Bob").expect("saved");
    if let Some(value) = pinned {
        store
            .verify(&peer(PEER), &fp(value), "Bob")
            .expect("pinned");
    }
    let mut h = Harness::with(dir, Overrides::default(), false);
    h.event(EngineEvent::Registered {
        id: peer(ME),
        token: "token-of-me-123456".into(),
        reclaimed: false,
    });
    h
}

#[test]
fn a_recent_id_saved_with_a_name_is_shown_by_name_on_every_call_screen() {
    let mut h = Harness::online();
    h.type_peer_id(PEER);
    h.click("Call");
    h.event(ended(EndReason::Declined));
    h.send(Message::Ended(ended::Message::Dismiss));
    assert!(h.shows(PEER), "in Recent");

    h.click("Save");
    assert!(
        matches!(h.app.screen, Screen::Contacts(_)),
        "Contacts, adding the ID"
    );
    h.interact(|ui| {
        ui.click(contacts::NAME_INPUT).expect("the name field");
        ui.typewrite("Bob");
    });
    h.click("Save");
    assert_eq!(
        stored(&h).name_of(&peer(PEER)),
        Some("Bob"),
        "saved in the config dir"
    );
    assert!(h.shows("Bob") && h.shows("not verified"));
    h.click("Back");
    assert!(h.shows(&format!("Bob · {PEER}")), "Home's Recent by name");

    h.phase(outgoing(true));
    assert!(h.shows(&format!("Calling Bob ({PEER})…")));
    assert_eq!(h.title(), "voicecall — calling Bob");
    h.event(ended(EndReason::Busy));
    assert!(h.shows(&format!("Call with Bob ({PEER}) ended")));
    h.phase(incoming());
    assert!(h.shows("Bob") && h.shows(PEER));
    assert_eq!(h.title(), "voicecall — Bob is calling");
    h.phase(in_call(Instant::now(), false));
    assert!(h.shows("Bob"));
    assert_eq!(h.title(), "voicecall — in call with Bob");
}

#[test]
fn contacts_are_renamed_forgotten_and_removed_on_their_screen() {
    let mut h = with_bob(Some("AA"));
    h.click("Contacts");
    assert!(h.shows("Bob") && h.shows("verified"));
    h.click("Rename");
    h.send(Message::Contacts(contacts::Message::EditName(
        "Robert".into(),
    )));
    h.click("Save");
    assert_eq!(stored(&h).name_of(&peer(PEER)), Some("Robert"));
    h.click("Forget key");
    assert_eq!(stored(&h).trust(&peer(PEER), &fp("AA")), Trust::Unverified);
    // A bad name is refused with the reason, and nothing changes.
    h.click("Rename");
    h.send(Message::Contacts(contacts::Message::EditName("  ".into())));
    h.click("Save");
    assert!(h.shows("a name must not be empty"));
    assert_eq!(stored(&h).name_of(&peer(PEER)), Some("Robert"));
    h.click("Cancel");
    h.click("Remove");
    assert_eq!(stored(&h).name_of(&peer(PEER)), None);
    assert!(h.shows("No contacts yet. Save someone from Recent on Home, or add an ID below."));
    // Adding by ID: a bad ID is refused.
    h.send(Message::Contacts(contacts::Message::NewId(
        "NOT AN ID!".into(),
    )));
    h.send(Message::Contacts(contacts::Message::NewName("X".into())));
    h.click("Save");
    assert!(
        h.shows("peer ID \"not an id!\" may only contain a–z, 0–9 and '-' (not at either end)")
    );
    h.send(Message::Shortcut(Shortcut::Escape));
    assert!(matches!(h.app.screen, Screen::Home));
}

#[test]
fn codes_match_verifies_the_contact_and_pins_its_key() {
    let mut h = Harness::online();
    h.phase(Phase::Connecting {
        peer: peer(PEER),
        call_id: None,
        role: Role::Caller,
        since: Instant::now(),
    });
    h.event(certificate("AA"));
    assert!(h.shows("Security code: waiting for both halves…"));
    h.event(EngineEvent::Verification(Verification::Code(code())));
    h.phase(in_call(Instant::now(), false));
    assert!(h.shows(&format!(
        "Security code {} — read it out; it must match your peer's",
        code()
    )));
    assert!(h.shows("If the codes differ, hang up: someone may be listening in."));
    h.click("Codes match");
    let store = stored(&h);
    assert_eq!(store.trust(&peer(PEER), &fp("AA")), Trust::Verified);
    assert_eq!(
        store.name_of(&peer(PEER)),
        Some(PEER),
        "saved under its ID, to be named"
    );
    assert!(h.shows(&format!("Marked {PEER} as verified")));
    assert!(!h.shows("Codes match"), "once is enough");

    // The next call with the same key says so; no button, no warning.
    h.event(ended(EndReason::HungUp));
    h.event(certificate("AA"));
    h.phase(incoming());
    assert!(h.shows(&format!(
        "Verified: this is the key you confirmed with {PEER}"
    )));
}

#[test]
fn a_verified_contact_with_another_key_is_warned_about_before_accepting() {
    let mut h = with_bob(Some("AA"));
    h.event(certificate("EE"));
    h.phase(incoming());
    assert!(
        h.shows_containing("Warning: Bob's security key is not the one you verified."),
        "the warning shows while it rings"
    );
    assert!(h.shows("Accept"), "the person decides");
    h.click("Accept");
    assert_eq!(h.sent(), vec![UserCommand::Accept]);
    h.event(EngineEvent::Verification(Verification::Code(code())));
    h.phase(in_call(Instant::now(), false));
    // In the call: the warning, and re-verification by comparing the code again.
    assert!(h.shows("Codes match"));
    h.click("Codes match");
    assert_eq!(stored(&h).trust(&peer(PEER), &fp("EE")), Trust::Verified);
}

#[test]
fn a_call_without_a_code_says_why() {
    let mut h = Harness::online();
    h.event(certificate("AA"));
    h.event(EngineEvent::Verification(Verification::NotVerifiable(
        Unverifiable::PeerWithoutCommitment,
    )));
    h.phase(in_call(Instant::now(), false));
    assert!(h.shows(
        "No security code for this call: the other app is an older version (or someone removed its part on the way)"
    ));
    assert!(!h.shows("Codes match"));
}

#[test]
fn a_damaged_contacts_file_is_reported_and_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(CONTACTS_FILE), "{not json").expect("write");
    let mut h = Harness::with(dir, Overrides::default(), false);
    assert!(
        h.app
            .notices
            .lines()
            .iter()
            .any(|l| l.contains("contacts.json is damaged")),
        "{:?}",
        h.app.notices.lines()
    );
    h.send(Message::Home(home::Message::OpenContacts));
    h.send(Message::Contacts(contacts::Message::NewId(PEER.into())));
    h.send(Message::Contacts(contacts::Message::NewName("Bob".into())));
    h.send(Message::Contacts(contacts::Message::Add));
    assert!(h.shows_containing("fix or remove it to save contacts"));
    assert_eq!(
        std::fs::read_to_string(h.dir.path().join(CONTACTS_FILE)).expect("kept"),
        "{not json"
    );
}

#[test]
fn the_engine_gets_the_same_certificate_every_start() {
    let mut h = Harness::online();
    h.send(Message::RestartEngine);
    let configs = lock(&h.configs);
    let first = configs[0].rtc.identity.as_ref().expect("an identity");
    let second = configs[1].rtc.identity.as_ref().expect("an identity");
    assert_eq!(first.fingerprint(), second.fingerprint());
    assert!(
        h.dir
            .path()
            .join(voicecall_engine::rtc::IDENTITY_FILE)
            .exists()
    );
}
