//! A real call end to end: the Node signaling server, two `voicecall` processes, DTLS-SRTP
//! over loopback, and the audio checked at the far end.

use std::time::Duration;

use voicecall_lab::support::{Client, Conversation, Server, expect_caller_hung_up};

/// Port 9 (discard) is closed on loopback.
const DEAD_SERVER: &str = "http://127.0.0.1:9";

#[test]
fn two_clients_talk_both_ways_and_hear_each_other() {
    let server = Server::start();
    let talk = Conversation::new("two_way_call");
    let mut callee = Client::listen(&server)
        .auto_accept()
        .once()
        .talks_as(&talk.callee)
        .spawn();
    let mut caller = Client::call(&server, &callee.id)
        .hang_up_after(Duration::from_secs(8))
        .talks_as(&talk.caller)
        .spawn();

    expect_caller_hung_up(&mut caller, &mut callee, Duration::from_secs(40));
    // Real frames went both ways (8 s of call = ~400 frames; allow for setup). DTX leaves
    // the pauses between sentences unsent, so fewer packets arrive than frames are encoded.
    for end in [caller.ended(), callee.ended()] {
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
            .selected_path()
            .expect("a stats event with the selected path");
        assert_eq!(path["rtc"]["local_candidate"], "host", "{path}");
        // The far end may first be seen in a connectivity check (peer-reflexive) before its
        // trickled host candidate arrives; both mean the direct loopback path.
        let remote = path["rtc"]["remote_candidate"].as_str().unwrap_or("");
        assert!(remote == "host" || remote == "prflx", "{path}");
    }

    talk.assert_both_heard();
}

#[test]
fn declined_call_ends_declined_and_the_callee_never_opens_its_microphone() {
    let server = Server::start();
    let talk = Conversation::new("declined_call");
    let mut callee = Client::listen(&server)
        .auto_decline()
        .once()
        .talks_as(&talk.callee)
        .spawn();
    let mut caller = Client::call(&server, &callee.id)
        .input(&talk.caller.says)
        .spawn();
    let status = caller.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(3), "declined is a failed call");
    assert!(
        caller.stderr().contains("declined"),
        "stderr: {}",
        caller.stderr()
    );
    assert_eq!(caller.ended()["reason"], "declined");

    callee.expect_exit_ok(Duration::from_secs(10));
    let callee_end = callee.ended();
    assert_eq!(callee_end["reason"], "declined_locally");
    // No media session ever ran on the callee: no frames, no recording.
    assert!(callee_end["media"].is_null(), "{callee_end}");
    assert!(callee.event("media_started").is_none());
    assert!(
        !talk.callee.heard.exists(),
        "the callee opened its audio devices"
    );
}

#[test]
fn calling_an_unknown_peer_ends_with_peer_not_found_after_the_offline_wait() {
    // The server answers unknown IDs like offline ones, after OFFLINE_QUEUE_MS (it is no
    // oracle of who exists); a short wait keeps the test quick.
    let queue = Duration::from_millis(500);
    let server = Server::builder()
        .env("OFFLINE_QUEUE_MS", queue.as_millis().to_string())
        .start();
    let mut caller = Client::call(&server, "zzz-zzz-zzz").spawn();
    // Well inside the 45 s a call rings unanswered: the server's answer ended it.
    let status = caller.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(3));
    assert_eq!(caller.ended()["reason"], "peer_not_found");
    assert!(
        caller.stderr().contains("peer not found"),
        "{}",
        caller.stderr()
    );
    // Straight from dialling to the end: it never rang.
    let phases: Vec<&str> = caller
        .events_named("phase")
        .filter_map(|e| e["phase"].as_str())
        .collect();
    assert_eq!(phases, ["outgoing", "ended"], "{:#?}", caller.events);
}

#[test]
fn a_dead_server_is_a_one_line_error() {
    let output = Client::call(DEAD_SERVER, "abc-def-ghj").run();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unreachable"), "{stderr}");
    assert!(output.stdout.is_empty(), "no ID without a server");
}

#[test]
fn bad_arguments_are_rejected_before_connecting() {
    let bad_peer = Client::call(DEAD_SERVER, "NOT AN ID!").run();
    assert_eq!(bad_peer.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_peer.stderr).contains("peer ID"));

    let missing_wav = Client::call(DEAD_SERVER, "abc-def-ghj")
        .input("/nonexistent/x.wav")
        .run();
    assert_eq!(missing_wav.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing_wav.stderr).contains("does not exist"));
}
