//! The socket.io client (rust_socketio, async).
//!
//! Handlers run one at a time on the library's receive task, and a slow or panicking
//! handler silently stalls or kills it; so handlers only parse and push into a channel.
//! Emits fail while the connection is down, so outbound messages go through an outbox
//! task that holds them until the server has registered us again.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use rust_socketio::asynchronous::{Client, ClientBuilder, ReconnectSettings};
use rust_socketio::{Payload, TransportType};
use serde_json::{Value, json};
use thiserror::Error;
use tokio::sync::{mpsc, watch};

use voicecall_core::ice::IceServer;
use voicecall_core::id::PeerId;
use voicecall_core::signaling::message::{ErrorCode, Inbound, Outbound, ServerError};
use voicecall_core::signaling::wire::{self, Registration, WireError};

/// Messages older than this are dropped rather than delivered after an outage: a stale
/// offer or candidate would only confuse the peer.
const OUTBOX_MAX_AGE: Duration = Duration::from_secs(20);
/// A seed-style server sends `your_id` and never `registered`; wait this long before
/// accepting the plain ID.
const LEGACY_REGISTRATION_WAIT: Duration = Duration::from_millis(400);
/// Fetch fresh ICE servers before a call when the issued TURN credentials expire sooner
/// than this (PROTOCOL.md: "a few minutes").
const ICE_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// How long a call waits for the refreshed list before going with what it has.
const ICE_REFRESH_WAIT: Duration = Duration::from_secs(2);
/// Before each reconnect attempt, a server whose port does not accept a TCP connection
/// within this long is skipped: rust_socketio has no connect timeout, and a dead host would
/// hold the reconnect loop for the kernel's SYN timeout (~2 min).
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// rust_socketio's backoff stops after ~15 minutes of failed attempts and then retries in
/// a tight loop; past this many attempts we add our own pause.
const PACED_AFTER_ATTEMPTS: u32 = 30;
const PACED_DELAY: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct SignalingConfig {
    /// Server URLs, tried in order; reconnects rotate through them.
    pub servers: Vec<String>,
    /// The ID to claim and the token that proves it is ours (from an earlier registration).
    pub id: Option<PeerId>,
    pub token: Option<String>,
    pub connect_timeout: Duration,
}

