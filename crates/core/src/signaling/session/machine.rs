use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::id::PeerId;
use crate::signaling::message::{ErrorCode, Outbound, ServerError};
use crate::signaling::wire::{self, Registration, ServerEvent};

use super::config::SignalingConfig;
use super::duplicates::Duplicates;
use super::error::{CloseReason, SignalingError, ends_session};
use super::ice::{IceRefresh, IssuedIceServers};
use super::input::{ConnId, Input};
use super::outbox::Outbox;
use super::output::{Output, SignalingEvent};

#[derive(Debug)]
enum State {
    /// Between two rounds of reconnect attempts.
    Waiting {
        until: Instant,
    },
    /// Opening this attempt's connection.
    Connecting {
        conn: ConnId,
        until: Instant,
    },
    /// Connected; waiting for the server to register us.
    Registering {
        conn: ConnId,
        until: Instant,
        heard: Heard,
    },
    Online {
        conn: ConnId,
    },
    /// Refused, given up, or left: nothing happens any more.
    Closed,
}

/// A registration heard on the connection but not settled yet.
#[derive(Debug)]
enum Heard {
    Nothing,
    /// Only `your_id` so far: a seed server, unless `registered` follows by `until`.
    YourId {
        id: PeerId,
        until: Instant,
    },
    /// `registered`; its `ice_servers` follows at once, or not at all by `until`.
    Registered {
        registration: Registration,
        until: Instant,
    },
}

impl Heard {
    fn until(&self) -> Option<Instant> {
        match self {
            Heard::Nothing => None,
            Heard::YourId { until, .. } | Heard::Registered { until, .. } => Some(*until),
        }
    }
}

/// A message that went out on the current connection: if the connection turns out to
/// have been dead, it may have died with it.
#[derive(Debug)]
struct Sent {
    at: Instant,
    queued_at: Instant,
    msg: Outbound,
}

/// What the outstanding `Output::Transmit` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InFlight {
    /// The outbox's front message: it leaves the outbox once `Sent` confirms it.
    Message,
    IceRequest,
}

/// The signaling session, sans-IO: where to connect and when, as whom, what to send, and
/// what the server's answers mean. See the module docs.
#[derive(Debug)]
pub struct SessionMachine {
    config: SignalingConfig,
    state: State,
    /// Index into `config.servers` of the current (or last) attempt.
    server: usize,
    next_conn: u64,
    /// The ID and token to present; every registration updates them.
    identity: Option<(PeerId, String)>,
    registration: Option<Registration>,
    /// A server has sent `registered`: its `your_id` is then only a copy.
    server_registers: bool,
    /// Failed attempts since the last registration (or since the start).
    failures: u32,
    /// Attempts made in the current round; a round tries each server once.
    in_round: usize,
    /// Rounds that failed completely since the last registration.
    rounds: u32,
    outbox: Outbox,
    in_flight: Option<InFlight>,
    /// Sent within `in_doubt`, oldest first.
    recent: VecDeque<Sent>,
    duplicates: Duplicates,
    issued: IssuedIceServers,
    refresh: IceRefresh,
    /// `Input::Flush` requests waiting for the outbox to empty.
    flushes: Vec<u64>,
    /// While rejoining, when the flushes may be answered: the server has had time to
    /// bounce what went out last.
    flush_at: Option<Instant>,
    /// When we registered again after losing the connection (see
    /// `SessionTimings::rejoin_grace`); `None` on the first registration.
    rejoined_at: Option<Instant>,
    /// Messages the server could not deliver yet because their peer has not re-registered,
    /// each with when to send it again.
    unreached: VecDeque<(Instant, Sent)>,
    /// Jitter for the waits between rounds; seeded by the caller, so tests are exact.
    rng: StdRng,
    outputs: VecDeque<Output>,
}

