//! Signaling at scale: two signaling server processes sharing one Redis act as one server.
//! A call between clients on different nodes works, and a client whose node dies moves to
//! the other node with its ID while the call goes on.

use std::time::{Duration, Instant};

use serde_json::Value;
use voicecall_lab::support::cluster::Cluster;
use voicecall_lab::support::{Client, Conversation, expect_caller_hung_up};

/// The callee of every test here: on node 2 only, answering one call.
fn callee_on_node_2(cluster: &Cluster, talk: &Conversation) -> Client {
    Client::listen(&cluster.nodes[1])
        .auto_accept()
        .once()
        .talks_as(&talk.callee)
        .spawn()
}

#[test]
fn a_call_between_clients_on_different_nodes_carries_audio_both_ways() {
    let cluster = Cluster::start();
    let talk = Conversation::new("cluster_two_nodes");
    let mut callee = callee_on_node_2(&cluster, &talk);
    let mut caller = Client::call(&cluster.nodes[0], &callee.id)
        .hang_up_after(Duration::from_secs(7))
        .talks_as(&talk.caller)
        .spawn();
    expect_caller_hung_up(&mut caller, &mut callee, Duration::from_secs(30));
    // Each stayed on its own node the whole time.
    for client in [&caller, &callee] {
        assert!(
            !client
                .events_named("signaling")
                .any(|e| e["state"] != "connected"),
            "{:#?}",
            client.events
        );
    }
    talk.assert_both_heard();
}

#[test]
fn killing_a_node_mid_call_keeps_the_audio_and_the_client_moves_with_its_id() {
    let t = Instant::now();
    let mut cluster = Cluster::start();
    eprintln!("cluster up after {:?}", t.elapsed());
    let talk = Conversation::new("cluster_failover");

    // The caller starts on node 1 and knows node 2.
    let mut callee = callee_on_node_2(&cluster, &talk);
    let mut caller = Client::call(&cluster.nodes[0], &callee.id)
        .fallback(&cluster.nodes[1])
        .hang_up_after(Duration::from_secs(8))
        .talks_as(&talk.caller)
        .spawn();
    let first = caller.wait_event("registered", Duration::from_secs(5));
    assert_eq!(first["id"], caller.id.as_str());
    caller.wait_media_started(Duration::from_secs(10));
    eprintln!("media after {:?}", t.elapsed());

    // Mid-speech (once about 1.5 s of the callee's audio has come in), node 1 dies
    // without a word (SIGKILL).
    caller.wait_received(75, Duration::from_secs(10));
    cluster.nodes[0].kill();
    let killed_at = Instant::now();

    // The caller notices, reconnects to node 2, and gets its own ID back.
    let again = caller.wait_event("registered", Duration::from_secs(10));
    let moved_after = killed_at.elapsed();
    println!("caller re-registered {moved_after:?} after node 1 died: {again}");
    for e in caller.events.iter().filter(|e| e["event"] != "stats") {
        println!("  caller event: {e}");
    }
    assert_eq!(again["id"], caller.id.as_str(), "{again}");
    assert_eq!(again["reclaimed"], true, "{again}");
    let since_first: Vec<&Value> = caller
        .events
        .iter()
        .skip_while(|e| e["event"] != "media_started")
        .collect();
    let reconnecting = since_first
        .iter()
        .position(|e| e["event"] == "signaling" && e["state"] == "reconnecting")
        .expect("a `signaling reconnecting` event before the new registration");
    let connected = since_first
        .iter()
        .position(|e| e["event"] == "signaling" && e["state"] == "connected")
        .expect("a `signaling connected` event");
    assert!(reconnecting < connected, "{since_first:#?}");
    assert_eq!(
        since_first[connected]["detail"],
        cluster.url(1),
        "connected to node 2"
    );
    // Exactly one registration per connection: no stale `reclaimed: false` copy.
    assert_eq!(
        since_first
            .iter()
            .filter(|e| e["event"] == "registered")
            .count(),
        1,
        "{since_first:#?}"
    );
    assert!(
        moved_after < Duration::from_secs(5),
        "took {moved_after:?} to move"
    );

    // The caller hangs up after its 8 s: the hang-up goes out through node 2 and the call
    // ends normally on both sides.
    expect_caller_hung_up(&mut caller, &mut callee, Duration::from_secs(30));
    assert!(
        caller.event("warning").is_none(),
        "warnings: {:#?}",
        caller.events
    );
    // The media path never noticed: the call stayed in the call phase throughout.
    for client in [&caller, &callee] {
        let phases: Vec<&Value> = client
            .events_named("phase")
            .skip_while(|e| e["phase"] != "in_call")
            .collect();
        assert!(
            phases
                .iter()
                .all(|e| e["phase"] == "in_call" || e["phase"] == "ended"),
            "{phases:#?}"
        );
    }
    talk.assert_both_heard();
}
