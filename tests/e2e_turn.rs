//! Calls through the shipped coturn configuration with credentials issued by the signaling
//! server: relay-only, and relay-only through an impairing network.

use std::time::Duration;

use voicecall_lab::netem::RelayThread;
use voicecall_lab::support::turn::Coturn;
use voicecall_lab::support::{Client, Conversation, Server};

const LOOPBACK: &str = "127.0.0.1";

/// A relay-only call whose signaling server issues `env`'s TURN servers; both sides must
/// hear each other.
fn relay_call(test: &str, turn: &Coturn, env: Vec<(String, String)>) {
    let server = Server::builder().envs(env).start();
    let talk = Conversation::new(test);
    let mut callee = Client::listen(&server)
        .relay_only()
        .auto_accept()
        .once()
        .talks_as(&talk.callee)
        .spawn();
    let mut caller = Client::call(&server, &callee.id)
        .relay_only()
        .hang_up_after(Duration::from_secs(7))
        .talks_as(&talk.caller)
        .spawn();
    if let Err(ended) = caller.media_started_or_ended(Duration::from_secs(20)) {
        panic!("no media ({ended}); coturn log:\n{}", turn.log_tail(40));
    }
    let stats = caller.wait_selected_path(Duration::from_secs(5));
    assert_eq!(stats["rtc"]["local_candidate"], "relay", "{stats}");
    caller.expect_exit_ok(Duration::from_secs(30));
    callee.expect_exit_ok(Duration::from_secs(15));
    talk.assert_both_heard();
}

#[test]
fn relay_only_call_through_coturn_with_issued_credentials() {
    let turn = Coturn::on_loopback();
    relay_call("relay_only", &turn, turn.server_env(LOOPBACK, false));
}

#[test]
fn relay_only_call_survives_loss_and_jitter_on_the_way_to_turn() {
    let turn = Coturn::on_loopback();
    let relay = RelayThread::from_args([
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
    // The issued TURN URL points at the impairment relay instead of coturn itself.
    let env = turn.server_env_via(LOOPBACK, &relay.addr.to_string());
    relay_call("relay_impaired", &turn, env);
    drop(relay);
}
