//! Calls through the shipped coturn configuration with credentials issued by the signaling
//! server: relay-only, and relay-only through an impairing network.

use voicecall_lab::support;

use std::time::Duration;

use support::turn::{Coturn, free_port};
use support::{Client, Server, asset, compare_with_reference, output_dir};

const LOOPBACK: &str = "127.0.0.1";

fn relay_call(test: &str, turn_host_port: Option<String>, turn: &Coturn) {
    let mut env = turn.server_env(LOOPBACK, false);
    if let Some(hp) = turn_host_port {
        // Point the issued TURN URL at the impairment relay instead of coturn itself.
        env[1].1 = format!("turn:{hp}?transport=udp");
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = Server::start_with(&env);
    let out = output_dir(test);
    let heard = [out.join("a-heard.wav"), out.join("b-heard.wav")];
    let speech = [asset("speech-a.wav"), asset("speech-b.wav")];
    let mut callee = Client::spawn(&[
        "listen",
        "--server",
        &server.url,
        "--bind",
        LOOPBACK,
        "--relay-only",
        "--auto-accept",
        "--once",
        "--input",
        speech[1].to_str().expect("path"),
        "--output",
        heard[1].to_str().expect("path"),
    ]);
    let mut caller = Client::spawn(&[
        "call",
        &callee.id,
        "--server",
        &server.url,
        "--bind",
        LOOPBACK,
        "--relay-only",
        "--duration",
        "7s",
        "--input",
        speech[0].to_str().expect("path"),
        "--output",
        heard[0].to_str().expect("path"),
    ]);
    let started = caller.wait_for(Duration::from_secs(20), |e| {
        e["event"] == "media_started" || e["event"] == "ended"
    });
    assert_eq!(
        started["event"],
        "media_started",
        "coturn log:\n{}",
        tail(&turn.log())
    );
    let stats = caller.wait_for(Duration::from_secs(5), |e| {
        e["event"] == "stats" && !e["rtc"]["local_candidate"].is_null()
    });
    assert_eq!(stats["rtc"]["local_candidate"], "relay", "{stats}");
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
    let to_b = compare_with_reference(&speech[0], &heard[1]);
    let to_a = compare_with_reference(&speech[1], &heard[0]);
    assert!(to_b.passes(0.9, 0.9), "{to_b:?}");
    assert!(to_a.passes(0.9, 0.9), "{to_a:?}");
}

fn tail(log: &str) -> String {
    log.lines()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn relay_only_call_through_coturn_with_issued_credentials() {
    let turn = Coturn::start_in(&[], LOOPBACK, free_port(), &["127.0.0.1"]);
    relay_call("relay_only", None, &turn);
}

#[test]
fn relay_only_call_survives_loss_and_jitter_on_the_way_to_turn() {
    let turn = Coturn::start_in(&[], LOOPBACK, free_port(), &["127.0.0.1"]);
    let relay = voicecall_lab::netem::RelayThread::from_args([
        "--upstream",
        &format!("{LOOPBACK}:{}", turn.port),
        "--loss",
        "0.03",
        "--delay",
        "10ms",
        "--jitter",
        "10ms",
        "--seed",
        "5",
    ])
    .expect("start netem relay");
    let addr = relay.addr.to_string();
    relay_call("relay_impaired", Some(addr), &turn);
    drop(relay);
}
