use std::collections::VecDeque;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use crate::signaling::message::Inbound;

/// Recently received messages, to drop the copies a peer's session sends again after an
/// outage (a message it was not sure had arrived).
///
/// Only messages with a call ID: within one call an exact repeat never means anything new,
/// while a seed client, which sends no call IDs, may legitimately repeat a `ringing` or
/// `call_hangup` for its next call.
#[derive(Debug)]
pub(super) struct Duplicates {
    /// Hashes, not messages: a peer may send many large SDPs, and a false match is a
    /// 64-bit coincidence.
    seen: VecDeque<(Instant, u64)>,
    window: Duration,
}

impl Duplicates {
    pub(super) fn new(window: Duration) -> Self {
        Self {
            seen: VecDeque::new(),
            window,
        }
    }

    /// True when `msg` arrived before, within the window; remembers it otherwise.
    pub(super) fn is_repeat(&mut self, msg: &Inbound, now: Instant) -> bool {
        if msg.call_id.is_none() {
            return false;
        }
        while let Some((at, _)) = self.seen.front() {
            if now.saturating_duration_since(*at) <= self.window {
                break;
            }
            self.seen.pop_front();
        }
        let mut hasher = DefaultHasher::new();
        msg.hash(&mut hasher);
        let hash = hasher.finish();
        if self.seen.iter().any(|(_, seen)| *seen == hash) {
            return true;
        }
        self.seen.push_back((now, hash));
        false
    }
}
