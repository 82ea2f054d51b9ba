//! The signaling client against real server processes: it tries its servers in order, moves
//! to another node of a cluster when its node dies (keeping its ID), delivers what it sent
//! during the outage, and refreshes ICE servers whose TURN credentials are about to expire.

use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedReceiver;
use voicecall_core::id::{CallId, PeerId};
use voicecall_core::signaling::message::{Body, Outbound, SdpKind, SessionDescription};
use voicecall_engine::signaling::{SignalingClient, SignalingConfig, SignalingEvent};
use voicecall_lab::support::Server;
use voicecall_lab::support::cluster::Cluster;

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

/// Call IDs `{prefix}1` … `{prefix}5`, one for each message sent during an outage.
fn call_ids(prefix: &str) -> Vec<CallId> {
    (1..=5)
        .map(|n| CallId::parse(&format!("{prefix}{n}")).expect("call id"))
        .collect()
}

/// A call offer: the server relays only offers, and other messages inside the calls they open.
fn offer() -> Body {
    Body::Description {
        desc: SessionDescription {
            kind: SdpKind::Offer,
            sdp: "v=0".to_owned(),
        },
        sas: None,
    }
}

/// `from` offers `to` one call per call ID, in order.
fn send_offers(from: &SignalingClient, to: &PeerId, call_ids: &[CallId]) {
    for call_id in call_ids {
        from.send(Outbound {
            to: to.clone(),
            call_id: Some(call_id.clone()),
            body: offer(),
        });
    }
}

/// The next messages `events` delivers are `from`'s offers for `call_ids`, in order.
async fn expect_offers_in_order(
    events: &mut UnboundedReceiver<SignalingEvent>,
    from: &PeerId,
    call_ids: &[CallId],
) {
    for call_id in call_ids {
        let (event, _) = wait_event(events, Duration::from_secs(5), |e| {
            matches!(e, SignalingEvent::Message(_))
        })
        .await;
        let SignalingEvent::Message(msg) = event else {
            unreachable!()
        };
        assert_eq!(&msg.from, from);
        assert_eq!(msg.body, offer());
        assert_eq!(msg.call_id.as_ref(), Some(call_id), "in the order sent");
    }
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
    let mut cluster = Cluster::start();
    let (mover, mut mover_events) =
        SignalingClient::connect(config(&[cluster.url(0), cluster.url(1)]))
            .await
            .expect("connect to node 1");
    assert_eq!(mover.server(), cluster.url(0));
    let (peer, mut peer_events) = SignalingClient::connect(config(&[cluster.url(1)]))
        .await
        .expect("connect to node 2");
    let mover_id = mover.registration().id.clone();

    kill(&mut cluster.nodes[0]);
    let killed_at = Instant::now();
    // Sent while the client may not even know its node is gone.
    let call_ids = call_ids("q");
    send_offers(&mover, &peer.registration().id, &call_ids);

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
            |e| matches!(e, SignalingEvent::Reconnecting { server, .. } if server == cluster.url(1))
        ),
        "{before:?}"
    );
    assert_eq!(mover.server(), cluster.url(1));
    assert!(moved_after < Duration::from_secs(5), "{moved_after:?}");

    expect_offers_in_order(&mut peer_events, &mover_id, &call_ids).await;
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
    let short = Server::builder()
        .envs(turn)
        .env("TURN_TTL_SECONDS", "60")
        .start();
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

    // An hour's credentials (the default) are used as they are.
    let long = Server::builder().envs(turn).start();
    let (client, _events) = SignalingClient::connect(config(&[&long.url]))
        .await
        .expect("connect");
    let first = client.issued_ice_servers();
    assert_eq!(first.ttl, 3600);
    let servers = client.fresh_ice_servers().await;
    assert_eq!(client.issued_ice_servers(), first, "asked for nothing");
    assert_eq!(servers, first.servers);
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_while_no_server_is_reachable_arrive_once_one_is_back() {
    // The mover's home is node 1, the peer's node 2.
    let mut cluster = Cluster::start();
    // The fallback node is not running yet: its port is only reserved.
    let fallback_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let fallback_url = format!("http://127.0.0.1:{fallback_port}");
    let (mover, mut mover_events) =
        SignalingClient::connect(config(&[cluster.url(0), &fallback_url]))
            .await
            .expect("connect to the home node");
    let (peer, mut peer_events) = SignalingClient::connect(config(&[cluster.url(1)]))
        .await
        .expect("connect to the peer's node");
    let mover_id = mover.registration().id.clone();

    cluster.nodes[0].kill();
    wait_event(&mut mover_events, Duration::from_secs(5), |e| {
        matches!(e, SignalingEvent::Disconnected { .. })
    })
    .await;
    let call_ids = call_ids("o");
    send_offers(&mover, &peer.registration().id, &call_ids);
    // Nothing can get through for a while: both of the mover's servers are down.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(peer_events.try_recv().is_err(), "delivered with no server?");

    let _fallback = cluster.another_node("node-3").port(fallback_port).start();
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
    expect_offers_in_order(&mut peer_events, &mover_id, &call_ids).await;
    mover.close().await;
    peer.close().await;
}
