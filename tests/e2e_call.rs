//! A real call end to end: the Node signaling server, two `voicecall` processes, DTLS-SRTP
//! over loopback, and the audio checked at the far end.

use voicecall_lab::support;

use std::time::{Duration, Instant};

use support::{Client, Server, asset, compare_with_reference, output_dir};

const LOOPBACK: &str = "127.0.0.1";

#[test]
fn two_clients_talk_both_ways_and_hear_each_other() {
    let server = Server::start();
    let out = output_dir("two_way_call");
    let callee_rec = out.join("callee-heard.wav");
    let caller_rec = out.join("caller-heard.wav");
    let speech_a = asset("speech-a.wav");
    let speech_b = asset("speech-b.wav");

    let mut callee = Client::spawn(&[
        "listen",
        "--server",
        &server.url,
        "--bind",
        LOOPBACK,
        "--auto-accept",
        "--once",
        "--input",
        speech_b.to_str().expect("path"),
        "--output",
        callee_rec.to_str().expect("path"),
    ]);
    let mut caller = Client::spawn(&[
        "call",
        &callee.id,
        "--server",
        &server.url,
        "--bind",
        LOOPBACK,
        "--duration",
        "8s",
        "--input",
        speech_a.to_str().expect("path"),
        "--output",
        caller_rec.to_str().expect("path"),
    ]);

    let caller_status = caller.wait_exit(Duration::from_secs(40));
    let callee_status = callee.wait_exit(Duration::from_secs(15));
    assert!(
        caller_status.success(),
        "caller failed: {}",
        caller.stderr()
    );
    assert!(
        callee_status.success(),
        "callee failed: {}",
        callee.stderr()
    );

    let caller_end = caller.event("ended").expect("caller ended event");
    let callee_end = callee.event("ended").expect("callee ended event");
    assert_eq!(caller_end["reason"], "hangup");
    assert_eq!(callee_end["reason"], "remote_hangup");
    // Real frames went both ways (8 s of call = ~400 frames; allow for setup). DTX leaves
    // the pauses between sentences unsent, so fewer packets arrive than frames are encoded.
    for end in [caller_end, callee_end] {
        let media = &end["media"];
        let count = |k: &str| media[k].as_u64().unwrap_or(0);
        assert!(
            count("frames_sent") + count("frames_unsent_dtx") > 300,
            "{end}"
        );
        assert!(count("packets_received") > 200, "{end}");
    }

    // Both ends derived the same verification code from the DTLS fingerprints.
    let code = |c: &Client| c.event("verification").map(|e| e["code"].clone());
    assert!(code(&caller).is_some_and(|c| c.as_str().is_some_and(|s| s.len() == 7)));
    assert_eq!(code(&caller), code(&callee));
    // On loopback the media path is direct: host candidates at both ends.
    for client in [&caller, &callee] {
        let path = client
            .events
            .iter()
            .find(|e| e["event"] == "stats" && !e["rtc"]["local_candidate"].is_null())
            .expect("a stats event with the selected path");
        assert_eq!(path["rtc"]["local_candidate"], "host", "{path}");
        // The far end may first be seen in a connectivity check (peer-reflexive) before its
        // trickled host candidate arrives; both mean the direct loopback path.
        let remote = path["rtc"]["remote_candidate"].as_str().unwrap_or("");
        assert!(remote == "host" || remote == "prflx", "{path}");
    }

    let heard_by_callee = compare_with_reference(&speech_a, &callee_rec);
    let heard_by_caller = compare_with_reference(&speech_b, &caller_rec);
    assert!(
        heard_by_callee.passes(0.9, 0.9),
        "callee did not hear the caller's speech: {heard_by_callee:?}"
    );
    assert!(
        heard_by_caller.passes(0.9, 0.9),
        "caller did not hear the callee's speech: {heard_by_caller:?}"
    );
}

#[test]
fn declined_call_ends_declined_and_the_callee_never_opens_its_microphone() {
    let server = Server::start();
    let out = output_dir("declined_call");
    let callee_rec = out.join("callee-heard.wav");
    let mut callee = Client::spawn(&[
        "listen",
        "--server",
        &server.url,
        "--bind",
        LOOPBACK,
        "--auto-decline",
        "--once",
        "--input",
        asset("speech-b.wav").to_str().expect("path"),
        "--output",
        callee_rec.to_str().expect("path"),
    ]);
    let mut caller = Client::spawn(&[
        "call",
        &callee.id,
        "--server",
        &server.url,
        "--bind",
        LOOPBACK,
        "--input",
        asset("speech-a.wav").to_str().expect("path"),
        "--output",
        "discard",
    ]);
    let status = caller.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(3), "declined is a failed call");
    assert!(
        caller.stderr().contains("declined"),
        "stderr: {}",
        caller.stderr()
    );
    assert_eq!(caller.event("ended").expect("ended")["reason"], "declined");

    assert!(callee.wait_exit(Duration::from_secs(10)).success());
    let callee_end = callee.event("ended").expect("callee ended");
    assert_eq!(callee_end["reason"], "declined_locally");
    // No media session ever ran on the callee: no frames, no recording.
    assert!(callee_end["media"].is_null(), "{callee_end}");
    assert!(callee.event("media_started").is_none());
    assert!(!callee_rec.exists(), "the callee opened its audio devices");
}

#[test]
fn calling_an_unknown_peer_fails_fast_with_peer_not_found() {
    let server = Server::start();
    let mut caller = Client::spawn(&[
        "call",
        "zzz-zzz-zzz",
        "--server",
        &server.url,
        "--bind",
        LOOPBACK,
        "--input",
        "silence",
        "--output",
        "discard",
    ]);
    let started = Instant::now();
    let status = caller.wait_exit(Duration::from_secs(10));
    let elapsed = started.elapsed();
    assert_eq!(status.code(), Some(3));
    assert_eq!(
        caller.event("ended").expect("ended")["reason"],
        "peer_not_found"
    );
    assert!(
        caller.stderr().contains("peer not found"),
        "{}",
        caller.stderr()
    );
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

#[test]
fn a_dead_server_is_a_one_line_error() {
    // Port 9 (discard) is closed on loopback.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_voicecall"))
        .args([
            "call",
            "abc-def-ghj",
            "--server",
            "http://127.0.0.1:9",
            "--input",
            "silence",
            "--output",
            "discard",
        ])
        .output()
        .expect("run voicecall");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unreachable"), "{stderr}");
    assert!(output.stdout.is_empty(), "no ID without a server");
}

#[test]
fn bad_arguments_are_rejected_before_connecting() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_voicecall"))
            .args(args)
            .output()
            .expect("run voicecall")
    };
    let bad_peer = run(&["call", "NOT AN ID!", "--server", "http://127.0.0.1:9"]);
    assert_eq!(bad_peer.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_peer.stderr).contains("peer ID"));

    let missing_wav = run(&[
        "call",
        "abc-def-ghj",
        "--server",
        "http://127.0.0.1:9",
        "--input",
        "/nonexistent/x.wav",
    ]);
    assert_eq!(missing_wav.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing_wav.stderr).contains("does not exist"));
}
