use std::time::Duration;

/// How long each phase may last. Defaults are what a person expects of a phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallTimings {
    /// Caller gives up (and the callee stops ringing) after this long unanswered.
    pub ring_timeout: Duration,
    /// From accept/answer to a working media path.
    pub connect_timeout: Duration,
    /// After ICE reports `disconnected` in a call, wait this long for it to come back
    /// (with ICE's 1.5 s disconnect detection, a dead peer is noticed within ~7.5 s).
    pub reconnect_grace: Duration,
    /// When that grace runs out while our own signaling is reconnecting, wait this much
    /// longer, once: a hang-up the peer sent meanwhile may be waiting for the server, and
    /// the person who hung up should be seen as having hung up, not as a lost connection.
    /// A server restart and a reconnect round (≤ 2 s backoff, 4 s between rounds) fit.
    pub signaling_hold: Duration,
}

impl Default for CallTimings {
    fn default() -> Self {
        Self {
            ring_timeout: Duration::from_secs(45),
            connect_timeout: Duration::from_secs(20),
            reconnect_grace: Duration::from_secs(6),
            signaling_hold: Duration::from_secs(6),
        }
    }
}
