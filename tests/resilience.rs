//! Calls that survive: the signaling server dies mid-call, the peer's process dies, the
//! network path changes, and a hang-up while signaling is down.

use voicecall_lab::support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::netns::{Lab, Nat, PUBLIC_IP, Topology};
use support::turn::{Coturn, free_port};
use support::{Client, Server, asset, output_dir};

const LOOPBACK: &str = "127.0.0.1";

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The looping speech a `wav-loop:` input plays, `times` over, at 48 kHz.
fn looped_reference(name: &str, times: usize) -> Vec<i16> {
    let once = voicecall_engine::audio::load_wav_48k_mono(&asset(name)).expect("reference");
    once.repeat(times)
}

fn packets_received(e: &Value) -> u64 {
    e["media"]["packets_received"].as_u64().unwrap_or(0)
}

#[test]
fn calls_survive_a_signaling_server_restart_and_keep_their_ids() {
    let port = free_port();
    let mut server = Server::start_on(port);
    let out = output_dir("server_restart");
    let heard = out.join("callee-heard.wav");
    let speech = format!("wav-loop:{}", path(&asset("speech-a.wav")));
    let mut callee = Client::spawn(&[
        "listen",
        "--server",
        &server.url,
        "--bind",
        LOOPBACK,
        "--auto-accept",
        "--once",
        "--input",
        "silence",
        "--output",
        path(&heard),
    ]);
    let mut caller = Client::spawn(&[
        "call",
        &callee.id,
        "--server",
        &server.url,
        "--bind",
        LOOPBACK,
        "--duration",
        "13s",
        "--input",
        &speech,
        "--output",
        "discard",
    ]);
    caller.wait_for(Duration::from_secs(20), |e| e["event"] == "media_started");
    std::thread::sleep(Duration::from_secs(3));

    server.kill();
    let killed_at = Instant::now();
    std::thread::sleep(Duration::from_millis(1200));
    let before = packets_received(&callee.latest("stats", Duration::from_secs(3)));
    std::thread::sleep(Duration::from_secs(3));
    let during = packets_received(&callee.latest("stats", Duration::from_secs(3)));
    // Media is peer to peer: ~50 packets a second kept arriving with the server gone.
    assert!(
        during >= before + 100,
        "audio stalled while signaling was down: {before} → {during}"
    );

    let _server = Server::start_on(port);
    for client in [&mut caller, &mut callee] {
        let id = client.id.clone();
        let back = client.wait_for(Duration::from_secs(15), |e| {
            e["event"] == "registered"
                && e["id"] != Value::Null
                && killed_at.elapsed() > Duration::from_millis(100)
        });
        assert_eq!(back["id"], id.as_str(), "came back with another ID: {back}");
    }

    // The call ends normally: the caller's hang-up travels through the restarted server.
    assert!(
        caller.wait_exit(Duration::from_secs(30)).success(),
        "{}",
        caller.stderr()
    );
    assert!(
        callee.wait_exit(Duration::from_secs(15)).success(),
        "{}",
        callee.stderr()
    );
    assert_eq!(
        callee.event("ended").expect("ended")["reason"],
        "remote_hangup"
    );
    assert!(
        caller
            .events
            .iter()
            .any(|e| e["event"] == "signaling" && e["state"] == "reconnecting")
    );

    // And the speech arrived intact across the whole outage.
    let reference = looped_reference("speech-a.wav", 2);
    let (recorded, _) = voicecall_lab::analysis::load_wav_mono(&heard).expect("recording");
    let result = voicecall_lab::analysis::compare(&reference, &recorded, 48_000);
    println!(
        "server restart: correlation {:.3}, matched {:.2}",
        result.correlation, result.matched_fraction
    );
    assert!(result.passes(0.9, 0.9), "{result:?}");
}