impl SessionMachine {
    /// Starts the first attempt at once (`poll_output` has the `Connect`).
    pub fn new(config: SignalingConfig, now: Instant, seed: u64) -> Self {
        let identity = config
            .id
            .clone()
            .map(|id| (id, config.token.clone().unwrap_or_default()));
        let mut machine = Self {
            outbox: Outbox::new(config.timings.outbox_max_age),
            // A copy is sent at most `outbox_max_age` after the original was queued, so
            // after it was received; twice that leaves room for the transit.
            duplicates: Duplicates::new(2 * config.timings.outbox_max_age),
            recent: VecDeque::new(),
            config,
            state: State::Closed,
            server: 0,
            next_conn: 0,
            identity,
            registration: None,
            server_registers: false,
            failures: 0,
            in_round: 0,
            rounds: 0,
            in_flight: None,
            issued: IssuedIceServers::default(),
            refresh: IceRefresh::default(),
            flushes: Vec::new(),
            flush_at: None,
            rejoined_at: None,
            unreached: VecDeque::new(),
            rng: StdRng::seed_from_u64(seed),
            outputs: VecDeque::new(),
        };
        if machine.config.servers.is_empty() {
            machine.event(SignalingEvent::Unavailable(SignalingError::NoServers));
        } else {
            machine.connect(now);
        }
        machine
    }

