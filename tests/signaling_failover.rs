//! The signaling client against real server processes: it tries its servers in order, moves
//! to another node of a cluster when its node dies (keeping its ID), delivers what it sent
//! during the outage, and refreshes ICE servers whose TURN credentials are about to expire.

use voicecall_lab::support;

use std::time::{Duration, Instant};

use support::Server;
use support::redis::Redis;
use tokio::sync::mpsc::UnboundedReceiver;
use voicecall_core::id::CallId;
use voicecall_core::signaling::message::{Body, Outbound};
use voicecall_engine::signaling::{SignalingClient, SignalingConfig, SignalingEvent};

fn config(servers: &[&str]) -> SignalingConfig {
    let mut config = SignalingConfig::new(servers[0]);
    config.servers = servers.iter().map(|s| s.to_string()).collect();
    config
}

/// Waits for the first event matching `pred`, returning the events seen before it too.
async fn wait_event(
    events: &mut UnboundedReceiver<SignalingEvent>,
    timeout: Duration,
    pred: impl Fn(&SignalingEvent) -> bool,
) -> (SignalingEvent, Vec<SignalingEvent>) {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) if pred(&event) => return (event, seen),
            Ok(Some(event)) => seen.push(event),
            Ok(None) => panic!("event stream ended; saw {seen:#?}"),
            Err(_) => panic!("timed out; saw {seen:#?}"),
        }
    }
}