#[test]
fn a_killed_peer_ends_the_call_with_connection_lost_and_the_survivor_takes_the_next_call() {
    let server = Server::start();
    let out = output_dir("peer_killed");
    let heard = out.join("callee-heard.wav");
    let mut callee = Client::spawn(&[
        "listen",
        "--server",
        &server.url,
        "--bind",
        LOOPBACK,
        "--auto-accept",
        "--input",
        "silence",
        "--output",
        path(&heard),
    ]);
    let mut doomed = Client::spawn(&[
        "call",
        &callee.id,
        "--server",
        &server.url,
        "--bind",
        LOOPBACK,
        "--input",
        path(&asset("speech-a.wav")),
        "--output",
        "discard",
    ]);
    callee.wait_for(Duration::from_secs(20), |e| e["event"] == "media_started");
    std::thread::sleep(Duration::from_secs(1));
    doomed.kill();
    let killed_at = Instant::now();
    let ended = callee.wait_for(Duration::from_secs(15), |e| e["event"] == "ended");
    let took = killed_at.elapsed();
    println!("peer killed: callee noticed after {took:?}");
    assert_eq!(ended["reason"], "connection_lost", "{ended}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // The audio devices were released: the recording is a finished WAV file.
    let (recorded, rate) = voicecall_lab::analysis::load_wav_mono(&heard).expect("finished WAV");
    assert_eq!(rate, 48_000);
    assert!(
        recorded.len() > 48_000,
        "recording too short: {}",
        recorded.len()
    );

    let mut next = Client::spawn(&[
        "call",
        &callee.id,
        "--server",
        &server.url,
        "--bind",
        LOOPBACK,
        "--duration",
        "1s",
        "--input",
        path(&asset("speech-a.wav")),
        "--output",
        "discard",
    ]);
    assert!(
        next.wait_exit(Duration::from_secs(30)).success(),
        "{}",
        next.stderr()
    );
    callee.wait_for(Duration::from_secs(10), |e| {
        e["event"] == "ended" && e["reason"] == "remote_hangup"
    });
}

#[test]
fn a_hang_up_reaches_the_peer_even_with_signaling_down() {
    let mut server = Server::start();
    let mut callee = Client::spawn(&[
        "listen",
        "--server",
        &server.url,
        "--bind",
        LOOPBACK,
        "--auto-accept",
        "--once",
        "--input",
        "silence",
        "--output",
        "discard",
    ]);
    let mut caller = Client::spawn(&[
        "call",
        &callee.id,
        "--server",
        &server.url,
        "--bind",
        LOOPBACK,
        "--duration",
        "4s",
        "--input",
        path(&asset("speech-a.wav")),
        "--output",
        "discard",
    ]);
    caller.wait_for(Duration::from_secs(20), |e| e["event"] == "media_started");
    server.kill();
    caller.wait_for(Duration::from_secs(10), |e| e["event"] == "ended");
    let hung_up_at = Instant::now();
    callee.wait_for(Duration::from_secs(12), |e| e["event"] == "ended");
    let took = hung_up_at.elapsed();
    println!("hang-up with signaling down: peer learned after {took:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn a_network_path_change_is_recovered_by_ice_restart_without_redialling() {
    let topo = Topology::build("pc", [Nat::Masquerade, Nat::Masquerade]);
    let public = Lab::exec_prefix(&topo.public);
    let public: Vec<&str> = public.iter().map(String::as_str).collect();
    let turn = Coturn::start_in(&public, PUBLIC_IP, 3478, &["10.0.0.0-10.255.255.255"]);
    let env = turn.server_env(PUBLIC_IP, false);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = Server::start_in(&public, PUBLIC_IP, &env);
    let (pa, pb) = (
        Lab::exec_prefix(&topo.clients[0]),
        Lab::exec_prefix(&topo.clients[1]),
    );
    let pa: Vec<&str> = pa.iter().map(String::as_str).collect();
    let pb: Vec<&str> = pb.iter().map(String::as_str).collect();
    let speech = format!("wav-loop:{}", path(&asset("speech-a.wav")));
    let mut callee = Client::spawn_in(
        &pb,
        &[
            "listen",
            "--server",
            &server.url,
            "--bind",
            &topo.client_ips[1],
            "--auto-accept",
            "--once",
            "--input",
            "silence",
            "--output",
            "discard",
        ],
    );
    let mut caller = Client::spawn_in(
        &pa,
        &[
            "call",
            &callee.id,
            "--server",
            &server.url,
            "--bind",
            &topo.client_ips[0],
            "--duration",
            "10s",
            "--input",
            &speech,
            "--output",
            "discard",
        ],
    );
    caller.wait_for(Duration::from_secs(20), |e| e["event"] == "media_started");
    std::thread::sleep(Duration::from_secs(2));

    // Site A's public address changes (a new uplink, a rebooted router): every mapping dies.
    topo.lab.run(&topo.routers[0], "ip addr del 10.0.0.11/24 dev wan && ip addr add 10.0.0.21/24 dev wan && conntrack -F 2>/dev/null || true");
    let changed_at = Instant::now();
    caller.wait_for(Duration::from_secs(10), |e| {
        e["event"] == "media_path" && e["up"] == false
    });
    caller.wait_for(Duration::from_secs(10), |e| {
        e["event"] == "media_path" && e["up"] == true
    });
    let took = changed_at.elapsed();
    let stats_after = callee.latest("stats", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(2100));
    let later = callee.latest("stats", Duration::from_secs(5));
    println!("path change: media back after {took:?}");
    assert!(
        packets_received(&later) > packets_received(&stats_after) + 30,
        "no audio after the restart"
    );
    assert!(
        took < Duration::from_secs(3),
        "audio came back after {took:?}"
    );

    assert!(
        caller.wait_exit(Duration::from_secs(30)).success(),
        "{}",
        caller.stderr()
    );
    assert!(
        callee.wait_exit(Duration::from_secs(15)).success(),
        "{}",
        callee.stderr()
    );
    // One call from start to end: no redial.
    let outgoing = caller
        .events
        .iter()
        .filter(|e| e["event"] == "phase" && e["phase"] == "outgoing" && e["ringing"] == false)
        .count();
    assert_eq!(outgoing, 1);
}
