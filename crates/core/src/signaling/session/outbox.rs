use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::signaling::message::Outbound;

/// Messages for peers, in the order they were sent, until a server has taken them.
///
/// Emits fail while the connection is down (rust_socketio buffers nothing), so every
/// message waits here; the front one stays until the driver confirms it went out.
#[derive(Debug)]
pub(super) struct Outbox {
    queue: VecDeque<(Instant, Outbound)>,
    max_age: Duration,
}

impl Outbox {
    pub(super) fn new(max_age: Duration) -> Self {
        Self {
            queue: VecDeque::new(),
            max_age,
        }
    }

    pub(super) fn push(&mut self, msg: Outbound, now: Instant) {
        self.queue.push_back((now, msg));
    }

    /// Removes and returns the messages too old to deliver. They were queued in time
    /// order, so they are all at the front.
    pub(super) fn expire(&mut self, now: Instant) -> Vec<Outbound> {
        let mut expired = Vec::new();
        while let Some((queued_at, _)) = self.queue.front() {
            if now.saturating_duration_since(*queued_at) <= self.max_age {
                break;
            }
            if let Some((_, msg)) = self.queue.pop_front() {
                expired.push(msg);
            }
        }
        expired
    }

    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub(super) fn front(&self) -> Option<&Outbound> {
        self.queue.front().map(|(_, msg)| msg)
    }

    /// The front message and when it was queued.
    pub(super) fn pop_front(&mut self) -> Option<(Instant, Outbound)> {
        self.queue.pop_front()
    }

    /// Puts messages back in front of the queue, in the order given.
    pub(super) fn requeue(&mut self, messages: Vec<(Instant, Outbound)>) {
        for entry in messages.into_iter().rev() {
            self.queue.push_front(entry);
        }
    }

    pub(super) fn drain(&mut self) -> impl Iterator<Item = Outbound> + '_ {
        self.queue.drain(..).map(|(_, msg)| msg)
    }
}