    /// The next thing to do, in order. Drain after every `handle`.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When to call `handle(Input::Tick, now)` next, if anything is waiting on the clock.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let state = match &self.state {
            State::Waiting { until } | State::Connecting { until, .. } => Some(*until),
            State::Registering { until, heard, .. } => {
                Some(heard.until().map_or(*until, |heard| heard.min(*until)))
            }
            State::Online { .. } | State::Closed => None,
        };
        let retry = self.unreached.front().map(|(at, _)| *at);
        let flush = self.flush_at.filter(|_| !self.flushes.is_empty());
        state
            .into_iter()
            .chain(self.refresh.until)
            .chain(retry)
            .chain(flush)
            .min()
    }

    /// The connection the session is using or opening, if any.
    pub fn conn(&self) -> Option<ConnId> {
        match self.state {
            State::Connecting { conn, .. }
            | State::Registering { conn, .. }
            | State::Online { conn } => Some(conn),
            State::Waiting { .. } | State::Closed => None,
        }
    }

    /// The server of the current (or, between attempts, the last) attempt.
    pub fn server(&self) -> &str {
        self.config
            .servers
            .get(self.server)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// The last registration the server confirmed.
    pub fn registration(&self) -> Option<&Registration> {
        self.registration.as_ref()
    }

    pub fn issued_ice_servers(&self) -> &IssuedIceServers {
        &self.issued
    }

    pub fn is_online(&self) -> bool {
        matches!(self.state, State::Online { .. })
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    pub fn handle(&mut self, input: Input, now: Instant) {
        match input {
            Input::Opened { conn } if self.is_current(conn) => self.opened(conn, now),
            Input::ConnectFailed { conn, reason } | Input::Closed { conn, reason }
                if self.is_current(conn) =>
            {
                self.lost(reason, now)
            }
            Input::TransportError { conn, args } if self.is_current(conn) => {
                // The seed-compatible copy of a server error, handled as `server_error`.
                if wire::decode_server_error(&args).is_none() {
                    self.lost(transport_reason(&args), now);
                }
            }
            Input::Received { conn, event, args } if self.is_current(conn) => {
                self.received(conn, &event, &args, now)
            }
            Input::Sent { conn } if self.is_current(conn) => {
                if self.in_flight.take() == Some(InFlight::Message)
                    && let Some((queued_at, msg)) = self.outbox.pop_front()
                {
                    self.recent.push_back(Sent {
                        at: now,
                        queued_at,
                        msg,
                    });
                }
                let in_doubt = self.config.timings.in_doubt;
                while self
                    .recent
                    .front()
                    .is_some_and(|sent| now.saturating_duration_since(sent.at) > in_doubt)
                {
                    self.recent.pop_front();
                }
                self.pump(now);
            }
            Input::SendFailed { conn, reason } if self.is_current(conn) => {
                // The message stays at the front of the outbox for the next connection.
                self.in_flight = None;
                self.lost(reason, now);
            }
            Input::Send(msg) => self.send(msg, now),
            Input::WantIceServers { request } => self.want_ice_servers(request, now),
            Input::Flush { request } => self.flushes.push(request),
            Input::Tick => self.tick(now),
            Input::Close => {
                if let Some(conn) = self.conn() {
                    self.push(Output::Disconnect { conn });
                }
                self.finish();
            }
            // From a connection the session has left.
            Input::Opened { .. }
            | Input::ConnectFailed { .. }
            | Input::Closed { .. }
            | Input::TransportError { .. }
            | Input::Received { .. }
            | Input::Sent { .. }
            | Input::SendFailed { .. } => {}
        }
        self.answer_flushes(now);
    }

    /// Answers the flush requests once nothing sent before them is left to go out (and,
    /// while rejoining, once the server has had time to bounce the last message).
    fn answer_flushes(&mut self, now: Instant) {
        let idle = self.outbox.is_empty()
            && self.unreached.is_empty()
            && self.in_flight != Some(InFlight::Message);
        if self.flushes.is_empty() || !idle {
            return;
        }
        if self.rejoining(now) {
            let retry = self.config.timings.rejoin_retry;
            let quiet_at = self.recent.back().map(|sent| sent.at + retry);
            if let Some(quiet_at) = quiet_at.filter(|at| now < *at) {
                self.flush_at = Some(quiet_at);
                return;
            }
        }
        self.flush_at = None;
        for request in std::mem::take(&mut self.flushes) {
            self.push(Output::Flushed {
                request,
                complete: true,
            });
        }
    }

    /// Within the grace after re-registering (see `SessionTimings::rejoin_grace`).
    fn rejoining(&self, now: Instant) -> bool {
        self.rejoined_at
            .is_some_and(|at| now.saturating_duration_since(at) < self.config.timings.rejoin_grace)
    }

    fn is_current(&self, conn: ConnId) -> bool {
        self.conn() == Some(conn)
    }

    fn push(&mut self, output: Output) {
        self.outputs.push_back(output);
    }

    fn event(&mut self, event: SignalingEvent) {
        self.push(Output::Event(event));
    }

    // ----- attempts -----------------------------------------------------------------

    fn connect(&mut self, now: Instant) {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        self.in_round += 1;
        let auth = self
            .identity
            .as_ref()
            .map(|(id, token)| wire::encode_auth(id, token));
        self.state = State::Connecting {
            conn,
            until: now + self.config.connect_timeout,
        };
        let url = self.server().to_owned();
        self.push(Output::Connect { conn, url, auth });
    }

    /// The next reconnect attempt, to the next server in the rotation: after a loss the
    /// server we were on is the one most likely down.
    fn reconnect(&mut self, now: Instant) {
        self.server = (self.server + 1) % self.config.servers.len().max(1);
        self.event(SignalingEvent::Reconnecting {
            attempt: self.failures + 1,
            server: self.server().to_owned(),
        });
        self.connect(now);
    }

    fn opened(&mut self, conn: ConnId, now: Instant) {
        if let State::Connecting { .. } = self.state {
            self.state = State::Registering {
                conn,
                until: now + self.config.connect_timeout,
                heard: Heard::Nothing,
            };
        }
    }

    /// The connection is gone, or never came up.
    fn lost(&mut self, reason: String, now: Instant) {
        match self.state {
            State::Connecting { conn, .. } | State::Registering { conn, .. } => {
                let url = self.server().to_owned();
                self.attempt_failed(conn, SignalingError::Unreachable { url, reason }, now);
            }
            State::Online { conn } => {
                self.push(Output::Disconnect { conn });
                self.in_flight = None;
                self.requeue_in_doubt(now);
                self.in_round = 0;
                self.event(SignalingEvent::Disconnected { reason });
                self.reconnect(now);
            }
            State::Waiting { .. } | State::Closed => {}
        }
    }

    fn attempt_failed(&mut self, conn: ConnId, error: SignalingError, now: Instant) {
        self.push(Output::Disconnect { conn });
        self.in_flight = None;
        self.failures += 1;
        let count = self.config.servers.len();
        if self.registration.is_none() {
            // Never registered: each server once, in order, then say why none took us.
            if self.in_round >= count {
                self.event(SignalingEvent::Unavailable(error));
                self.finish();
            } else {
                self.server += 1;
                self.connect(now);
            }
            return;
        }
        if let Some(max) = self.config.timings.backoff.max_attempts
            && self.failures >= max
        {
            let attempts = self.failures;
            self.event(SignalingEvent::Closed(CloseReason::GaveUp { attempts }));
            self.finish();
            return;
        }
        if self.in_round < count {
            self.reconnect(now);
            return;
        }
        self.rounds += 1;
        self.in_round = 0;
        let nominal = self
            .config
            .timings
            .backoff
            .nominal(self.rounds, self.failures);
        let wait = self.jittered(nominal);
        self.state = State::Waiting { until: now + wait };
    }

    /// Somewhere in the later half of `nominal`.
    fn jittered(&mut self, nominal: Duration) -> Duration {
        let half = u64::try_from(nominal.as_millis() / 2).unwrap_or(u64::MAX / 2);
        Duration::from_millis(half + self.rng.random_range(0..=half))
    }

    fn tick(&mut self, now: Instant) {
        if self.refresh.until.is_some_and(|until| now >= until) {
            self.answer_ice_servers();
        }
        self.retry_unreached(now);
        match &mut self.state {
            State::Waiting { until } if now >= *until => self.reconnect(now),
            State::Connecting { conn, until } if now >= *until => {
                let conn = *conn;
                let url = self.server().to_owned();
                let secs = self.config.connect_timeout.as_secs().max(1);
                let reason = format!("no answer within {secs} s");
                self.attempt_failed(conn, SignalingError::Unreachable { url, reason }, now);
            }
            State::Registering { conn, until, heard } => {
                let due = heard.until().map_or(*until, |heard| heard.min(*until));
                if now < due {
                    return;
                }
                let conn = *conn;
                match std::mem::replace(heard, Heard::Nothing) {
                    Heard::Registered { registration, .. } => {
                        self.go_online(conn, registration, now)
                    }
                    Heard::YourId { id, .. } => {
                        // A seed server: it has no tokens, so the ID will not survive a
                        // reconnect.
                        let registration = Registration {
                            id,
                            token: String::new(),
                            reclaimed: false,
                        };
                        self.go_online(conn, registration, now);
                    }
                    Heard::Nothing => {
                        let url = self.server().to_owned();
                        let secs = self.config.connect_timeout.as_secs().max(1);
                        self.attempt_failed(conn, SignalingError::Timeout { url, secs }, now);
                    }
                }
            }
            _ => {}
        }
    }

    // ----- what the server says -----------------------------------------------------

    fn received(&mut self, conn: ConnId, event: &str, args: &[Value], now: Instant) {
        // rust_socketio reports `open` before any event; should one still come first, the
        // event itself shows the connection is open.
        self.opened(conn, now);
        let decoded = match wire::decode_event(event, args) {
            Ok(Some(decoded)) => decoded,
            Ok(None) => return,
            Err(error) => {
                let event = event.to_owned();
                return self.event(SignalingEvent::Malformed { event, error });
            }
        };
        match decoded {
            ServerEvent::Relayed(msg) => {
                if !self.duplicates.is_repeat(&msg, now) {
                    self.event(SignalingEvent::Message(msg));
                }
            }
            ServerEvent::YourId(id) => self.your_id(id, now),
            ServerEvent::Registered(registration) => self.registered(registration, now),
            ServerEvent::IceServers { servers, ttl } => {
                self.issued = IssuedIceServers {
                    servers,
                    ttl,
                    received_at: Some(now),
                };
                self.answer_ice_servers();
                if let State::Registering { conn, heard, .. } = &mut self.state
                    && matches!(heard, Heard::Registered { .. })
                {
                    let conn = *conn;
                    if let Heard::Registered { registration, .. } =
                        std::mem::replace(heard, Heard::Nothing)
                    {
                        self.go_online(conn, registration, now);
                    }
                }
            }
            ServerEvent::Error(err) => {
                if !self.hold_unreached(&err, now) {
                    self.server_error(err);
                }
            }
        }
    }

    /// A peer we talked to before the outage has not re-registered yet: keeps the message
    /// it could not get, to send again shortly. False when this error is not that.
    fn hold_unreached(&mut self, err: &ServerError, now: Instant) -> bool {
        if err.code != ErrorCode::PeerNotFound || !self.rejoining(now) {
            return false;
        }
        let position = self.recent.iter().rposition(|sent| {
            Some(&sent.msg.to) == err.target.as_ref()
                && sent.msg.call_id == err.call_id
                && err.event.as_deref() == Some(sent.msg.body.event())
        });
        let Some(sent) = position.and_then(|i| self.recent.remove(i)) else {
            return false;
        };
        let retry_at = now + self.config.timings.rejoin_retry;
        self.unreached.push_back((retry_at, sent));
        true
    }

    /// Puts the held messages whose retry is due back in front of the outbox, in order.
    fn retry_unreached(&mut self, now: Instant) {
        let mut due = Vec::new();
        while self.unreached.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, sent)) = self.unreached.pop_front() {
                due.push((sent.queued_at, sent.msg));
            }
        }
        if !due.is_empty() {
            self.outbox.requeue(due);
            self.pump(now);
        }
    }

    fn your_id(&mut self, id: PeerId, now: Instant) {
        // A current server follows `your_id` with `registered`; only a seed server's bare
        // ID stands on its own (and then no token was ever issued). Either sign says this
        // is a current server: one has sent `registered` before, or we hold a token.
        let holds_token = self
            .identity
            .as_ref()
            .is_some_and(|(_, token)| !token.is_empty());
        if self.server_registers || holds_token {
            return;
        }
        let wait = self.config.timings.legacy_registration_wait;
        if let State::Registering { heard, .. } = &mut self.state
            && let Heard::Nothing = heard
        {
            *heard = Heard::YourId {
                id,
                until: now + wait,
            };
        }
    }

    fn registered(&mut self, registration: Registration, now: Instant) {
        self.server_registers = true;
        self.identity = Some((registration.id.clone(), registration.token.clone()));
        let wait = self.config.timings.ice_servers_wait;
        match &mut self.state {
            State::Registering { heard, .. } => {
                *heard = Heard::Registered {
                    registration,
                    until: now + wait,
                };
            }
            State::Online { .. } => {
                self.registration = Some(registration.clone());
                self.event(SignalingEvent::Registered(registration));
            }
            _ => {}
        }
    }

    fn go_online(&mut self, conn: ConnId, registration: Registration, now: Instant) {
        if self.registration.is_some() {
            self.rejoined_at = Some(now);
        }
        self.identity = Some((registration.id.clone(), registration.token.clone()));
        self.registration = Some(registration.clone());
        self.failures = 0;
        self.in_round = 0;
        self.rounds = 0;
        self.state = State::Online { conn };
        self.event(SignalingEvent::Registered(registration));
        self.pump(now);
    }

    fn server_error(&mut self, err: ServerError) {
        let fatal = ends_session(&err);
        self.event(SignalingEvent::ServerError(err.clone()));
        if !fatal {
            return;
        }
        if let Some(conn) = self.conn() {
            self.push(Output::Disconnect { conn });
        }
        let event = if self.registration.is_none() {
            SignalingEvent::Unavailable(SignalingError::Rejected {
                code: err.code.clone(),
                message: err.message.clone(),
            })
        } else {
            SignalingEvent::Closed(CloseReason::Refused(err))
        };
        self.event(event);
        self.finish();
    }

    /// Nothing more will happen: answer whoever waits, and report what cannot be sent.
    fn finish(&mut self) {
        self.state = State::Closed;
        self.in_flight = None;
        self.recent.clear();
        self.answer_ice_servers();
        let mut undelivered: Vec<Outbound> = std::mem::take(&mut self.unreached)
            .into_iter()
            .map(|(_, sent)| sent.msg)
            .collect();
        undelivered.extend(self.outbox.drain());
        let complete = undelivered.is_empty();
        for msg in undelivered {
            self.event(SignalingEvent::Dropped(msg));
        }
        for request in std::mem::take(&mut self.flushes) {
            self.push(Output::Flushed { request, complete });
        }
    }

    // ----- what we send -------------------------------------------------------------

    fn send(&mut self, msg: Outbound, now: Instant) {
        if self.is_closed() {
            return self.event(SignalingEvent::Dropped(msg));
        }
        self.outbox.push(msg, now);
        // Also while offline: the queue holds at most `outbox_max_age` of messages.
        for expired in self.outbox.expire(now) {
            self.event(SignalingEvent::Dropped(expired));
        }
        self.pump(now);
    }

    /// The connection is gone: what went out on it shortly before may have gone nowhere.
    /// It goes out again first, in its order, ahead of what never went out.
    fn requeue_in_doubt(&mut self, now: Instant) {
        let in_doubt = self.config.timings.in_doubt;
        let again = std::mem::take(&mut self.recent)
            .into_iter()
            .filter(|sent| now.saturating_duration_since(sent.at) <= in_doubt)
            .map(|sent| (sent.queued_at, sent.msg))
            .collect();
        self.outbox.requeue(again);
    }

    /// Puts the next transmit out, if the connection can take one now.
    fn pump(&mut self, now: Instant) {
        let State::Online { conn } = self.state else {
            return;
        };
        if self.in_flight.is_some() {
            return;
        }
        if self.refresh.ask {
            self.refresh.ask = false;
            self.in_flight = Some(InFlight::IceRequest);
            let (event, payload) = wire::encode_ice_servers_request();
            return self.push(Output::Transmit {
                conn,
                event,
                payload,
            });
        }
        for expired in self.outbox.expire(now) {
            self.event(SignalingEvent::Dropped(expired));
        }
        if let Some(msg) = self.outbox.front() {
            let (event, payload) = wire::encode(msg);
            self.in_flight = Some(InFlight::Message);
            self.push(Output::Transmit {
                conn,
                event,
                payload,
            });
        }
    }

    // ----- ICE servers --------------------------------------------------------------

    fn want_ice_servers(&mut self, request: u64, now: Instant) {
        let margin = self.config.timings.ice_refresh_margin;
        // Offline there is no one to ask: the call goes with what there is.
        if !self.is_online() || !self.issued.expires_within(margin, now) {
            let servers = self.issued.servers.clone();
            return self.push(Output::IceServers { request, servers });
        }
        self.refresh.waiting.push(request);
        if self.refresh.until.is_none() {
            self.refresh.until = Some(now + self.config.timings.ice_refresh_wait);
            self.refresh.ask = true;
            self.pump(now);
        }
    }

    fn answer_ice_servers(&mut self) {
        self.refresh.until = None;
        self.refresh.ask = false;
        for request in std::mem::take(&mut self.refresh.waiting) {
            let servers = self.issued.servers.clone();
            self.push(Output::IceServers { request, servers });
        }
    }
}

/// A transport error's text (rust_socketio passes it as the first argument).
fn transport_reason(args: &[Value]) -> String {
    match args.first() {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => "connection error".into(),
    }
}
