//! IDs are stable: a client that claimed an ID gets it back after a restart (its token is
//! remembered), and nobody else can take it.

use voicecall_lab::support;

use std::time::Duration;

use support::{Client, Server};

#[test]
fn a_claimed_id_survives_a_restart_and_cannot_be_hijacked() {
    let server = Server::start();
    let home = tempfile::tempdir().expect("tempdir");
    let config = home.path().to_str().expect("path");
    let listen = |dir: &str| {
        Client::spawn(&[
            "listen",
            "--server",
            &server.url,
            "--id",
            "alice-test",
            "--config-dir",
            dir,
            "--bind",
            "127.0.0.1",
            "--input",
            "silence",
            "--output",
            "discard",
        ])
    };

    let mut first = listen(config);
    assert_eq!(first.id, "alice-test");
    let registered = first.wait_for(Duration::from_secs(5), |e| e["event"] == "registered");
    assert_eq!(registered["reclaimed"], false);
    assert!(
        std::fs::read_to_string(home.path().join("identity.json"))
            .expect("identity remembered")
            .contains("alice-test")
    );

    // Someone else (without the token) tries to take the ID while it is online.
    let intruder_home = tempfile::tempdir().expect("tempdir");
    let intruder = std::process::Command::new(env!("CARGO_BIN_EXE_voicecall"))
        .args([
            "listen",
            "--server",
            &server.url,
            "--id",
            "alice-test",
            "--config-dir",
            intruder_home.path().to_str().expect("path"),
            "--input",
            "silence",
            "--output",
            "discard",
        ])
        .output()
        .expect("run intruder");
    assert_eq!(intruder.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&intruder.stderr);
    assert!(
        stderr.contains("ID_TAKEN") || stderr.contains("taken"),
        "{stderr}"
    );

    // The owner crashes and comes back: same ID, reclaimed with the remembered token.
    first.kill();
    let mut second = listen(config);
    assert_eq!(second.id, "alice-test");
    let registered = second.wait_for(Duration::from_secs(5), |e| e["event"] == "registered");
    assert_eq!(registered["reclaimed"], true, "{registered}");
}
