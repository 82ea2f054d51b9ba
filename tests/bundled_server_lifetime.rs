//! The bundled signaling server that the desktop app starts (in a checkout, with no server
//! set up) dies with the app, even when the app dies without cleaning up: SIGKILL, or an
//! X server that went away. An orphaned server kept port 3000, and the next start found
//! it "already running" with nobody to stop it.
//!
//! Linux only: elsewhere the app stops its server only on a clean exit.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use voicecall_lab::support::netns::{Lab, command_in};
use voicecall_lab::support::{Xvfb, alive, voicecall_bin};

/// How long the killed app's server may take to notice and shut down.
const SERVER_GONE_WITHIN: Duration = Duration::from_secs(10);

#[test]
fn the_bundled_server_dies_when_the_app_is_killed() {
    let display = Xvfb::start().expect("Xvfb");
    // A namespace of its own, so port 3000 there is free whatever else runs on this machine.
    let mut lab = Lab::new("bs");
    let ns = lab.add("app");
    let dir = tempfile::tempdir().expect("temp dir");
    let log_path = dir.path().join("app.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut app = command_in(Some(&ns), voicecall_bin())
        .env("DISPLAY", &display.name)
        .env_remove("WAYLAND_DISPLAY")
        .env("ICED_BACKEND", "tiny-skia")
        // No server set up: the app starts the bundled one from this checkout.
        .env_remove("VOICECALL_SERVER")
        .env_remove("VOICECALL_SERVER_DIR")
        .env("VOICECALL_CONFIG_DIR", dir.path().join("config"))
        .env("VOICECALL_BIND", "127.0.0.1")
        .env("VOICECALL_INPUT", "silence")
        .env("VOICECALL_OUTPUT", "discard")
        .env("RUST_LOG", "warn,webrtc=error,wgpu=error,naga=error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("start the app");
    let app_log = || std::fs::read_to_string(&log_path).unwrap_or_default();

    // It prints its ID once registered: the bundled server runs by then.
    let stdout = app.stdout.take().expect("app stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let id = rx.recv_timeout(Duration::from_secs(40));
    assert!(
        id.is_ok(),
        "the app registered with no bundled server; log:\n{}",
        app_log()
    );
    let servers: Vec<u32> = children_of(app.id())
        .into_iter()
        .filter(|pid| cmdline(*pid).contains("src/index.js"))
        .collect();
    assert_eq!(
        servers.len(),
        1,
        "the app started one bundled server (its children: {:?}); log:\n{}",
        children_of(app.id()),
        app_log()
    );
    let server = servers[0];

    // SIGKILL: no Drop, no signal handler runs in the app.
    app.kill().expect("kill the app");
    app.wait().expect("reap the app");

    let deadline = Instant::now() + SERVER_GONE_WITHIN;
    while alive(server) {
        assert!(
            Instant::now() < deadline,
            "the bundled server (pid {server}) outlived the killed app by {SERVER_GONE_WITHIN:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(lab);
}

/// Processes whose parent is `parent`, from /proc.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent_of(*pid) == Some(parent))
        .collect()
}

/// A process's parent, from /proc/PID/stat (the name in parentheses may hold spaces, so
/// read after its closing one).
fn parent_of(pid: u32) -> Option<u32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = text.get(text.rfind(')')? + 1..)?.split_whitespace();
    fields.nth(1)?.parse().ok()
}

fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .unwrap_or_default()
}

#[test]
fn a_killed_child_is_not_alive() {
    // The check the test above relies on, against a process we control.
    let mut child = Command::new("sleep").arg("30").spawn().expect("sleep");
    assert!(alive(child.id()));
    assert_eq!(parent_of(child.id()), Some(std::process::id()));
    child.kill().expect("kill");
    child.wait().expect("reap");
    assert!(!alive(child.id()));
}
