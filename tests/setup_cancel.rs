//! A call being set up never holds up the person: Cancel and Hang-up take effect at once,
//! whatever the set-up is waiting for. Here it waits for a TURN server that swallows
//! every packet: without trickle ICE, a description must wait for candidate gathering,
//! which only gives up on that server after 5 s.
//!
//! The engines run in this process, so the test sees their events as they are sent; each
//! bound is the 200 ms, the order exact.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedReceiver;
use voicecall_core::call::{EndReason, Phase};
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_core::ice::IceServer;
use voicecall_core::id::PeerId;
use voicecall_engine::controller::{Engine, EngineConfig, EngineEvent, EngineHandle, UserCommand};
use voicecall_engine::signaling::SignalingConfig;
use voicecall_lab::support::Server;

/// How far into the set-up the person gives up.
const GIVE_UP_AFTER: Duration = Duration::from_millis(500);
/// The target (the set-up had 4.5 s left to wait): the command is handled as an
/// event in the controller's loop, so even a loaded machine ends the call well within it.
const ENDS_WITHIN: Duration = Duration::from_millis(200);

/// A TURN server that never answers: a socket nobody reads.
fn black_hole() -> UdpSocket {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the black hole")
}

fn config(server: &Server, turn: Option<&UdpSocket>) -> EngineConfig {
    let mut config = EngineConfig::new(SignalingConfig::new(server.url.clone()));
    config.rtc.bind = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
    config.media.input = InputSpec::Silence;
    config.media.output = OutputSpec::Discard;
    if let Some(turn) = turn {
        let port = turn.local_addr().expect("address").port();
        let url = format!("turn:127.0.0.1:{port}?transport=udp");
        config.rtc.ice_servers = vec![IceServer::from_url(&url, Some("user"), Some("pass"))];
        config.rtc.no_trickle = true;
    }
    config
}

struct Side {
    handle: EngineHandle,
    events: UnboundedReceiver<EngineEvent>,
    id: PeerId,
}

async fn start(config: EngineConfig) -> Side {
    let (handle, mut events, _task) = Engine::start(config).await.expect("engine starts");
    let Some(EngineEvent::Registered { id, .. }) = events.recv().await else {
        panic!("the first event is the registration");
    };
    Side { handle, events, id }
}

impl Side {
    /// The next event `pick` keeps, passing over the others (returned too, in order).
    async fn until<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&EngineEvent) -> Option<T>,
    ) -> (T, Vec<EngineEvent>) {
        let mut passed = Vec::new();
        let wait = async {
            while let Some(event) = self.events.recv().await {
                if let Some(found) = pick(&event) {
                    return found;
                }
                passed.push(event);
            }
            panic!("the engine stopped before {what}; events: {passed:?}")
        };
        match tokio::time::timeout(Duration::from_secs(20), wait).await {
            Ok(found) => (found, passed),
            Err(_) => panic!("no {what} within 20 s"),
        }
    }

    /// Gives up `GIVE_UP_AFTER` past `since` (when the engine started this phase) and
    /// returns how long the end took after the command, and what came before it.
    async fn give_up(&mut self, since: Instant) -> (EndReason, Duration, Vec<EngineEvent>) {
        tokio::time::sleep_until((since + GIVE_UP_AFTER).into()).await;
        let asked = Instant::now();
        self.handle.send(UserCommand::Hangup);
        let (reason, before) = self
            .until("the end of the call", |e| match e {
                EngineEvent::Ended { reason, .. } => Some(reason.clone()),
                _ => None,
            })
            .await;
        (reason, asked.elapsed(), before)
    }
}

/// Only tones and phases may come between the command and the end: nothing about a
/// description that went out, no warning, no failure.
fn assert_nothing_else(before: &[EngineEvent]) {
    for event in before {
        assert!(
            matches!(event, EngineEvent::Tone(_) | EngineEvent::Phase(_)),
            "unexpected before the end: {event:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_while_gathering_waits_on_a_dead_turn_server_ends_the_call_at_once() {
    let server = Server::start();
    let hole = black_hole();
    let mut caller = start(config(&server, Some(&hole))).await;
    let nobody = PeerId::parse("zzz-zzz-zzz").expect("id");
    caller.handle.send(UserCommand::Call(nobody));
    let (since, _) = caller
        .until("the outgoing phase", |e| match e {
            EngineEvent::Phase(Phase::Outgoing { since, .. }) => Some(*since),
            _ => None,
        })
        .await;

    let (reason, took, before) = caller.give_up(since).await;
    println!("cancel {GIVE_UP_AFTER:?} into the set-up: ended after {took:?}");
    assert_eq!(reason, EndReason::Cancelled);
    assert_nothing_else(&before);
    assert!(took < ENDS_WITHIN, "the cancel took {took:?}");

    // The engine is free for the next call at once.
    let again = PeerId::parse("yyy-yyy-yyy").expect("id");
    caller.handle.send(UserCommand::Call(again));
    caller
        .until("the next call", |e| {
            matches!(e, EngineEvent::Phase(Phase::Outgoing { .. })).then_some(())
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_up_while_the_answer_waits_on_a_dead_turn_server_ends_both_sides() {
    let server = Server::start();
    let hole = black_hole();
    let mut callee = start(config(&server, Some(&hole))).await;
    let mut caller = start(config(&server, None)).await;
    caller.handle.send(UserCommand::Call(callee.id.clone()));
    callee
        .until("the incoming call", |e| {
            matches!(e, EngineEvent::Phase(Phase::Incoming { .. })).then_some(())
        })
        .await;
    callee.handle.send(UserCommand::Accept);
    let (since, _) = callee
        .until("the connecting phase", |e| match e {
            EngineEvent::Phase(Phase::Connecting { since, .. }) => Some(*since),
            _ => None,
        })
        .await;

    let (reason, took, before) = callee.give_up(since).await;
    println!("hang-up {GIVE_UP_AFTER:?} into the answer: ended after {took:?}");
    assert_eq!(reason, EndReason::HungUp);
    assert_nothing_else(&before);
    assert!(took < ENDS_WITHIN, "the hang-up took {took:?}");

    // The hang-up went out at once too: the caller, still waiting for an answer, is told.
    let (reason, _) = caller
        .until("the caller's end", |e| match e {
            EngineEvent::Ended { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .await;
    assert!(
        matches!(reason, EndReason::Declined | EndReason::HungUpByPeer),
        "the caller heard {reason:?}"
    );
}
