use serde_json::Value;

use crate::signaling::message::Outbound;

/// One connection attempt; events from an abandoned attempt carry its old ID and are
/// ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// What the driver tells the session machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The socket.io connection of `conn` is open (the library's `open`).
    Opened { conn: ConnId },
    /// The attempt could not open its connection.
    ConnectFailed { conn: ConnId, reason: String },
    /// A server event, with the socket.io arguments as they arrived.
    Received {
        conn: ConnId,
        event: String,
        args: Vec<Value>,
    },
    /// The library's built-in `error`: a transport failure, or the seed-style copy of a
    /// server error (which arrives as `server_error` too).
    TransportError { conn: ConnId, args: Vec<Value> },
    /// The connection ended (the server closed it, or the transport is gone).
    Closed { conn: ConnId, reason: String },
    /// Deliver this to a peer, as soon as a server can take it.
    Send(Outbound),
    /// The last `Output::Transmit` went out.
    Sent { conn: ConnId },
    /// The last `Output::Transmit` could not go out: the connection is gone.
    SendFailed { conn: ConnId, reason: String },
    /// A call is about to start: which ICE servers should it use? Answered with
    /// `Output::IceServers { request }`, at once or after a refresh.
    WantIceServers { request: u64 },
    /// Say when everything sent so far has gone out (`Output::Flushed { request }`), e.g.
    /// before leaving the server, so that a last hang-up is not left behind.
    Flush { request: u64 },
    /// Time passed: fire due deadlines.
    Tick,
    /// Leave the server for good.
    Close,
}
