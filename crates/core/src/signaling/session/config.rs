use std::time::Duration;

use crate::id::PeerId;

/// Where to connect, as whom, and how patiently.
#[derive(Debug, Clone)]
pub struct SignalingConfig {
    /// Server URLs, tried in order; reconnects rotate through them.
    pub servers: Vec<String>,
    /// The ID to claim and the token that proves it is ours (from an earlier registration).
    pub id: Option<PeerId>,
    pub token: Option<String>,
    /// How long one attempt may take to open the connection, and then again to be
    /// registered on it.
    pub connect_timeout: Duration,
    pub timings: SessionTimings,
}

impl SignalingConfig {
    pub fn new(server: impl Into<String>) -> Self {
        Self {
            servers: vec![server.into()],
            id: None,
            token: None,
            connect_timeout: Duration::from_secs(5),
            timings: SessionTimings::default(),
        }
    }
}

/// The session's waits, each a deadline in the machine rather than a sleep in the driver.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionTimings {
    /// A seed-style server sends `your_id` and never `registered`; a current one sends
    /// `registered` right after. Wait this long before settling for the plain ID.
    pub legacy_registration_wait: Duration,
    /// A current server sends `ice_servers` right after `registered`; a call placed before
    /// it arrives would go without TURN. Wait this long for it before going online.
    pub ice_servers_wait: Duration,
    /// Fetch fresh ICE servers before a call when the issued TURN credentials expire sooner
    /// than this (PROTOCOL.md: "a few minutes").
    pub ice_refresh_margin: Duration,
    /// How long a call waits for the refreshed list before going with what there is.
    pub ice_refresh_wait: Duration,
    /// Messages older than this are dropped rather than delivered after an outage: a stale
    /// offer or candidate would only confuse the peer.
    pub outbox_max_age: Duration,
    /// An emit into a connection that is already dead still succeeds (it only reaches the
    /// kernel), and the message is lost. The loss shows at once for a closed socket, and
    /// within the server's ping interval + timeout (5 s + 5 s) for a silent one; messages
    /// sent within this long before it are sent again after re-registering, and the
    /// receiving session drops the copies that did arrive twice.
    pub in_doubt: Duration,
    /// After we re-registered (a server restart, a fail-over), peers are re-registering
    /// too, and a server that just started does not know them yet: for this long, a
    /// message the server could not deliver for `PEER_NOT_FOUND` is sent again (every
    /// `rejoin_retry`) rather than given up, so a hang-up made during the outage still
    /// arrives.
    pub rejoin_grace: Duration,
    pub rejoin_retry: Duration,
    pub backoff: Backoff,
}

impl Default for SessionTimings {
    fn default() -> Self {
        Self {
            legacy_registration_wait: Duration::from_millis(400),
            ice_servers_wait: Duration::from_millis(500),
            ice_refresh_margin: Duration::from_secs(5 * 60),
            ice_refresh_wait: Duration::from_secs(2),
            outbox_max_age: Duration::from_secs(20),
            in_doubt: Duration::from_secs(10),
            rejoin_grace: Duration::from_secs(10),
            rejoin_retry: Duration::from_millis(500),
            backoff: Backoff::default(),
        }
    }
}

/// Pacing of reconnect attempts once the session was registered.
///
/// The first attempt after a loss goes out at once, to the next server in the list; the
/// rest of that round follows each failure at once too (a refused port answers in ~0.1 s).
/// Between rounds the wait doubles from `first` up to `max`, and after `long_after`
/// failed attempts in a row it is `long`: a server that is down for minutes is not
/// hammered, and the loop can never spin (rust_socketio's own retry loop stops sleeping
/// after 15 minutes, and ignores its attempt limit). Every wait is jittered down to half
/// its length, so clients of a node that died do not all come back in the same instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
    pub long_after: u32,
    pub long: Duration,
    /// Give up (and report the session closed) after this many failed attempts in a row;
    /// `None` keeps trying for as long as the app runs.
    pub max_attempts: Option<u32>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(200),
            max: Duration::from_secs(2),
            long_after: 30,
            long: Duration::from_secs(4),
            max_attempts: None,
        }
    }
}

impl Backoff {
    /// The nominal wait after `rounds` complete rounds of failed attempts (`rounds` ≥ 1),
    /// `attempts` attempts in all.
    pub fn nominal(&self, rounds: u32, attempts: u32) -> Duration {
        if attempts >= self.long_after {
            return self.long;
        }
        let doublings = rounds.saturating_sub(1).min(16);
        self.first.saturating_mul(1u32 << doublings).min(self.max)
    }
}