impl SignalingConfig {
    pub fn new(server: impl Into<String>) -> Self {
        Self {
            servers: vec![server.into()],
            id: None,
            token: None,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignalingError {
    #[error("no signaling server configured")]
    NoServers,
    #[error("signaling server {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("signaling server {url} did not register us within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("signaling server refused us: {message}")]
    Rejected { code: ErrorCode, message: String },
}

/// What the connection reports to the controller.
#[derive(Debug, Clone, PartialEq)]
pub enum SignalingEvent {
    /// (Re-)registered: after a reconnect this confirms we kept our ID.
    Registered(Registration),
    Message(Inbound),
    ServerError(ServerError),
    /// STUN/TURN servers the server issued for our calls (TURN credentials expire).
    IceServers(Vec<IceServer>),
    /// A payload we could not understand; reported, then dropped.
    Malformed {
        event: String,
        error: WireError,
    },
    /// The connection dropped; the client reconnects by itself.
    Disconnected {
        reason: String,
    },
    Reconnecting {
        attempt: u32,
        server: String,
    },
    /// The server ended our session for good (our ID was claimed elsewhere).
    Closed {
        reason: String,
    },
}

/// The STUN/TURN servers the server issued last, and when: their TURN credentials are
/// valid for `ttl` seconds from `received_at`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IssuedIceServers {
    pub servers: Vec<IceServer>,
    /// 0: nothing expires.
    pub ttl: u64,
    /// `None` until the server sent a list (seed servers never do).
    pub received_at: Option<Instant>,
}

impl IssuedIceServers {
    /// True when the credentials expire within `margin` of `now`.
    pub fn expires_within(&self, margin: Duration, now: Instant) -> bool {
        let Some(received_at) = self.received_at else {
            return false;
        };
        if self.ttl == 0 {
            return false;
        }
        match received_at.checked_add(Duration::from_secs(self.ttl)) {
            Some(expiry) => expiry <= now + margin,
            None => false,
        }
    }
}

enum OutboxCmd {
    Send(Outbound),
    Online,
    Offline,
}

/// State the handlers and the reconnect callback share: who we are, where we are, and
/// what the server said last.
struct Shared {
    identity: Mutex<Option<(String, String)>>,
    servers: Vec<String>,
    /// Index (mod `servers.len()`) of the server we are connected or connecting to.
    current: AtomicUsize,
    attempts: AtomicU32,
    /// The server sends `registered`; its `your_id` (sent first on every connect) is then
    /// only a copy without the token and the reclaim flag.
    registers: AtomicBool,
    /// The server ended our session for good (ID taken, session replaced): reconnecting
    /// would only be refused again, or steal the ID back from the new session.
    fatal: AtomicBool,
    ice: watch::Sender<IssuedIceServers>,
}

impl Shared {
    fn current_server(&self) -> String {
        let index = self.current.load(Ordering::Relaxed);
        self.servers
            .get(index % self.servers.len().max(1))
            .cloned()
            .unwrap_or_default()
    }
}

pub struct SignalingClient {
    client: Client,
    outbox: mpsc::UnboundedSender<OutboxCmd>,
    registration: Registration,
    ice_servers: Vec<IceServer>,
    shared: Arc<Shared>,
}

impl SignalingClient {
    /// Connects to the first reachable server and waits until it has registered us.
    pub async fn connect(
        config: SignalingConfig,
    ) -> Result<(Self, mpsc::UnboundedReceiver<SignalingEvent>), SignalingError> {
        let identity = match (&config.id, &config.token) {
            (Some(id), token) => Some((id.to_string(), token.clone().unwrap_or_default())),
            (None, _) => None,
        };
        let mut last_error = SignalingError::NoServers;
        for (index, url) in config.servers.iter().enumerate() {
            let shared = Arc::new(Shared {
                identity: Mutex::new(identity.clone()),
                servers: config.servers.clone(),
                current: AtomicUsize::new(index),
                attempts: AtomicU32::new(0),
                registers: AtomicBool::new(false),
                fatal: AtomicBool::new(false),
                ice: watch::Sender::new(IssuedIceServers::default()),
            });
            match Self::connect_one(url, shared, config.connect_timeout).await {
                Ok(connected) => return Ok(connected),
                Err(err @ SignalingError::Rejected { .. }) => return Err(err),
                Err(err) => {
                    tracing::info!(server = %url, error = %err, "signaling server failed");
                    last_error = err;
                }
            }
        }
        Err(last_error)
    }

    async fn connect_one(
        url: &str,
        shared: Arc<Shared>,
        timeout: Duration,
    ) -> Result<(Self, mpsc::UnboundedReceiver<SignalingEvent>), SignalingError> {
        let (events_tx, mut events_rx) = mpsc::unbounded_channel();
        let (outbox_tx, outbox_rx) = mpsc::unbounded_channel();
        let mut builder = ClientBuilder::new(url)
            .transport_type(TransportType::Websocket)
            .reconnect(true)
            // A server may also close a session for a passing reason (`INTERNAL` while its
            // Redis is away); the reconnect callback stops for the final ones
            // (`Shared::fatal`).
            .reconnect_on_disconnect(true)
            .reconnect_delay(200, 2_000);
        if let Ok(identity) = shared.identity.lock()
            && let Some((id, token)) = identity.as_ref()
        {
            builder = builder.auth(auth_json(id, token));
        }
        builder = register_handlers(builder, &events_tx, &outbox_tx, &shared);

        // rust_socketio has no connect timeout: a host that drops packets, or a server that
        // accepts but never answers, would hold us here instead of letting us try the next.
        let client = match tokio::time::timeout(timeout, builder.connect()).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                return Err(SignalingError::Unreachable {
                    url: url.to_owned(),
                    reason: e.to_string(),
                });
            }
            Err(_) => {
                return Err(SignalingError::Unreachable {
                    url: url.to_owned(),
                    reason: format!("no answer within {} s", timeout.as_secs().max(1)),
                });
            }
        };

        let (registration, ice_servers) =
            match wait_for_registration(&mut events_rx, url, timeout).await {
                Ok(done) => done,
                Err(err) => {
                    let _ = client.disconnect().await;
                    return Err(err);
                }
            };
        if let Ok(mut identity) = shared.identity.lock() {
            *identity = Some((registration.id.to_string(), registration.token.clone()));
        }
        tokio::spawn(run_outbox(client.clone(), outbox_rx, events_tx));
        let _ = outbox_tx.send(OutboxCmd::Online);
        Ok((
            Self {
                client,
                outbox: outbox_tx,
                registration,
                ice_servers,
                shared,
            },
            events_rx,
        ))
    }

