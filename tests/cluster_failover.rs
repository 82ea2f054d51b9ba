//! Signaling on a Redis Cluster (3 masters, one replica each) shared by two server nodes:
//! the master holding both clients' ID records dies mid-call and its replica takes over.
//! The call's audio goes on, both clients keep their IDs, the hang-up still reaches the
//! other node, and the next call between the same IDs goes through the promoted replica.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use voicecall_lab::support::redis_cluster::RedisCluster;
use voicecall_lab::support::{Client, ClientBuilder, Conversation, Server};

const CALLEE_ID: &str = "failover-callee";
/// The shorter of the two speeches the clients play (speech-b.wav): the fail-over must be
/// over before it ends, or the audio check would not cover it.
const SPEECH: Duration = Duration::from_millis(5500);
/// The first call: the speech, and a few seconds after the fail-over for the servers to
/// follow it before the hang-up has to go through.
const CALL: Duration = Duration::from_secs(8);

/// The server's registry record of `id` (redis_registry.js, default prefix).
fn record_key(id: &str) -> String {
    format!("voicecall:id:{{{id}}}")
}

/// A caller ID whose record lives on `master` as well, so the fail-over hits both records.
fn caller_id_on(redis: &mut RedisCluster, master: u16) -> String {
    (0..64)
        .map(|n| format!("failover-caller-{n}"))
        .find(|id| redis.master_of(&record_key(id)) == master)
        .expect("one of 64 IDs hashes to each of 3 masters")
}

/// `voicecall call` as `id`, its token kept in `config` so a later run reclaims the ID.
fn call_as(node: &Server, id: &str, config: &Path) -> ClientBuilder {
    Client::call(node, CALLEE_ID).id(id).config_dir(config)
}

/// The caller hung up after its `--duration`: it exited cleanly and the callee, still
/// listening, was told through the signaling servers.
fn expect_hang_up_relayed(caller: &mut Client, callee: &mut Client) {
    caller.expect_exit_ok(CALL + Duration::from_secs(20));
    assert_eq!(caller.ended()["reason"], "hangup", "{:#?}", caller.events);
    let ended = callee.wait_ended(Duration::from_secs(10));
    assert_eq!(ended["reason"], "remote_hangup", "{ended}");
}

/// The client's first call with `peer` stayed in the call phase from answer to hang-up:
/// the media path never noticed the fail-over.
fn stayed_in_call_with(client: &Client, peer: &str) {
    let phases: Vec<&Value> = client
        .events_named("phase")
        .skip_while(|e| e["phase"] != "in_call")
        .take_while(|e| e["phase"] != "ended")
        .collect();
    assert!(!phases.is_empty(), "never in a call: {:#?}", client.events);
    assert!(
        phases
            .iter()
            .all(|e| e["phase"] == "in_call" && e["peer"] == peer),
        "the call left the call phase: {phases:#?}"
    );
}

#[test]
fn a_redis_master_failing_over_mid_call_keeps_the_audio_the_ids_and_the_signaling() {
    let t = Instant::now();
    let mut redis = RedisCluster::start(3, 1);
    let nodes = [
        Server::builder()
            .node_of_redis_cluster(&redis, "node-1")
            .start(),
        Server::builder()
            .node_of_redis_cluster(&redis, "node-2")
            .start(),
    ];
    let victim = redis.master_of(&record_key(CALLEE_ID));
    let caller_id = caller_id_on(&mut redis, victim);
    println!("cluster and nodes up after {:?}", t.elapsed());

    let talk = Conversation::new("cluster_redis_failover");
    let caller_config = talk.dir.join("caller-config");
    let mut callee = Client::listen(&nodes[1])
        .auto_accept()
        .id(CALLEE_ID)
        .talks_as(&talk.callee)
        .spawn();
    assert_eq!(callee.id, CALLEE_ID);
    let mut caller = call_as(&nodes[0], &caller_id, &caller_config)
        .hang_up_after(CALL)
        .talks_as(&talk.caller)
        .spawn();
    assert_eq!(caller.id, caller_id);
    caller.wait_media_started(Duration::from_secs(15));
    callee.wait_media_started(Duration::from_secs(15));
    let media_started = Instant::now();

    // Mid-speech, the master holding both records is SIGKILLed; its replica takes over.
    let promoted = redis.failover(victim);
    let failed_over = media_started.elapsed();
    println!("master :{victim} failed over to :{promoted} {failed_over:?} into the call");
    assert!(
        failed_over < SPEECH,
        "the fail-over took {failed_over:?}, longer than the speech that must cover it"
    );
    // Both nodes notice the new slot map and reconnect (node-redis alone would keep
    // sending to the dead master, see redis_connection.js).
    for node in &nodes {
        let record = node.wait_log(
            "redis cluster topology changed: reconnected",
            Duration::from_secs(5),
        );
        println!(
            "{} followed within {:?} of the fail-over: {record}",
            record["node"],
            media_started.elapsed() - failed_over
        );
    }

    // The hang-up goes from node 1 to the callee's node: a lookup of the callee's record on
    // the promoted replica and a publish the callee's node must still be subscribed to.
    expect_hang_up_relayed(&mut caller, &mut callee);
    talk.assert_both_heard();
    stayed_in_call_with(&caller, CALLEE_ID);
    stayed_in_call_with(&callee, &caller_id);

    // The callee's signaling never noticed: one registration, one connection.
    assert_eq!(
        callee.events_named("registered").count(),
        1,
        "{:#?}",
        callee.events
    );
    let states: Vec<&Value> = callee.events_named("signaling").collect();
    assert!(
        states.iter().all(|e| e["state"] == "connected"),
        "{states:#?}"
    );

    // The caller comes back with its remembered token: the record survived on the replica.
    let mut caller = call_as(&nodes[0], &caller_id, &caller_config)
        .hang_up_after(Duration::from_secs(2))
        .spawn();
    let registered = caller.wait_event("registered", Duration::from_secs(10));
    assert_eq!(registered["id"], caller_id.as_str(), "{registered}");
    assert_eq!(registered["reclaimed"], true, "{registered}");

    // The second call finds the callee through the promoted replica (the audio was
    // checked on the first call; this one only has to be set up and hung up).
    caller.wait_media_started(Duration::from_secs(15));
    callee.wait_media_started(Duration::from_secs(15));
    expect_hang_up_relayed(&mut caller, &mut callee);
    stayed_in_call_with(&caller, CALLEE_ID);
    let last_call = callee.events.iter().rposition(|e| e["phase"] == "incoming");
    let answered =
        last_call.and_then(|i| callee.events[i..].iter().find(|e| e["phase"] == "in_call"));
    assert_eq!(
        answered.map(|e| &e["peer"]),
        Some(&Value::from(caller_id.as_str())),
        "{:#?}",
        callee.events
    );
    assert_eq!(callee.events_named("registered").count(), 1);
    println!("test took {:?}", t.elapsed());
}
