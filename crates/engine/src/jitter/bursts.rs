//! How long the path's recent loss bursts were and how far back the peer's redundancy
//! reaches: together, how many frames the buffer waits so that a lost frame's copy (a RED
//! block or the in-band FEC of a later packet) arrives before the frame is due.
//!
//! A clean path waits for nothing. After a burst of `n` missing frames the buffer deepens by
//! as many frames as the copies of such a burst need to arrive: for each frame of the
//! burst, the nearest copy that travels in a packet after the burst. With copies 1 and 2
//! frames back (our RED) that is `min(n, 2)`; a sender spreading its copies further back
//! (2 and 4 frames, say) needs a longer wait for the same burst. Frames no copy reaches are
//! lost whatever the wait. The depth is kept while bursts keep coming, and given back once
//! the path has been clean for a while.

use std::time::{Duration, Instant};

/// A burst keeps the buffer deep this long: long enough to span the gaps between the
/// bursts of a bad path, short enough to give the latency back soon after.
const MEMORY: Duration = Duration::from_secs(20);
/// No sender repeats a frame further back than this (RFC 2198 allows more, but a copy
/// arriving 8 frames late is no use to a call).
const MAX_REACH: u32 = 8;

#[derive(Debug)]
pub(crate) struct BurstMemory {
    /// Consecutive frames, up to the one just played, that did not arrive themselves.
    run: u32,
    /// The longest run within `MEMORY`, and when a run last reached it or renewed it.
    longest: u32,
    seen_at: Option<Instant>,
    /// Bit `d` is set when a packet carries a copy of the frame `d` before it: bit 1 for
    /// in-band FEC, and one per RED block distance seen.
    distances: u16,
}

impl Default for BurstMemory {
    fn default() -> Self {
        Self {
            run: 0,
            longest: 0,
            seen_at: None,
            distances: 1 << 1,
        }
    }
}

impl BurstMemory {
    /// A RED block arrived for the frame `frames` before its packet.
    pub(crate) fn note_distance(&mut self, frames: u32) {
        if (1..=MAX_REACH).contains(&frames) {
            self.distances |= 1 << frames;
        }
    }

    fn carries(&self, distance: u32) -> bool {
        self.distances & (1 << distance) != 0
    }

    /// The frame due now had to be rebuilt or concealed.
    pub(crate) fn missing(&mut self, now: Instant) {
        self.run += 1;
        if self.expired(now) {
            self.longest = 0;
        }
        self.longest = self.longest.max(self.run);
        self.seen_at = Some(now);
    }

    /// The frame due now arrived itself.
    pub(crate) fn arrived(&mut self) {
        self.run = 0;
    }

    fn expired(&self, now: Instant) -> bool {
        self.seen_at
            .is_none_or(|t| now.saturating_duration_since(t) >= MEMORY)
    }

    /// Frames to wait beyond the network's jitter.
    pub(crate) fn wait_frames(&self, now: Instant) -> u32 {
        if self.expired(now) {
            return 0;
        }
        let burst = self.longest;
        // Frame `j` of the burst is carried `d` frames later by a packet after the burst
        // when `j + d >= burst`; the nearest such copy sets its wait.
        (0..burst)
            .filter_map(|j| (1..=MAX_REACH).find(|&d| self.carries(d) && j + d >= burst))
            .max()
            .unwrap_or(0)
    }

    pub(crate) fn reset(&mut self) {
        *self = Self {
            distances: self.distances,
            ..Self::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_follows_the_longest_recent_burst_and_where_the_copies_are() {
        let t0 = Instant::now();
        let mut m = BurstMemory::default();
        assert_eq!(m.wait_frames(t0), 0);
        m.missing(t0);
        m.arrived();
        assert_eq!(m.wait_frames(t0), 1, "FEC reaches one frame back");
        for _ in 0..3 {
            m.missing(t0);
        }
        m.arrived();
        assert_eq!(m.wait_frames(t0), 1, "no copy reaches further without RED");
        m.note_distance(2);
        assert_eq!(
            m.wait_frames(t0),
            2,
            "RED 1 and 2 back: the middle frame waits 2"
        );
        m.note_distance(4);
        assert_eq!(m.wait_frames(t0), 4, "the first frame's copy comes 4 later");
        m.note_distance(50);
        m.note_distance(0);
        assert_eq!(m.wait_frames(t0), 4, "nonsense distances are ignored");
        // Shorter bursts later keep, and renew, the depth the longest one set.
        let later = t0 + MEMORY - Duration::from_secs(1);
        m.missing(later);
        m.arrived();
        assert_eq!(m.wait_frames(later + Duration::from_secs(10)), 4);
        // A clean stretch gives it back; the next burst starts from scratch.
        let clean = later + MEMORY;
        assert_eq!(m.wait_frames(clean), 0);
        m.missing(clean);
        m.arrived();
        assert_eq!(m.wait_frames(clean), 1);
        m.reset();
        assert_eq!(m.wait_frames(clean), 0);
        // The peer's copies are still known after a reset: a burst of four waits for the
        // first frame's copy, 4 frames on.
        for _ in 0..4 {
            m.missing(clean);
        }
        m.arrived();
        assert_eq!(m.wait_frames(clean), 4);
    }
}