    pub fn registration(&self) -> &Registration {
        &self.registration
    }

    /// The STUN/TURN servers the server issued with our registration (later updates come
    /// as `SignalingEvent::IceServers`).
    pub fn ice_servers(&self) -> &[IceServer] {
        &self.ice_servers
    }

    /// The server we are connected to (or, during an outage, trying).
    pub fn server(&self) -> String {
        self.shared.current_server()
    }

    /// The ICE servers to use for a call starting now. When the issued TURN credentials
    /// expire within a few minutes, asks the server for fresh ones first (waiting up to
    /// 2 s for them; on no answer, the old list is what there is).
    pub async fn fresh_ice_servers(&self) -> Vec<IceServer> {
        let mut issued = self.shared.ice.subscribe();
        if !issued
            .borrow_and_update()
            .expires_within(ICE_REFRESH_MARGIN, Instant::now())
        {
            return issued.borrow().servers.clone();
        }
        match self.client.emit("get_ice_servers", json!({})).await {
            Ok(()) => {
                if tokio::time::timeout(ICE_REFRESH_WAIT, issued.changed())
                    .await
                    .is_err()
                {
                    tracing::warn!("the signaling server sent no fresh ICE servers");
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot ask for fresh ICE servers"),
        }
        issued.borrow().servers.clone()
    }

    /// The last ICE server list the server issued, with its lifetime.
    pub fn issued_ice_servers(&self) -> IssuedIceServers {
        self.shared.ice.borrow().clone()
    }

    /// Queues a message for the peer; delivered as soon as the server can take it.
    pub fn send(&self, msg: Outbound) {
        let _ = self.outbox.send(OutboxCmd::Send(msg));
    }

    /// Leaves the server cleanly (a dropped client would otherwise stay connected).
    pub async fn close(self) {
        let _ = self.client.disconnect().await;
    }
}

fn auth_json(id: &str, token: &str) -> Value {
    if token.is_empty() {
        json!({ "id": id })
    } else {
        json!({ "id": id, "token": token })
    }
}

/// After `registered` a current server sends `ice_servers` at once; a call placed before
/// it arrives would go without TURN. Wait this long for it (seed servers never send it).
const ICE_SERVERS_WAIT: Duration = Duration::from_millis(500);

async fn wait_for_registration(
    events: &mut mpsc::UnboundedReceiver<SignalingEvent>,
    url: &str,
    timeout: Duration,
) -> Result<(Registration, Vec<IceServer>), SignalingError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut legacy_id: Option<(PeerId, tokio::time::Instant)> = None;
    let mut registered: Option<(Registration, tokio::time::Instant)> = None;
    loop {
        let wake = match (&registered, &legacy_id) {
            (Some((_, at)), _) | (None, Some((_, at))) => (*at).min(deadline),
            (None, None) => deadline,
        };
        match tokio::time::timeout_at(wake, events.recv()).await {
            Ok(Some(SignalingEvent::IceServers(servers))) => {
                if let Some((reg, _)) = registered.take() {
                    return Ok((reg, servers));
                }
            }
            Ok(Some(SignalingEvent::Registered(reg))) if !reg.token.is_empty() => {
                registered = Some((reg, tokio::time::Instant::now() + ICE_SERVERS_WAIT));
            }
            Ok(Some(SignalingEvent::Registered(reg))) => {
                legacy_id = Some((
                    reg.id,
                    tokio::time::Instant::now() + LEGACY_REGISTRATION_WAIT,
                ));
            }
            Ok(Some(SignalingEvent::ServerError(err)))
                if matches!(
                    err.code,
                    ErrorCode::IdTaken | ErrorCode::InvalidId | ErrorCode::InvalidToken
                ) =>
            {
                return Err(SignalingError::Rejected {
                    code: err.code,
                    message: err.message,
                });
            }
            Ok(Some(
                SignalingEvent::Disconnected { reason } | SignalingEvent::Closed { reason },
            )) => {
                return Err(SignalingError::Unreachable {
                    url: url.to_owned(),
                    reason,
                });
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(SignalingError::Unreachable {
                    url: url.to_owned(),
                    reason: "connection closed".into(),
                });
            }
            Err(_) => {
                if let Some((reg, _)) = registered.take() {
                    return Ok((reg, Vec::new()));
                }
                if let Some((id, _)) = legacy_id.take() {
                    // A seed server: it has no tokens, so the ID will not survive a reconnect.
                    let reg = Registration {
                        id,
                        token: String::new(),
                        reclaimed: false,
                    };
                    return Ok((reg, Vec::new()));
                }
                return Err(SignalingError::Timeout {
                    url: url.to_owned(),
                    secs: timeout.as_secs().max(1),
                });
            }
        }
    }
}

fn register_handlers(
    mut builder: ClientBuilder,
    events: &mpsc::UnboundedSender<SignalingEvent>,
    outbox: &mpsc::UnboundedSender<OutboxCmd>,
    shared: &Arc<Shared>,
) -> ClientBuilder {
    for event in wire::INBOUND_EVENTS {
        let tx = events.clone();
        builder = builder.on(event, move |payload, _| {
            let ev = match text_args(&payload) {
                Some(args) => match wire::decode(event, args) {
                    Ok(msg) => SignalingEvent::Message(msg),
                    Err(error) => SignalingEvent::Malformed {
                        event: event.to_owned(),
                        error,
                    },
                },
                None => SignalingEvent::Malformed {
                    event: event.to_owned(),
                    error: WireError::NotAnObject {
                        event: event.to_owned(),
                    },
                },
            };
            let _ = tx.send(ev);
            async {}.boxed()
        });
    }

    let tx = events.clone();
    let out = outbox.clone();
    let sh = shared.clone();
    builder = builder.on("registered", move |payload, _| {
        let args = text_args(&payload).unwrap_or(&[]);
        let ev = match wire::decode_registered(args) {
            Ok(reg) => {
                if let Ok(mut identity) = sh.identity.lock() {
                    *identity = Some((reg.id.to_string(), reg.token.clone()));
                }
                sh.registers.store(true, Ordering::Relaxed);
                sh.attempts.store(0, Ordering::Relaxed);
                let _ = out.send(OutboxCmd::Online);
                SignalingEvent::Registered(reg)
            }
            Err(error) => SignalingEvent::Malformed {
                event: "registered".into(),
                error,
            },
        };
        let _ = tx.send(ev);
        async {}.boxed()
    });

    let tx = events.clone();
    let sh = shared.clone();
    builder = builder.on("ice_servers", move |payload, _| {
        let args = text_args(&payload).unwrap_or(&[]);
        let ev = match wire::decode_ice_servers(args) {
            Ok((servers, ttl)) => {
                sh.ice.send_replace(IssuedIceServers {
                    servers: servers.clone(),
                    ttl,
                    received_at: Some(Instant::now()),
                });
                SignalingEvent::IceServers(servers)
            }
            Err(error) => SignalingEvent::Malformed {
                event: "ice_servers".into(),
                error,
            },
        };
        let _ = tx.send(ev);
        async {}.boxed()
    });

    let tx = events.clone();
    let sh = shared.clone();
    builder = builder.on("your_id", move |payload, _| {
        // A current server follows `your_id` with `registered`; only a seed server's bare
        // ID stands on its own (and then no token was ever issued). Either sign says this
        // is a current server: it has sent `registered` before, or we hold a token.
        let has_token = sh
            .identity
            .lock()
            .map(|identity| {
                identity
                    .as_ref()
                    .is_some_and(|(_, token)| !token.is_empty())
            })
            .unwrap_or(false);
        if has_token || sh.registers.load(Ordering::Relaxed) {
            return async {}.boxed();
        }
        let id = text_args(&payload)
            .and_then(|args| args.first())
            .and_then(Value::as_str)
            .and_then(|s| PeerId::parse(s).ok());
        if let Some(id) = id {
            let _ = tx.send(SignalingEvent::Registered(Registration {
                id,
                token: String::new(),
                reclaimed: false,
            }));
        }
        async {}.boxed()
    });

    let tx = events.clone();
    let out = outbox.clone();
    let sh = shared.clone();
    builder = builder.on("server_error", move |payload, _| {
        if let Some(err) = text_args(&payload).and_then(wire::decode_server_error) {
            let fatal = ends_session(&err);
            let reason = err.message.clone();
            // The error first: a waiting `connect` must see why before it sees the close.
            let _ = tx.send(SignalingEvent::ServerError(err));
            if fatal {
                sh.fatal.store(true, Ordering::Relaxed);
                let _ = out.send(OutboxCmd::Offline);
                let _ = tx.send(SignalingEvent::Closed { reason });
            }
        }
        async {}.boxed()
    });

    // The built-in `error` event carries transport failures, and the seed-compatible copy
    // of every server error (already handled through `server_error`).
    let tx = events.clone();
    let out = outbox.clone();
    builder = builder.on("error", move |payload, _| {
        let args = text_args(&payload).unwrap_or(&[]);
        if wire::decode_server_error(args).is_none() {
            let reason = args
                .first()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string())
                })
                .unwrap_or_else(|| "connection error".into());
            let _ = out.send(OutboxCmd::Offline);
            let _ = tx.send(SignalingEvent::Disconnected { reason });
        }
        async {}.boxed()
    });

    let tx = events.clone();
    let out = outbox.clone();
    builder = builder.on("close", move |_, _| {
        let _ = out.send(OutboxCmd::Offline);
        let _ = tx.send(SignalingEvent::Disconnected {
            reason: "connection closed".into(),
        });
        async {}.boxed()
    });

    let tx = events.clone();
    let out = outbox.clone();
    let sh = shared.clone();
    builder.on_reconnect(move || -> BoxFuture<'static, ReconnectSettings> {
        let tx = tx.clone();
        let out = out.clone();
        let sh = sh.clone();
        async move {
            // A server that shuts down cleanly closes the transport without an `error` or
            // `close` event: this callback is the first sign of the outage.
            let _ = out.send(OutboxCmd::Offline);
            if sh.fatal.load(Ordering::Relaxed) {
                // The session is over (`Closed` was reported). rust_socketio cannot be told
                // to stop from here, and `max_reconnect_attempts` is ignored: park its
                // reconnect task for good.
                std::future::pending::<()>().await;
            }
            let attempt = sh.attempts.fetch_add(1, Ordering::Relaxed) + 1;
            // rust_socketio stops backing off after ~15 minutes and spins; pace it here.
            if attempt > PACED_AFTER_ATTEMPTS {
                tokio::time::sleep(PACED_DELAY).await;
            }
            // The next server in the rotation whose port answers at all.
            let count = sh.servers.len().max(1);
            let start = sh.current.load(Ordering::Relaxed).wrapping_add(1);
            let mut next = start;
            for step in 0..count {
                let candidate = start.wrapping_add(step);
                if count == 1 || port_answers(&sh.servers[candidate % count]).await {
                    next = candidate;
                    break;
                }
            }
            sh.current.store(next % count, Ordering::Relaxed);
            let server = sh.current_server();
            let mut settings = ReconnectSettings::new();
            settings.address(server.clone());
            if let Ok(identity) = sh.identity.lock()
                && let Some((id, token)) = identity.as_ref()
            {
                settings.auth(auth_json(id, token));
            }
            let _ = tx.send(SignalingEvent::Reconnecting { attempt, server });
            settings
        }
        .boxed()
    })
}

