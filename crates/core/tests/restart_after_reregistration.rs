//! The call machine and the signaling session wired the way the engine's controller wires
//! them: a caller whose signaling connection and media path die together gets its ICE
//! restart offer to the peer once it is registered again, once. Fake clock, fake network.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use voicecall_core::call::{CallMachine, CallTimings, Command, Input as CallInput, RtcState};
use voicecall_core::id::{CallId, PeerId};
use voicecall_core::signaling::message::{Body, Inbound, SdpKind, SessionDescription};
use voicecall_core::signaling::session::{
    Input, Output, SessionMachine, SignalingConfig, SignalingEvent,
};

const SERVER: &str = "http://a.test:1";
const ME: &str = "k7m-q2x-9fd";
const PEER: &str = "ccc-ccc-ccc";

fn id(s: &str) -> PeerId {
    PeerId::parse(s).expect("test id")
}

fn call_id() -> CallId {
    CallId::parse("call1").expect("call id")
}

fn offer(tag: &str) -> SessionDescription {
    SessionDescription {
        kind: SdpKind::Offer,
        sdp: format!("v=0 {tag}"),
    }
}

/// The tags of the offers among `outputs`' transmits.
fn offers(outputs: &[Output]) -> Vec<String> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Transmit { event, payload, .. } if *event == "offer_sdp" => {
                let inner: Value = serde_json::from_str(payload["sdp"].as_str()?).ok()?;
                Some(inner["sdp"].as_str()?.trim_start_matches("v=0 ").to_owned())
            }
            _ => None,
        })
        .collect()
}

struct Wired {
    call: CallMachine,
    session: SessionMachine,
    now: Instant,
    /// ICE restarts the call machine asked for; each becomes offer `restart-<n>`.
    restarts: u32,
}

impl Wired {
    fn new() -> Self {
        let now = Instant::now();
        Self {
            call: CallMachine::new(CallTimings::default()),
            session: SessionMachine::new(SignalingConfig::new(SERVER), now, 1),
            now,
            restarts: 0,
        }
    }

    fn call(&mut self, input: CallInput) -> Vec<Output> {
        let mut pending = vec![input];
        let mut out = Vec::new();
        while let Some(input) = pending.pop() {
            self.call.handle(input, self.now);
            while let Some(command) = self.call.poll_command() {
                match command {
                    Command::Send(msg) => out.extend(self.session(Input::Send(msg))),
                    Command::RestartIce => {
                        self.restarts += 1;
                        let tag = format!("restart-{}", self.restarts);
                        pending.push(CallInput::LocalDescription(offer(&tag)));
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// Feeds the session; the network takes every transmit, and registrations reach the
    /// call machine.
    fn session(&mut self, input: Input) -> Vec<Output> {
        self.session.handle(input, self.now);
        let mut all = Vec::new();
        while let Some(output) = self.session.poll_output() {
            let more = match &output {
                Output::Transmit { conn, .. } => {
                    self.session.handle(Input::Sent { conn: *conn }, self.now);
                    Vec::new()
                }
                Output::Event(SignalingEvent::Registered(r)) => {
                    self.call(CallInput::Registered { id: r.id.clone() })
                }
                _ => Vec::new(),
            };
            all.push(output);
            all.extend(more);
        }
        all
    }

    /// Places a call to the peer and takes it to `InCall`.
    fn in_call(&mut self) {
        self.call(CallInput::PlaceCall {
            peer: id(PEER),
            call_id: call_id(),
        });
        let out = self.call(CallInput::LocalDescription(offer("offer")));
        assert_eq!(offers(&out), ["offer"]);
        self.call(CallInput::Signal(Inbound {
            from: id(PEER),
            call_id: Some(call_id()),
            body: Body::Description {
                desc: SessionDescription {
                    kind: SdpKind::Answer,
                    sdp: "v=0 answer".into(),
                },
                sas: None,
            },
        }));
        self.call(CallInput::Rtc(RtcState::Connected));
    }

    /// The server (re-)registers us.
    fn register(&mut self, reclaimed: bool) -> Vec<Output> {
        let conn = self.session.conn().expect("an attempt");
        let received = |event: &str, arg: Value| Input::Received {
            conn,
            event: event.into(),
            args: vec![arg],
        };
        let mut out = self.session(Input::Opened { conn });
        let registered = json!({"id": ME, "token": "t0k3n-abcdefghijkl", "reclaimed": reclaimed});
        out.extend(self.session(received("registered", registered)));
        out.extend(self.session(received("ice_servers", json!({"iceServers": [], "ttl": 0}))));
        out
    }
}

#[test]
fn the_restart_offer_reaches_the_peer_after_re_registering() {
    let mut w = Wired::new();
    w.session.poll_output();
    w.register(false);
    w.in_call();

    // The network changes: the media path goes down, and the restart offer goes into a
    // signaling connection that is dead too, though nobody knows it yet.
    w.now += Duration::from_secs(30);
    let out = w.call(CallInput::Rtc(RtcState::Disconnected));
    assert_eq!(offers(&out), ["restart-1"]);
    // The next write meets the reset: the connection is gone.
    w.now += Duration::from_millis(20);
    let conn = w.session.conn().expect("online");
    w.session(Input::Closed {
        conn,
        reason: "connection reset".into(),
    });

    // Registered again half a second later: the offer goes out again, and only it (a
    // second offer would cross it, and its answer would find the caller already stable).
    w.now += Duration::from_millis(500);
    let out = w.register(true);
    assert_eq!(offers(&out), ["restart-1"]);
    assert_eq!(w.restarts, 1);
}

#[test]
fn a_restart_offer_made_while_offline_goes_out_once_registered() {
    let mut w = Wired::new();
    w.session.poll_output();
    w.register(false);
    w.in_call();
    w.now += Duration::from_secs(30);
    let conn = w.session.conn().expect("online");
    w.session(Input::Closed {
        conn,
        reason: "transport close".into(),
    });
    let out = w.call(CallInput::Rtc(RtcState::Disconnected));
    assert!(offers(&out).is_empty());
    w.now += Duration::from_millis(500);
    let out = w.register(true);
    assert_eq!(offers(&out), ["restart-1"]);
}
