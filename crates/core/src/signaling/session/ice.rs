use std::time::{Duration, Instant};

use crate::ice::IceServer;

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

/// Calls waiting for a fresh list.
#[derive(Debug, Default)]
pub(super) struct IceRefresh {
    pub(super) waiting: Vec<u64>,
    /// When the waiting calls go ahead with the old list.
    pub(super) until: Option<Instant>,
    /// The `get_ice_servers` request still has to go out.
    pub(super) ask: bool,
}
