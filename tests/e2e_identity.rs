//! IDs are stable: a client that claimed an ID gets it back after a restart (its token is
//! remembered), and nobody else can take it.

use std::time::Duration;

use voicecall_lab::support::{Client, Server};

#[test]
fn a_claimed_id_survives_a_restart_and_cannot_be_hijacked() {
    let server = Server::start();
    let home = tempfile::tempdir().expect("tempdir");
    let alice = || Client::listen(&server).id("alice-test");

    let mut first = alice().config_dir(home.path()).spawn();
    assert_eq!(first.id, "alice-test");
    let registered = first.wait_event("registered", Duration::from_secs(5));
    assert_eq!(registered["reclaimed"], false);
    assert!(
        std::fs::read_to_string(home.path().join("identity.json"))
            .expect("identity remembered")
            .contains("alice-test")
    );

    // Someone else (without the token) tries to take the ID while it is online.
    let intruder_home = tempfile::tempdir().expect("tempdir");
    let intruder = alice().config_dir(intruder_home.path()).run();
    assert_eq!(intruder.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&intruder.stderr);
    assert!(
        stderr.contains("ID_TAKEN") || stderr.contains("taken"),
        "{stderr}"
    );

    // The owner crashes and comes back: same ID, reclaimed with the remembered token.
    first.kill();
    let mut second = alice().config_dir(home.path()).spawn();
    assert_eq!(second.id, "alice-test");
    let registered = second.wait_event("registered", Duration::from_secs(5));
    assert_eq!(registered["reclaimed"], true, "{registered}");
}
