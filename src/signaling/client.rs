//! The socket.io client (rust_socketio, async).
//!
//! Handlers run one at a time on the library's receive task, and a slow or panicking
//! handler silently stalls or kills it; so handlers only parse and push into a channel.
//! Emits fail while the connection is down, so outbound messages go through an outbox
//! task that holds them until the server has registered us again.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use rust_socketio::asynchronous::{Client, ClientBuilder, ReconnectSettings};
use rust_socketio::{Payload, TransportType};
use serde_json::{Value, json};
use thiserror::Error;
use tokio::sync::mpsc;

use super::message::{ErrorCode, Inbound, Outbound, ServerError};
use super::wire::{self, Registration, WireError};
use crate::id::PeerId;
use crate::rtc::IceServer;

/// Messages older than this are dropped rather than delivered after an outage: a stale
/// offer or candidate would only confuse the peer.
const OUTBOX_MAX_AGE: Duration = Duration::from_secs(20);
/// A seed-style server sends `your_id` and never `registered`; wait this long before
/// accepting the plain ID.
const LEGACY_REGISTRATION_WAIT: Duration = Duration::from_millis(400);

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

enum OutboxCmd {
    Send(Outbound),
    Online,
    Offline,
}

/// State the reconnect callback needs: who we are, and where to go next.
struct Shared {
    identity: Mutex<Option<(String, String)>>,
    servers: Vec<String>,
    current: AtomicUsize,
    attempts: AtomicU32,
}

pub struct SignalingClient {
    client: Client,
    outbox: mpsc::UnboundedSender<OutboxCmd>,
    registration: Registration,
    ice_servers: Vec<IceServer>,
    server: String,
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
            // A server-side disconnect means our session was replaced or refused.
            .reconnect_on_disconnect(false)
            .reconnect_delay(200, 2_000);
        if let Ok(identity) = shared.identity.lock()
            && let Some((id, token)) = identity.as_ref()
        {
            builder = builder.auth(auth_json(id, token));
        }
        builder = register_handlers(builder, &events_tx, &outbox_tx, &shared);

        let client = builder
            .connect()
            .await
            .map_err(|e| SignalingError::Unreachable {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;

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
                server: url.to_owned(),
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

    pub fn server(&self) -> &str {
        &self.server
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
    builder = builder.on("ice_servers", move |payload, _| {
        let args = text_args(&payload).unwrap_or(&[]);
        let ev = match wire::decode_ice_servers(args) {
            Ok((servers, _ttl)) => SignalingEvent::IceServers(servers),
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
        // ID stands on its own (and then no token was ever issued).
        let has_token = sh
            .identity
            .lock()
            .map(|identity| {
                identity
                    .as_ref()
                    .is_some_and(|(_, token)| !token.is_empty())
            })
            .unwrap_or(false);
        if has_token {
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
    builder = builder.on("server_error", move |payload, _| {
        if let Some(err) = text_args(&payload).and_then(wire::decode_server_error) {
            let fatal = matches!(err.code, ErrorCode::IdTaken | ErrorCode::SessionReplaced);
            let reason = err.message.clone();
            // The error first: a waiting `connect` must see why before it sees the close.
            let _ = tx.send(SignalingEvent::ServerError(err));
            if fatal {
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
    let sh = shared.clone();
    builder.on_reconnect(move || -> BoxFuture<'static, ReconnectSettings> {
        let tx = tx.clone();
        let sh = sh.clone();
        async move {
            let attempt = sh.attempts.fetch_add(1, Ordering::Relaxed) + 1;
            // rust_socketio stops backing off after ~15 minutes and spins; pace it here.
            if attempt > 30 {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            let mut settings = ReconnectSettings::new();
            let next = sh.current.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
            let server = sh.servers[next % sh.servers.len()].clone();
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