fn cluster() -> (Redis, Server, Server) {
    let redis = Redis::start();
    let node = |name: &str| Server::start_with(&[("REDIS_URL", &redis.url), ("NODE_ID", name)]);
    let (one, two) = (node("node-1"), node("node-2"));
    (redis, one, two)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_connect_tries_each_server_in_order() {
    let server = Server::start();
    // Port 9 (discard) is closed on loopback: refused at once.
    let (client, _events) = SignalingClient::connect(config(&["http://127.0.0.1:9", &server.url]))
        .await
        .expect("connects to the second server");
    assert_eq!(client.server(), server.url);
    assert!(!client.registration().token.is_empty());
    client.close().await;

    let err = SignalingClient::connect(config(&["http://127.0.0.1:9", "http://127.0.0.1:9"]))
        .await
        .err()
        .expect("no server answers");
    assert!(err.to_string().contains("unreachable"), "{err}");
}

/// `kill` ends node 1 (SIGKILL, or SIGTERM for a graceful shutdown); the client that was on
/// it must come back on node 2 as itself and deliver, in order, what it sent meanwhile.
async fn fails_over(kill: impl FnOnce(&mut Server)) {
    let (_redis, mut one, two) = cluster();
    let (mover, mut mover_events) = SignalingClient::connect(config(&[&one.url, &two.url]))
        .await
        .expect("connect to node 1");
    assert_eq!(mover.server(), one.url);
    let (peer, mut peer_events) = SignalingClient::connect(config(&[&two.url]))
        .await
        .expect("connect to node 2");
    let mover_id = mover.registration().id.clone();

    kill(&mut one);
    let killed_at = Instant::now();
    // Sent while the client may not even know its node is gone.
    let call_ids: Vec<CallId> = (1..=5)
        .map(|n| CallId::parse(&format!("q{n}")).expect("call id"))
        .collect();
    for call_id in &call_ids {
        mover.send(Outbound {
            to: peer.registration().id.clone(),
            call_id: Some(call_id.clone()),
            body: Body::Ringing,
        });
    }

    let (registered, before) = wait_event(&mut mover_events, Duration::from_secs(10), |e| {
        matches!(e, SignalingEvent::Registered(_))
    })
    .await;
    let moved_after = killed_at.elapsed();
    println!("re-registered after {moved_after:?}; before that: {before:?}");
    let SignalingEvent::Registered(registration) = registered else {
        unreachable!()
    };
    assert_eq!(registration.id, mover_id);
    assert!(registration.reclaimed, "{registration:?}");
    assert!(
        before.iter().any(
            |e| matches!(e, SignalingEvent::Reconnecting { server, .. } if *server == two.url)
        ),
        "{before:?}"
    );
    assert_eq!(mover.server(), two.url);
    assert!(moved_after < Duration::from_secs(5), "{moved_after:?}");

    for call_id in &call_ids {
        let (event, _) = wait_event(&mut peer_events, Duration::from_secs(5), |e| {
            matches!(e, SignalingEvent::Message(_))
        })
        .await;
        let SignalingEvent::Message(msg) = event else {
            unreachable!()
        };
        assert_eq!(msg.from, mover_id);
        assert_eq!(msg.body, Body::Ringing);
        assert_eq!(msg.call_id.as_ref(), Some(call_id), "in the order sent");
    }
    mover.close().await;
    peer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_node_is_killed_moves_to_the_next_with_its_id_and_its_messages() {
    fails_over(|node| node.kill()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_node_shuts_down_moves_to_the_next_with_its_id_and_its_messages() {
    fails_over(|node| node.terminate()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ice_servers_are_refreshed_before_a_call_when_they_expire_soon() {
    let turn = [
        ("TURN_SECRET", "test-secret-for-refresh"),
        ("TURN_URLS", "turn:127.0.0.1:3478?transport=udp"),
    ];
    // 60 s (the minimum) is inside the 5 min margin: every call asks for fresh servers.
    let short = Server::start_with(&[turn[0], turn[1], ("TURN_TTL_SECONDS", "60")]);
    let (client, _events) = SignalingClient::connect(config(&[&short.url]))
        .await
        .expect("connect");
    let first = client.issued_ice_servers();
    assert_eq!(first.ttl, 60);
    let issued_at = first
        .received_at
        .expect("ice_servers with the registration");
    let servers = client.fresh_ice_servers().await;
    let second = client.issued_ice_servers();
    assert!(
        second.received_at.expect("still issued") > issued_at,
        "not refreshed"
    );
    assert_eq!(servers, second.servers);
    assert!(
        servers[0]
            .username
            .ends_with(client.registration().id.as_str())
    );
    client.close().await;

    // A day's credentials are used as they are.
    let long = Server::start_with(&turn);
    let (client, _events) = SignalingClient::connect(config(&[&long.url]))
        .await
        .expect("connect");
    let first = client.issued_ice_servers();
    assert_eq!(first.ttl, 86_400);
    let servers = client.fresh_ice_servers().await;
    assert_eq!(client.issued_ice_servers(), first, "asked for nothing");
    assert_eq!(servers, first.servers);
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_while_no_server_is_reachable_arrive_once_one_is_back() {
    let (redis, mut home, peer_node) = cluster();
    // The fallback node is not running yet: its port is only reserved.
    let fallback_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let fallback_url = format!("http://127.0.0.1:{fallback_port}");
    let (mover, mut mover_events) = SignalingClient::connect(config(&[&home.url, &fallback_url]))
        .await
        .expect("connect to the home node");
    let (peer, mut peer_events) = SignalingClient::connect(config(&[&peer_node.url]))
        .await
        .expect("connect to the peer's node");
    let mover_id = mover.registration().id.clone();

    home.kill();
    wait_event(&mut mover_events, Duration::from_secs(5), |e| {
        matches!(e, SignalingEvent::Disconnected { .. })
    })
    .await;
    let call_ids: Vec<CallId> = (1..=5)
        .map(|n| CallId::parse(&format!("o{n}")).expect("call id"))
        .collect();
    for call_id in &call_ids {
        mover.send(Outbound {
            to: peer.registration().id.clone(),
            call_id: Some(call_id.clone()),
            body: Body::Ringing,
        });
    }
    // Nothing can get through for a while: both of the mover's servers are down.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(peer_events.try_recv().is_err(), "delivered with no server?");

    let port = fallback_port.to_string();
    let _fallback = Server::start_with(&[
        ("REDIS_URL", &redis.url),
        ("NODE_ID", "node-3"),
        ("PORT", &port),
    ]);
    let (registered, before) = wait_event(&mut mover_events, Duration::from_secs(10), |e| {
        matches!(e, SignalingEvent::Registered(_))
    })
    .await;
    let attempts = before
        .iter()
        .filter(|e| matches!(e, SignalingEvent::Reconnecting { .. }))
        .count();
    println!("re-registered after {attempts} attempts: {registered:?}");
    assert!(
        matches!(&registered, SignalingEvent::Registered(r) if r.id == mover_id && r.reclaimed),
        "{registered:?}"
    );
    assert_eq!(mover.server(), fallback_url);
    for call_id in &call_ids {
        let (event, _) = wait_event(&mut peer_events, Duration::from_secs(5), |e| {
            matches!(e, SignalingEvent::Message(_))
        })
        .await;
        let SignalingEvent::Message(msg) = event else {
            unreachable!()
        };
        assert_eq!(msg.from, mover_id);
        assert_eq!(msg.call_id.as_ref(), Some(call_id), "in the order sent");
    }
    mover.close().await;
    peer.close().await;
}
