//! What a peer says over the media path itself as it leaves: the reason text of an RTCP BYE
//! (RFC 3550 §6.6) on its audio stream.
//!
//! Why: a hang-up relayed by the signaling server waits for that server. While it is down
//! (restarting, unreachable) the hang-up sits in an outbox, and the peer, hearing nothing,
//! would end the call as `connection_lost` once its media timeout ran out. The media path
//! is up at that moment, so the hang-up goes that way too and the peer knows at once. The
//! signaling hang-up still goes out: old clients and browsers ignore the BYE.

/// Why we leave, as the peer's machine takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goodbye {
    /// The person pressed the red button.
    HungUp,
}

impl Goodbye {
    /// The BYE's reason text. A BYE without one, or with another, means nothing to us:
    /// browsers send one whenever a stream stops, which need not be the end of the call.
    pub const fn reason(self) -> &'static str {
        match self {
            Goodbye::HungUp => "voicecall:hangup",
        }
    }

    /// The goodbye a received BYE's reason text stands for, if it is one of ours.
    pub fn from_reason(reason: &[u8]) -> Option<Self> {
        (reason == Goodbye::HungUp.reason().as_bytes()).then_some(Goodbye::HungUp)
    }
}

#[cfg(test)]
mod tests {
    use super::Goodbye;

    #[test]
    fn reasons_round_trip_and_strangers_mean_nothing() {
        let text = Goodbye::HungUp.reason();
        assert_eq!(Goodbye::from_reason(text.as_bytes()), Some(Goodbye::HungUp));
        for other in [&b""[..], b"hangup", b"voicecall:hangup ", b"\xff\xfe"] {
            assert_eq!(Goodbye::from_reason(other), None, "{other:?}");
        }
    }
}