/// Errors after which the server has closed our session for good.
fn ends_session(err: &ServerError) -> bool {
    match err.code {
        ErrorCode::IdTaken | ErrorCode::SessionReplaced => true,
        // Connection-level (no `event`): our auth was refused. With an `event` they are
        // about a message we sent, and the connection stays open.
        ErrorCode::InvalidId | ErrorCode::InvalidToken => err.event.is_none(),
        _ => false,
    }
}

/// Whether `url`'s host accepts a TCP connection within `PROBE_TIMEOUT`.
async fn port_answers(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect((host, port))).await,
        Ok(Ok(_))
    )
}

fn text_args(payload: &Payload) -> Option<&[Value]> {
    match payload {
        Payload::Text(values) => Some(values),
        _ => None,
    }
}

/// Delivers queued messages in order whenever the server is reachable.
async fn run_outbox(
    client: Client,
    mut commands: mpsc::UnboundedReceiver<OutboxCmd>,
    events: mpsc::UnboundedSender<SignalingEvent>,
) {
    let mut queue: VecDeque<(Instant, Outbound)> = VecDeque::new();
    let mut online = false;
    while let Some(cmd) = commands.recv().await {
        match cmd {
            OutboxCmd::Send(msg) => queue.push_back((Instant::now(), msg)),
            OutboxCmd::Online => online = true,
            OutboxCmd::Offline => online = false,
        }
        while online && let Some((queued_at, msg)) = queue.front() {
            if queued_at.elapsed() > OUTBOX_MAX_AGE {
                tracing::warn!(event = msg.body.event(), to = %msg.to, "dropping stale signaling message");
                queue.pop_front();
                continue;
            }
            let (event, payload) = wire::encode(msg);
            match client.emit(event, payload).await {
                Ok(()) => {
                    queue.pop_front();
                }
                Err(err) => {
                    online = false;
                    let _ = events.send(SignalingEvent::Disconnected {
                        reason: err.to_string(),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_ice_servers_expire_by_their_ttl() {
        let now = Instant::now();
        let issued = |ttl, age: u64| IssuedIceServers {
            servers: Vec::new(),
            ttl,
            received_at: now.checked_sub(Duration::from_secs(age)),
        };
        let margin = ICE_REFRESH_MARGIN;
        assert!(!issued(86_400, 0).expires_within(margin, now));
        assert!(issued(86_400, 86_400 - 299).expires_within(margin, now));
        assert!(issued(60, 0).expires_within(margin, now));
        // 0 = never expires; nothing received = nothing to refresh.
        assert!(!issued(0, 1_000_000).expires_within(margin, now));
        assert!(!IssuedIceServers::default().expires_within(margin, now));
    }

    #[test]
    fn only_connection_level_refusals_end_the_session() {
        let err = |code, event: Option<&str>| ServerError {
            code,
            message: String::new(),
            event: event.map(str::to_owned),
            target: None,
            call_id: None,
        };
        assert!(ends_session(&err(ErrorCode::IdTaken, None)));
        assert!(ends_session(&err(ErrorCode::SessionReplaced, None)));
        assert!(ends_session(&err(ErrorCode::InvalidToken, None)));
        assert!(!ends_session(&err(ErrorCode::InvalidId, Some("offer_sdp"))));
        assert!(!ends_session(&err(ErrorCode::Internal, None)));
        assert!(!ends_session(&err(
            ErrorCode::PeerNotFound,
            Some("offer_sdp")
        )));
    }

    #[tokio::test]
    async fn a_closed_port_does_not_answer() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        assert!(port_answers(&format!("http://127.0.0.1:{port}")).await);
        drop(listener);
        assert!(!port_answers(&format!("http://127.0.0.1:{port}")).await);
        assert!(!port_answers("not a url").await);
    }
}
