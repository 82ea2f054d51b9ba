//! Signaling at scale: two signaling server processes sharing one Redis act as one server.
//! A call between clients on different nodes works, and a client whose node dies moves to
//! the other node with its ID while the call goes on.

use voicecall_lab::support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::redis::Redis;
use support::{Client, Server, asset, compare_with_reference, output_dir};

const LOOPBACK: &str = "127.0.0.1";

/// Redis plus two server nodes. Dropped in reverse order: nodes first, then Redis.
struct Cluster {
    nodes: [Server; 2],
    _redis: Redis,
}

impl Cluster {
    fn start() -> Self {
        let redis = Redis::start();
        let node = |name: &str| {
            Server::start_with(&[
                ("REDIS_URL", redis.url.as_str()),
                ("NODE_ID", name),
                ("LOG_LEVEL", "info"),
            ])
        };
        let nodes = [node("node-1"), node("node-2")];
        Self {
            nodes,
            _redis: redis,
        }
    }

    fn url(&self, node: usize) -> String {
        self.nodes[node].url.clone()
    }
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn assert_ended_normally(caller: &mut Client, callee: &mut Client) {
    let t = Instant::now();
    let caller_status = caller.wait_exit(Duration::from_secs(30));
    eprintln!("caller exited after {:?}", t.elapsed());
    let callee_status = callee.wait_exit(Duration::from_secs(15));
    eprintln!("callee exited after {:?}", t.elapsed());
    assert!(
        caller_status.success(),
        "caller failed: {:#?}\n{}",
        caller.events,
        caller.stderr()
    );
    assert!(
        callee_status.success(),
        "callee failed: {:#?}\n{}",
        callee.events,
        callee.stderr()
    );
    let caller_end = caller.event("ended").expect("caller ended event");
    let callee_end = callee.event("ended").expect("callee ended event");
    assert_eq!(caller_end["reason"], "hangup", "{caller_end}");
    assert_eq!(callee_end["reason"], "remote_hangup", "{callee_end}");
}

fn assert_heard(reference: &std::path::Path, recording: &std::path::Path, who: &str) {
    let result = compare_with_reference(reference, recording);
    println!(
        "{who}: correlation {:.3}, matched {:.3}, lag {:.3} s",
        result.correlation,
        result.matched_fraction,
        result.lag_seconds()
    );
    assert!(
        result.passes(0.9, 0.9),
        "{who} did not hear the other side: {result:?}"
    );
}

#[test]
fn a_call_between_clients_on_different_nodes_carries_audio_both_ways() {
    let cluster = Cluster::start();
    let out = output_dir("cluster_two_nodes");
    let (speech_a, speech_b) = (asset("speech-a.wav"), asset("speech-b.wav"));
    let (caller_rec, callee_rec) = (out.join("caller-heard.wav"), out.join("callee-heard.wav"));

    let mut callee = Client::spawn(&[
        "listen",
        "--server",
        &cluster.url(1),
        "--bind",
        LOOPBACK,
        "--auto-accept",
        "--once",
        "--input",
        path(&speech_b),
        "--output",
        path(&callee_rec),
    ]);
    let mut caller = Client::spawn(&[
        "call",
        &callee.id,
        "--server",
        &cluster.url(0),
        "--bind",
        LOOPBACK,
        "--duration",
        "7s",
        "--input",
        path(&speech_a),
        "--output",
        path(&caller_rec),
    ]);
    assert_ended_normally(&mut caller, &mut callee);
    // Each stayed on its own node the whole time.
    for client in [&caller, &callee] {
        assert!(
            !client
                .events
                .iter()
                .any(|e| e["event"] == "signaling" && e["state"] != "connected"),
            "{:#?}",
            client.events
        );
    }
    assert_heard(&speech_a, &callee_rec, "callee (node 2)");
    assert_heard(&speech_b, &caller_rec, "caller (node 1)");
}

#[test]
fn killing_a_node_mid_call_keeps_the_audio_and_the_client_moves_with_its_id() {
    let t = Instant::now();
    let mut cluster = Cluster::start();
    eprintln!("cluster up after {:?}", t.elapsed());
    let out = output_dir("cluster_failover");
    let (speech_a, speech_b) = (asset("speech-a.wav"), asset("speech-b.wav"));
    let (caller_rec, callee_rec) = (out.join("caller-heard.wav"), out.join("callee-heard.wav"));

    // The callee lives on node 2 only; the caller starts on node 1 and knows node 2.
    let mut callee = Client::spawn(&[
        "listen",
        "--server",
        &cluster.url(1),
        "--bind",
        LOOPBACK,
        "--auto-accept",
        "--once",
        "--input",
        path(&speech_b),
        "--output",
        path(&callee_rec),
    ]);
    let servers = format!("{},{}", cluster.url(0), cluster.url(1));
    let mut caller = Client::spawn(&[
        "call",
        &callee.id,
        "--server",
        &servers,
        "--bind",
        LOOPBACK,
        "--duration",
        "8s",
        "--input",
        path(&speech_a),
        "--output",
        path(&caller_rec),
    ]);
    let first = caller.wait_for(Duration::from_secs(5), |e| e["event"] == "registered");
    assert_eq!(first["id"], caller.id.as_str());
    caller.wait_for(Duration::from_secs(10), |e| e["event"] == "media_started");
    eprintln!("media after {:?}", t.elapsed());

    // Mid-speech, node 1 dies without a word (SIGKILL).
    std::thread::sleep(Duration::from_millis(1500));
    cluster.nodes[0].kill();
    let killed_at = Instant::now();

    // The caller notices, reconnects to node 2, and gets its own ID back.
    let again = caller.wait_for(Duration::from_secs(10), |e| e["event"] == "registered");
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
    assert_ended_normally(&mut caller, &mut callee);
    assert!(
        caller.event("warning").is_none(),
        "warnings: {:#?}",
        caller.events
    );
    // The media path never noticed: the call stayed in the call phase throughout.
    for client in [&caller, &callee] {
        let phases: Vec<&Value> = client
            .events
            .iter()
            .filter(|e| e["event"] == "phase")
            .skip_while(|e| e["phase"] != "in_call")
            .collect();
        assert!(
            phases
                .iter()
                .all(|e| e["phase"] == "in_call" || e["phase"] == "ended"),
            "{phases:#?}"
        );
    }
    assert_heard(&speech_a, &callee_rec, "callee (node 2)");
    assert_heard(&speech_b, &caller_rec, "caller (node 1 → node 2)");
}
