//! The session machine with a fake clock: no sockets, no sleeps.

mod ice;
mod outbox;
mod properties;
mod reconnect;
mod registration;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;
use crate::id::{CallId, PeerId};
use crate::signaling::message::{Body, Outbound};

const A: &str = "http://a.test:1";
const B: &str = "http://b.test:2";
const C: &str = "http://c.test:3";
const ME: &str = "k7m-q2x-9fd";
const TOKEN: &str = "t0k3n-abcdefghijkl";
const PEER: &str = "ccc-ccc-ccc";
const SECOND: Duration = Duration::from_secs(1);

fn id(s: &str) -> PeerId {
    PeerId::parse(s).expect("test id")
}

fn config(servers: &[&str]) -> SignalingConfig {
    let mut config = SignalingConfig::new(servers.first().copied().unwrap_or_default());
    config.servers = servers.iter().map(|s| s.to_string()).collect();
    config
}

fn claiming(servers: &[&str]) -> SignalingConfig {
    let mut config = config(servers);
    config.id = Some(id(ME));
    config.token = Some(TOKEN.into());
    config
}

/// A message to the peer, told apart by its call ID `q<n>`.
fn msg(n: u32) -> Outbound {
    Outbound {
        to: id(PEER),
        call_id: Some(CallId::parse(&format!("q{n}")).expect("call id")),
        body: Body::Ringing,
    }
}

/// Which `msg(n)` a transmitted payload is.
fn msg_number(payload: &Value) -> u32 {
    payload["callId"]
        .as_str()
        .and_then(|c| c.strip_prefix('q'))
        .and_then(|n| n.parse().ok())
        .expect("a test message")
}

fn registered_args(reclaimed: bool) -> Vec<Value> {
    vec![json!({"id": ME, "token": TOKEN, "reclaimed": reclaimed})]
}

fn ice_args(ttl: u64, user: &str) -> Vec<Value> {
    vec![
        json!({"iceServers": [{"urls": ["turn:127.0.0.1:3478"], "username": user, "credential": "c"}], "ttl": ttl}),
    ]
}

struct Harness {
    m: SessionMachine,
    t0: Instant,
    now: Instant,
}

impl Harness {
    fn new(config: SignalingConfig) -> Self {
        let t0 = Instant::now();
        Self {
            m: SessionMachine::new(config, t0, 7),
            t0,
            now: t0,
        }
    }

    /// Moves the clock to `t0 + after`.
    fn at(&mut self, after: Duration) -> &mut Self {
        self.now = self.t0 + after;
        self
    }

    fn later(&mut self, by: Duration) -> &mut Self {
        self.now += by;
        self
    }

    fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.m.poll_output()).collect()
    }

    fn run(&mut self, input: Input) -> Vec<Output> {
        self.m.handle(input, self.now);
        self.drain()
    }

    /// Moves the clock to the machine's next deadline and fires it.
    fn fire(&mut self) -> Vec<Output> {
        self.now = self.m.poll_timeout().expect("a deadline");
        self.run(Input::Tick)
    }

    fn conn(&self) -> ConnId {
        self.m.conn().expect("a connection")
    }

    fn receive(&mut self, event: &str, args: Vec<Value>) -> Vec<Output> {
        let conn = self.conn();
        self.run(Input::Received {
            conn,
            event: event.into(),
            args,
        })
    }

    /// A current server registers us: `open`, `your_id`, `registered`, `ice_servers`.
    fn register(&mut self, reclaimed: bool) -> Vec<Output> {
        let conn = self.conn();
        let mut out = self.run(Input::Opened { conn });
        out.extend(self.receive("your_id", vec![json!(ME)]));
        out.extend(self.receive("registered", registered_args(reclaimed)));
        out.extend(self.receive("ice_servers", ice_args(86_400, ME)));
        out
    }

    /// The current connection drops.
    fn lose(&mut self) -> Vec<Output> {
        let conn = self.conn();
        self.run(Input::Closed {
            conn,
            reason: "transport close".into(),
        })
    }

    /// The current attempt is refused at once (a closed port).
    fn refuse(&mut self) -> Vec<Output> {
        let conn = self.conn();
        self.run(Input::ConnectFailed {
            conn,
            reason: "connection refused".into(),
        })
    }
}

impl Harness {
    // ----- the outbox -----

    fn send(&mut self, n: u32) -> Vec<Output> {
        self.run(Input::Send(msg(n)))
    }

    fn sent(&mut self) -> Vec<Output> {
        let conn = self.conn();
        self.run(Input::Sent { conn })
    }

    /// Confirms every transmit until the outbox is empty; returns what went out.
    fn deliver_all(&mut self, mut out: Vec<Output>) -> Vec<u32> {
        let mut delivered = Vec::new();
        while let Some(n) = transmitted(&out).first().copied() {
            delivered.push(n);
            out = self.sent();
        }
        delivered
    }
}

fn events(outputs: &[Output]) -> Vec<SignalingEvent> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// The `(url, auth)` of every `Connect`.
fn connects(outputs: &[Output]) -> Vec<(String, Option<Value>)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Connect { url, auth, .. } => Some((url.clone(), auth.clone())),
            _ => None,
        })
        .collect()
}

/// The `msg(n)` numbers of every message `Transmit`.
fn transmitted(outputs: &[Output]) -> Vec<u32> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Transmit { event, payload, .. } if *event != "get_ice_servers" => {
                Some(msg_number(payload))
            }
            _ => None,
        })
        .collect()
}

fn registrations(outputs: &[Output]) -> usize {
    events(outputs)
        .iter()
        .filter(|e| matches!(e, SignalingEvent::Registered(_)))
        .count()
}
