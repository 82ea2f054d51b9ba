//! Call setup time: from `UserCommand::Call` to the caller's first decoded remote audio
//! frame (`EngineEvent::FirstAudio`), two engines in this process on loopback, with the
//! signaling server issuing STUN and TURN servers (a local coturn) to both; once with
//! coturn on loopback and once with it 50 ms round trip away (behind a delaying relay).
//!
//! Trickle ICE (ours) against `no_trickle` (the seed client's design: wait for gathering to
//! finish, then send the description with every candidate in it). Calls alternate between
//! the two modes so drift in machine load hits both alike. Two more modes put webrtc-rs'
//! connection drivers on the bench's runtime instead of the raised `voicecall-rtc` thread
//! (`RtcConfig::driver_thread`), on the host path and relay-only.
//!
//! `cargo bench --bench setup_time [-- --calls N]`

mod common;

use std::time::{Duration, Instant};

use common::support::Server;
use common::support::turn::Coturn;
use common::{
    LOOPBACK, Peer, Report, Summary, arg, engine_config, invoked_as_benchmark, machine, ms, runtime,
};
use voicecall_core::call::Phase;
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_engine::controller::{EngineEvent, UserCommand};

const WARMUP_CALLS: usize = 2;
const DEFAULT_CALLS: usize = 30;
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// Between calls, so the last call's teardown is not in the next one's window.
const PAUSE: Duration = Duration::from_millis(300);

/// Milestones of one call, from the moment the caller sent `Call`.
#[derive(Debug, Default, Clone)]
struct Timing {
    /// The callee's `ringing` came back (offer delivered, peer connection being built).
    ringing: Option<Duration>,
    /// The answer arrived (caller enters `Connecting`).
    answered: Option<Duration>,
    /// ICE and DTLS are up (caller's `MediaStarted`).
    connected: Option<Duration>,
    /// The caller decoded the callee's first frame.
    first_audio: Option<Duration>,
    /// The callee decoded the caller's first frame.
    callee_first_audio: Option<Duration>,
    path: String,
}

async fn one_call(caller: &mut Peer, callee: &mut Peer) -> Timing {
    let mut t = Timing::default();
    let started = Instant::now();
    caller.send(UserCommand::Call(callee.id.clone()));
    let deadline = tokio::time::sleep(CALL_TIMEOUT);
    tokio::pin!(deadline);
    while t.first_audio.is_none() || t.callee_first_audio.is_none() || t.path.is_empty() {
        tokio::select! {
            event = caller.events.recv() => {
                let now = started.elapsed();
                match event {
                    Some(EngineEvent::Phase(Phase::Outgoing { ringing: true, .. })) => {
                        t.ringing = Some(now)
                    }
                    Some(EngineEvent::Phase(Phase::Connecting { .. })) => t.answered = Some(now),
                    Some(EngineEvent::MediaStarted { .. }) => t.connected = Some(now),
                    Some(EngineEvent::FirstAudio { at, .. }) => {
                        t.first_audio = Some(at.saturating_duration_since(started))
                    }
                    Some(EngineEvent::Stats { rtc, .. }) if rtc.local_candidate.is_some() => {
                        t.path = format!("{:?}/{:?}", rtc.local_candidate, rtc.remote_candidate)
                            .replace("Some(", "")
                            .replace(')', "")
                            .to_lowercase();
                    }
                    Some(EngineEvent::Ended { reason, .. }) => panic!("call ended: {reason}"),
                    Some(_) => {}
                    None => panic!("caller engine stopped"),
                }
            }
            event = callee.events.recv() => match event {
                Some(EngineEvent::Phase(Phase::Incoming { .. })) => callee.send(UserCommand::Accept),
                Some(EngineEvent::FirstAudio { at, .. }) => {
                    t.callee_first_audio = Some(at.saturating_duration_since(started))
                }
                Some(EngineEvent::Ended { reason, .. }) => panic!("callee's call ended: {reason}"),
                Some(_) => {}
                None => panic!("callee engine stopped"),
            },
            _ = &mut deadline => panic!("call did not become audible within {CALL_TIMEOUT:?}: {t:?}"),
        }
    }
    caller.hang_up(callee, CALL_TIMEOUT).await;
    tokio::time::sleep(PAUSE).await;
    t
}

struct Mode {
    name: &'static str,
    caller: Peer,
    callee: Peer,
    timings: Vec<Timing>,
}

fn column(timings: &[Timing], pick: impl Fn(&Timing) -> Option<Duration>) -> Option<Summary> {
    let values: Vec<f64> = timings.iter().filter_map(|t| pick(t).map(ms)).collect();
    Summary::of(&values)
}

/// One-way delay between the clients and the STUN/TURN server in the second run: a TURN
/// server 50 ms round trip away is ordinary on the internet, and it is where waiting for
/// gathering (the seed's design) costs, since a TURN allocation takes two round trips.
const FAR_TURN_ONE_WAY: Duration = Duration::from_millis(25);

