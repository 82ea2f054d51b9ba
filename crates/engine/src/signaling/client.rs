//! The signaling client the controller holds: a handle on the driver task.

use std::future::Future;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use voicecall_core::ice::IceServer;
use voicecall_core::signaling::message::Outbound;
use voicecall_core::signaling::session::{
    IssuedIceServers, SessionMachine, SignalingConfig, SignalingError, SignalingEvent,
};
use voicecall_core::signaling::wire::Registration;

use super::driver::{Command, Driver, Status};

pub struct SignalingClient {
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<Status>,
    /// The registration `connect` returned with; the status has every later one.
    first: Registration,
    task: JoinHandle<()>,
}

impl SignalingClient {
    /// Connects to the first server that registers us (trying each once, in order) and
    /// returns with that registration; the events that follow it come on the receiver.
    pub async fn connect(
        config: SignalingConfig,
    ) -> Result<(Self, mpsc::UnboundedReceiver<SignalingEvent>), SignalingError> {
        let first_server = config.servers.first().cloned().unwrap_or_default();
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let (status_tx, status) = watch::channel(Status::default());
        let (reports_tx, reports_rx) = mpsc::unbounded_channel();
        let machine = SessionMachine::new(config, Instant::now(), rand::random());
        let driver = Driver::new(machine, events_tx, status_tx, reports_tx);
        let task = tokio::spawn(driver.run(commands_rx, reports_rx));
        // Until the first registration nothing else the server says matters to a caller.
        // Returning early drops `commands`, which ends the driver.
        loop {
            match events.recv().await {
                Some(SignalingEvent::Registered(first)) => {
                    let client = Self {
                        commands,
                        status,
                        first,
                        task,
                    };
                    return Ok((client, events));
                }
                Some(SignalingEvent::Unavailable(err)) => return Err(err),
                Some(_) => {}
                None => {
                    return Err(SignalingError::Unreachable {
                        url: first_server,
                        reason: "the signaling task stopped".into(),
                    });
                }
            }
        }
    }

    /// Our registration as the server last confirmed it.
    pub fn registration(&self) -> Registration {
        self.status
            .borrow()
            .registration
            .clone()
            .unwrap_or_else(|| self.first.clone())
    }

    /// The server we are connected to (or, during an outage, trying).
    pub fn server(&self) -> String {
        self.status.borrow().server.clone()
    }

    /// The last ICE server list the server issued, with its lifetime.
    pub fn issued_ice_servers(&self) -> IssuedIceServers {
        self.status.borrow().issued.clone()
    }

    /// The ICE servers to use for a call starting now. When the issued TURN credentials
    /// expire within a few minutes, the session asks the server for fresh ones first
    /// (waiting up to 2 s for them; on no answer, the old list is what there is).
    ///
    /// The answer does not borrow the client, so it can be awaited in a task of its own.
    pub fn fresh_ice_servers(&self) -> impl Future<Output = Vec<IceServer>> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        let asked = self.commands.send(Command::IceServers(reply)).is_ok();
        let issued = self.status.borrow().issued.servers.clone();
        async move {
            if !asked {
                return issued;
            }
            answer.await.unwrap_or(issued)
        }
    }

    /// Queues a message for the peer; delivered as soon as a server can take it.
    pub fn send(&self, msg: Outbound) {
        let _ = self.commands.send(Command::Send(msg));
    }

    /// Resolves once every message sent before has gone out to the server (true), or the
    /// session ended first (false). Waits through an outage: bound it with a timeout.
    pub fn flushed(&self) -> impl Future<Output = bool> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        let asked = self.commands.send(Command::Flush(reply)).is_ok();
        async move { asked && answer.await.unwrap_or(false) }
    }

    /// Leaves the server. What is still queued is given up (reported as dropped): call
    /// [`flushed`](Self::flushed) first to let it go out.
    pub async fn close(self) {
        let _ = self.commands.send(Command::Close);
        let _ = self.task.await;
    }
}
