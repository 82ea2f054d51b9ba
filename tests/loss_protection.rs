//! The loss feedback loop on a real path: two headless clients, relay-only through a local
//! coturn, every client's media on its way to TURN passing a netem relay. The sender learns
//! the loss only from the peer's RTCP (receiver reports and XR loss runs) and reports the
//! protection it applies in its `stats` events: off on a clean line, on at 10 % loss, off
//! again once the line is clean.

use std::time::Duration;

use serde_json::Value;
use voicecall_lab::netem::RelayThread;
use voicecall_lab::support::turn::Coturn;
use voicecall_lab::support::{Client, Server, asset};

const LOOPBACK: &str = "127.0.0.1";
/// Reports come once a second; the policy reacts to the first that shows loss.
const SWITCH_ON_WITHIN: Duration = Duration::from_secs(6);
/// The policy's longer window (3 s) fills with lossy reports.
const WINDOW_FILLS_WITHIN: Duration = Duration::from_secs(6);
/// The policy holds protection for its 3 s window plus a 5 s step-down time.
const SWITCH_OFF_WITHIN: Duration = Duration::from_secs(16);

fn protection(stats: &Value) -> &Value {
    &stats["media"]["protection"]
}

fn is_stats_with(level: &'static str) -> impl Fn(&Value) -> bool {
    move |e: &Value| {
        e["event"] == "stats"
            && protection(e)["level"] == level
            && protection(e)["peer_reports"].as_u64().unwrap_or(0) > 0
    }
}

#[test]
fn protection_switches_on_at_ten_percent_loss_and_off_on_a_clean_line() {
    let turn = Coturn::on_loopback();
    let relay = RelayThread::from_args([
        "--upstream",
        &format!("{LOOPBACK}:{}", turn.port),
        "--direction",
        "up",
        "--media-only",
        "--loss",
        "0.10",
        "--seed",
        "3",
    ])
    .expect("start netem relay");
    relay.set_impaired(false);
    let server = Server::builder()
        .envs(turn.server_env_via(LOOPBACK, &relay.addr.to_string()))
        .start();
    let callee = Client::listen(&server)
        .relay_only()
        .auto_accept()
        .once()
        .input_loop(&asset("speech-b.wav"))
        .output("discard")
        .spawn();
    let mut caller = Client::call(&server, &callee.id)
        .relay_only()
        .hang_up_after(Duration::from_secs(90))
        .input_loop(&asset("speech-a.wav"))
        .output("discard")
        .spawn();
    caller.wait_media_started(Duration::from_secs(20));

    // A clean line: the call starts with one RED copy until the peer's reports fill the
    // window, then nothing is spent on protection.
    let clean = caller.wait_for(SWITCH_OFF_WITHIN, |e| {
        is_stats_with("off")(e) && protection(e)["peer_reports"].as_u64().unwrap_or(0) >= 3
    });
    assert!(
        protection(&clean)["red"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "{clean}"
    );

    relay.set_impaired(true);
    let on = caller.wait_for(SWITCH_ON_WITHIN, is_stats_with("red"));
    // One copy keeps the clean bitrate and carries in-band FEC (which rebuilds a second
    // loss in a row); more copies are paid for with the primary's bits instead.
    let copies = protection(&on)["red"].as_array().map_or(0, Vec::len);
    let bitrate = protection(&on)["bitrate_bps"].as_u64().unwrap_or(0);
    let fec = protection(&on)["fec_loss_pct"].as_u64().unwrap_or(0);
    if copies == 1 {
        assert!(bitrate == 40_000 && fec > 0, "one copy with FEC: {on}");
    } else {
        assert!(
            bitrate < 40_000 && fec == 0,
            "the copies take the primary's bits: {on}"
        );
    }
    // The switch comes at the first lossy report, while the 3 s window still holds clean
    // seconds; once it holds only lossy ones it shows about the relay's 10 %.
    let peer_loss = |e: &Value| protection(e)["peer_loss_pct"].as_f64().unwrap_or(0.0);
    let lossy = caller.wait_for(WINDOW_FILLS_WITHIN, |e| {
        is_stats_with("red")(e) && peer_loss(e) >= 4.0
    });
    assert!(peer_loss(&lossy) <= 20.0, "{lossy}");

    relay.set_impaired(false);
    let off = caller.wait_for(SWITCH_OFF_WITHIN, is_stats_with("off"));
    assert_eq!(protection(&off)["bitrate_bps"], 40_000, "{off}");
    assert_eq!(protection(&off)["fec_loss_pct"], 0, "{off}");
    // What the sender applied at each stage, for whoever runs this with --nocapture.
    for (stage, stats) in [
        ("clean", &clean),
        ("10 % loss", &on),
        ("10 % loss, window full", &lossy),
        ("clean again", &off),
    ] {
        println!("{stage}: {}", protection(stats));
    }
    drop(caller);
    drop(callee);
}
