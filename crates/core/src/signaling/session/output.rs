use serde_json::Value;

use crate::ice::IceServer;
use crate::signaling::message::{Inbound, Outbound, ServerError};
use crate::signaling::wire::{Registration, WireError};

use super::error::{CloseReason, SignalingError};
use super::input::ConnId;

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Open a socket.io connection to `url`, presenting `auth` in the handshake, and report
    /// what happens on it tagged with `conn`.
    Connect {
        conn: ConnId,
        url: String,
        auth: Option<Value>,
    },
    /// Drop this connection (abandoned, refused, lost, or we are leaving).
    Disconnect {
        conn: ConnId,
    },
    /// Emit on `conn`, then answer with `Input::Sent` or `Input::SendFailed` before the
    /// next transmit comes (one is in flight at a time, so nothing is sent out of order
    /// or lost when a connection dies under it).
    Transmit {
        conn: ConnId,
        event: &'static str,
        payload: Value,
    },
    /// The answer to `Input::WantIceServers { request }`.
    IceServers {
        request: u64,
        servers: Vec<IceServer>,
    },
    /// The answer to `Input::Flush { request }`: every message sent before it went out
    /// (`complete`), or the session closed first and reported the rest as `Dropped`.
    Flushed {
        request: u64,
        complete: bool,
    },
    Event(SignalingEvent),
}

/// What the session reports to whoever uses it (the call controller).
#[derive(Debug, Clone, PartialEq)]
pub enum SignalingEvent {
    /// (Re-)registered: after a reconnect this confirms we kept our ID.
    Registered(Registration),
    /// Before the first registration: no server took us, for this reason. The session is
    /// over.
    Unavailable(SignalingError),
    Message(Inbound),
    ServerError(ServerError),
    /// A payload we could not understand; reported, then dropped.
    Malformed {
        event: String,
        error: WireError,
    },
    /// A queued message was given up on: it outlived the outbox's max age, or the session
    /// was closed.
    Dropped(Outbound),
    /// The connection dropped; the session reconnects by itself.
    Disconnected {
        reason: String,
    },
    Reconnecting {
        attempt: u32,
        server: String,
    },
    /// The registered session ended for good.
    Closed(CloseReason),
}
