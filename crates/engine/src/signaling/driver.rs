//! The task that runs a [`SessionMachine`] against rust_socketio and the clock: it feeds
//! the machine one input at a time (what the connections reported, what the client
//! asked for, due deadlines) and carries out its outputs. Every decision is the machine's.

use std::collections::HashMap;
use std::time::Instant;

use rust_socketio::asynchronous::Client;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use voicecall_core::ice::IceServer;
use voicecall_core::signaling::message::Outbound;
use voicecall_core::signaling::session::{
    ConnId, Input, IssuedIceServers, Output, SessionMachine, SignalingEvent,
};
use voicecall_core::signaling::wire::Registration;

use super::socket::{self, Report};

/// What a [`SignalingClient`](super::SignalingClient) asks of its driver.
pub(super) enum Command {
    Send(Outbound),
    IceServers(oneshot::Sender<Vec<IceServer>>),
    /// Answered with whether everything sent before went out.
    Flush(oneshot::Sender<bool>),
    Close,
}

/// The session as the client's getters see it; published after every input.
#[derive(Debug, Clone, Default)]
pub(super) struct Status {
    pub(super) server: String,
    pub(super) registration: Option<Registration>,
    pub(super) issued: IssuedIceServers,
}

pub(super) struct Driver {
    machine: SessionMachine,
    events: mpsc::UnboundedSender<SignalingEvent>,
    status: watch::Sender<Status>,
    reports: mpsc::UnboundedSender<Report>,
    clients: HashMap<ConnId, Client>,
    disconnecting: JoinSet<()>,
    ice_requests: HashMap<u64, oneshot::Sender<Vec<IceServer>>>,
    flush_requests: HashMap<u64, oneshot::Sender<bool>>,
    next_request: u64,
}

impl Driver {
    pub(super) fn new(
        machine: SessionMachine,
        events: mpsc::UnboundedSender<SignalingEvent>,
        status: watch::Sender<Status>,
        reports: mpsc::UnboundedSender<Report>,
    ) -> Self {
        Self {
            machine,
            events,
            status,
            reports,
            clients: HashMap::new(),
            disconnecting: JoinSet::new(),
            ice_requests: HashMap::new(),
            flush_requests: HashMap::new(),
            next_request: 0,
        }
    }

    /// Runs until the client closes the session or is dropped.
    pub(super) async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut reports: mpsc::UnboundedReceiver<Report>,
    ) {
        self.carry_out().await;
        loop {
            let timeout = self.machine.poll_timeout();
            // Biased: what the connections said goes in before what to send next, so
            // nothing is sent into a connection already known to be gone.
            let input = tokio::select! {
                biased;
                Some(report) = reports.recv() => match report {
                    Report::Input(input) => Some(input),
                    Report::Client { conn, client, opened } => self.adopt(conn, client, opened),
                },
                command = commands.recv() => match command {
                    Some(Command::Send(msg)) => Some(Input::Send(msg)),
                    Some(Command::IceServers(reply)) => {
                        let request = self.next_request();
                        self.ice_requests.insert(request, reply);
                        Some(Input::WantIceServers { request })
                    }
                    Some(Command::Flush(reply)) => {
                        let request = self.next_request();
                        self.flush_requests.insert(request, reply);
                        Some(Input::Flush { request })
                    }
                    Some(Command::Close) | None => {
                        self.step(Input::Close).await;
                        break;
                    }
                },
                () = sleep_until(timeout) => Some(Input::Tick),
            };
            if let Some(input) = input {
                self.step(input).await;
            }
        }
        for (_, client) in self.clients.drain() {
            self.disconnecting.spawn(socket::disconnect(client));
        }
        while self.disconnecting.join_next().await.is_some() {}
    }

    fn next_request(&mut self) -> u64 {
        self.next_request += 1;
        self.next_request
    }

    async fn step(&mut self, input: Input) {
        self.machine.handle(input, Instant::now());
        self.carry_out().await;
    }

    /// Drains the machine's outputs. A transmit is answered (`Sent` / `SendFailed`) before
    /// the next output, as the machine expects.
    async fn carry_out(&mut self) {
        self.publish();
        while let Some(output) = self.machine.poll_output() {
            match output {
                Output::Connect { conn, url, auth } => {
                    tracing::debug!(%url, conn = conn.0, "signaling: connecting");
                    socket::connect(conn, url, auth, self.reports.clone());
                }
                Output::Disconnect { conn } => {
                    if let Some(client) = self.clients.remove(&conn) {
                        self.disconnecting.spawn(socket::disconnect(client));
                    }
                }
                Output::Transmit {
                    conn,
                    event,
                    payload,
                } => {
                    let input = match self.clients.get(&conn) {
                        Some(client) => match client.emit(event, payload).await {
                            Ok(()) => Input::Sent { conn },
                            Err(err) => Input::SendFailed {
                                conn,
                                reason: err.to_string(),
                            },
                        },
                        None => Input::SendFailed {
                            conn,
                            reason: "no open connection".into(),
                        },
                    };
                    self.machine.handle(input, Instant::now());
                    self.publish();
                }
                Output::IceServers { request, servers } => {
                    if let Some(reply) = self.ice_requests.remove(&request) {
                        let _ = reply.send(servers);
                    }
                }
                Output::Flushed { request, complete } => {
                    if let Some(reply) = self.flush_requests.remove(&request) {
                        let _ = reply.send(complete);
                    }
                }
                Output::Event(event) => {
                    if let SignalingEvent::Dropped(msg) = &event {
                        tracing::warn!(event = msg.body.event(), to = %msg.to, "dropping stale signaling message");
                    }
                    let _ = self.events.send(event);
                }
            }
        }
        while self.disconnecting.try_join_next().is_some() {}
    }

    /// Keeps the client of the connection the machine is on; closes one it has given up
    /// on (an attempt that answered after its deadline).
    fn adopt(&mut self, conn: ConnId, client: Client, opened: bool) -> Option<Input> {
        if self.machine.conn() != Some(conn) {
            self.disconnecting.spawn(socket::disconnect(client));
            return None;
        }
        self.clients.entry(conn).or_insert(client);
        opened.then_some(Input::Opened { conn })
    }

    fn publish(&self) {
        self.status.send_replace(Status {
            server: self.machine.server().to_owned(),
            registration: self.machine.registration().cloned(),
            issued: self.machine.issued_ice_servers().clone(),
        });
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