fn main() {
    if !invoked_as_benchmark("setup_time") {
        return;
    }
    let calls = arg("--calls", DEFAULT_CALLS as f64) as usize;
    let turn = Coturn::on_loopback();
    let runtime = runtime();
    let mut report = Report::new();
    report.line(format!("\n### Call setup time ({calls} calls per mode)\n"));
    report.line(format!("machine: {}", machine()));

    let near = turn.server_env(LOOPBACK, false);
    measure(&runtime, &mut report, calls, "STUN/TURN on loopback", &near);

    // The same coturn behind a relay that delays every datagram both ways.
    let turn_addr = std::net::SocketAddr::from(([127, 0, 0, 1], turn.port));
    let relay = runtime.block_on(voicecall_lab::netem::run_relay(
        voicecall_lab::netem::RelayConfig {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            upstream: turn_addr,
            impairment: voicecall_lab::netem::ImpairmentConfig {
                delay: FAR_TURN_ONE_WAY,
                ..Default::default()
            },
            direction: voicecall_lab::netem::Direction::Both,
            // Setup time is made of STUN/TURN and DTLS exchanges: those must be delayed too.
            media_only: false,
        },
    ));
    let (relay_addr, _stats, _task) = match relay {
        Ok(relay) => relay,
        Err(err) => panic!("delay relay: {err}"),
    };
    let far: Vec<(String, String)> = near
        .iter()
        .map(|(k, v)| {
            let v = v.replace(&turn_addr.to_string(), &relay_addr.to_string());
            (k.clone(), v)
        })
        .collect();
    let title = format!(
        "STUN/TURN {} ms round trip away",
        2 * FAR_TURN_ONE_WAY.as_millis()
    );
    measure(&runtime, &mut report, calls, &title, &far);
}

/// Alternates calls in both modes against a signaling server issuing `env`'s ICE servers.
fn measure(
    runtime: &tokio::runtime::Runtime,
    report: &mut Report,
    calls: usize,
    title: &str,
    env: &[(String, String)],
) {
    // Dozens of calls a minute to one callee is what the server's flood limits are there
    // to stop; here it is the point.
    let server = Server::builder()
        .for_benchmarks()
        .envs(env.iter().cloned())
        .start();
    report.line(format!("\n#### {title}\n"));
    report.line(format!(
        "ICE servers issued by the signaling server: {}\n",
        env.iter()
            .filter(|(k, _)| k.ends_with("_URLS"))
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    runtime.block_on(async {
        let start_pair = |no_trickle: bool, relay_only: bool, driver_thread: bool| {
            let url = server.url.clone();
            async move {
                let config = || {
                    engine_config(&url, InputSpec::Silence, OutputSpec::Discard, |c| {
                        c.rtc.no_trickle = no_trickle;
                        c.rtc.relay_only = relay_only;
                        c.rtc.driver_thread = driver_thread;
                    })
                };
                (Peer::start(config()).await, Peer::start(config()).await)
            }
        };
        let (caller, callee) = start_pair(false, false, true).await;
        let trickle = Mode {
            name: "trickle ICE (ours)",
            caller,
            callee,
            timings: Vec::new(),
        };
        let (caller, callee) = start_pair(true, false, true).await;
        let seed = Mode {
            name: "no trickle (seed design)",
            caller,
            callee,
            timings: Vec::new(),
        };
        // Both ends forced through the TURN server, as behind symmetric NATs.
        let (caller, callee) = start_pair(false, true, true).await;
        let relay = Mode {
            name: "trickle ICE, relay only",
            caller,
            callee,
            timings: Vec::new(),
        };
        // webrtc-rs' drivers on this runtime, not the raised `voicecall-rtc` thread.
        let (caller, callee) = start_pair(false, false, false).await;
        let shared = Mode {
            name: "trickle ICE, driver on the shared runtime",
            caller,
            callee,
            timings: Vec::new(),
        };
        let (caller, callee) = start_pair(false, true, false).await;
        let relay_shared = Mode {
            name: "relay only, driver on the shared runtime",
            caller,
            callee,
            timings: Vec::new(),
        };
        let mut modes = [trickle, seed, relay, shared, relay_shared];
        for round in 0..WARMUP_CALLS + calls {
            for mode in modes.iter_mut() {
                let timing = one_call(&mut mode.caller, &mut mode.callee).await;
                if round >= WARMUP_CALLS {
                    mode.timings.push(timing);
                }
            }
        }
        report.line("| mode | calls | median ms | p95 ms | min ms | max ms | path |");
        report.line("|---|---:|---:|---:|---:|---:|---|");
        let mut medians = Vec::new();
        for mode in &modes {
            let paths: std::collections::BTreeSet<&str> =
                mode.timings.iter().map(|t| t.path.as_str()).collect();
            if let Some(s) = column(&mode.timings, |t| t.first_audio) {
                medians.push(s.p50);
                report.line(format!(
                    "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
                    mode.name,
                    s.n,
                    s.p50,
                    s.p95,
                    s.min,
                    s.max,
                    paths.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        if let [ours, seed, ..] = medians[..] {
            report.line(format!(
                "\nno-trickle median / trickle median = **{:.2}×**",
                seed / ours
            ));
        }
        report.line("\nWhere the time goes (medians, ms after `Call`; each column is its own median):\n");
        report.line("| mode | ringing back | answer in | ICE+DTLS up | caller hears callee | callee hears caller |");
        report.line("|---|---:|---:|---:|---:|---:|");
        for mode in &modes {
            let cell = |pick: fn(&Timing) -> Option<Duration>| {
                column(&mode.timings, pick).map_or("–".to_owned(), |s| format!("{:.1}", s.p50))
            };
            report.line(format!(
                "| {} | {} | {} | {} | {} | {} |",
                mode.name,
                cell(|t| t.ringing),
                cell(|t| t.answered),
                cell(|t| t.connected),
                cell(|t| t.first_audio),
                cell(|t| t.callee_first_audio),
            ));
        }
        for mode in modes {
            mode.caller.stop().await;
            mode.callee.stop().await;
        }
    });
}
