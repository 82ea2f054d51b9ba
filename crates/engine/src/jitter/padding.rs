//! Chromium's pacer probes the path's bandwidth with padding-only RTP packets sent on the
//! audio stream itself: they carry no payload, repeat the last media timestamp, and take
//! sequence numbers (seen: three padding packets after every 20 ms frame while its
//! bandwidth estimate ramps up after loss). The jitter buffer is indexed by sequence
//! number, so each of those numbers read as a lost frame: concealment, a buffer "depth"
//! of up to a second, and PESQ 1.15 where Chromium's own receiver got 2.46.
//!
//! `PaddingFilter` renumbers the media packets as if the padding had never been sent.
//! Padding that arrives is known; padding that is lost is inferred from the timestamps:
//! a gap of `n` sequence numbers between two media packets whose timestamps leave room for
//! only `f < n` frames held at most `f` media packets, and the rest was padding. With no
//! padding in the stream the numbering is unchanged.

use super::sequence::SequenceUnwrapper;
use voicecall_core::format::RTP_TICKS_PER_FRAME;

/// Recent media packets and padding sequence numbers remembered to place reordered
/// packets; older ones are late for the buffer anyway.
const HISTORY: usize = 64;
/// A jump this large is a sender that restarted its sequence, not a gap to account for.
const RESTART_GAP: u64 = 3_000;
/// Bounds of the learned packet duration, in RTP ticks (2.5 ms .. 120 ms).
const MIN_FRAME_TICKS: u32 = 120;
const MAX_FRAME_TICKS: u32 = 5_760;

#[derive(Debug, Clone, Copy)]
struct Media {
    ext: u64,
    timestamp: u32,
    renumbered: u64,
}

/// Renumbers an RTP stream's media packets so that padding-only packets leave no holes.
/// Allocation-free after `new`.
#[derive(Debug)]
pub struct PaddingFilter {
    unwrapper: SequenceUnwrapper,
    /// Ring of recent media packets; `media_len` of them are valid.
    media: [Media; HISTORY],
    media_next: usize,
    media_len: usize,
    /// Ring of recent padding packets' extended sequence numbers.
    padding: [u64; HISTORY],
    padding_next: usize,
    padding_len: usize,
    /// Sequence numbers taken out so far, as of the newest media packet.
    removed: u64,
    frame_ticks: u32,
    padding_seen: u64,
}

impl Default for PaddingFilter {
    fn default() -> Self {
        Self::new()
    }
}

impl PaddingFilter {
    pub fn new() -> Self {
        let empty = Media {
            ext: 0,
            timestamp: 0,
            renumbered: 0,
        };
        Self {
            unwrapper: SequenceUnwrapper::default(),
            media: [empty; HISTORY],
            media_next: 0,
            media_len: 0,
            padding: [0; HISTORY],
            padding_next: 0,
            padding_len: 0,
            removed: 0,
            frame_ticks: RTP_TICKS_PER_FRAME,
            padding_seen: 0,
        }
    }

    /// Padding-only packets received so far.
    pub fn padding_seen(&self) -> u64 {
        self.padding_seen
    }

    /// The sequence number to give the jitter buffer for this packet, or `None` for
    /// padding and for a packet that no longer fits anywhere (too old to place).
    pub fn renumber(&mut self, seq: u16, timestamp: u32, padding_only: bool) -> Option<u16> {
        let ext = self.unwrapper.unwrap(seq);
        if padding_only {
            self.padding_seen += 1;
            self.padding[self.padding_next] = ext;
            self.padding_next = (self.padding_next + 1) % HISTORY;
            self.padding_len = (self.padding_len + 1).min(HISTORY);
            return None;
        }
        let renumbered = match self.newest() {
            None => ext,
            Some(last) if ext > last.ext && ext - last.ext > RESTART_GAP => self.restart(ext),
            Some(last) if last.ext > ext && last.ext - ext > RESTART_GAP => self.restart(ext),
            Some(last) if ext > last.ext => {
                self.learn_frame_ticks(last, ext, timestamp);
                let gap = ext - last.ext - 1;
                let lost = self.media_room(last, ext, timestamp).min(gap);
                self.removed += gap - lost;
                ext - self.removed
            }
            Some(_) => return self.place_late(ext, timestamp),
        };
        self.remember(Media {
            ext,
            timestamp,
            renumbered,
        });
        Some(renumbered as u16)
    }

    fn restart(&mut self, ext: u64) -> u64 {
        self.media_len = 0;
        self.padding_len = 0;
        self.removed = 0;
        ext
    }

    /// A packet older than the newest media packet: it goes between the renumbered
    /// packets it arrived between, if there is room there.
    fn place_late(&self, ext: u64, timestamp: u32) -> Option<u16> {
        let mut before: Option<Media> = None;
        let mut after: Option<Media> = None;
        for m in &self.media[..self.media_len] {
            if m.ext == ext {
                // A duplicate keeps the number the original got.
                return Some(m.renumbered as u16);
            }
            if m.ext < ext && before.is_none_or(|b| m.ext > b.ext) {
                before = Some(*m);
            }
            if m.ext > ext && after.is_none_or(|a| m.ext < a.ext) {
                after = Some(*m);
            }
        }
        let (before, after) = (before?, after?);
        let gap = ext - before.ext - 1;
        let offset = 1 + self.media_room(before, ext, timestamp).min(gap);
        let renumbered = before.renumbered + offset;
        (renumbered < after.renumbered).then_some(renumbered as u16)
    }

    /// How many media frames fit between `from` and a packet at (`ext`, `timestamp`), by
    /// timestamp, less the sequence numbers there already known to be padding.
    fn media_room(&self, from: Media, ext: u64, timestamp: u32) -> u64 {
        let ticks = timestamp.wrapping_sub(from.timestamp) as i32;
        let by_time = if ticks <= 0 {
            0
        } else {
            (ticks as u32 / self.frame_ticks).saturating_sub(1) as u64
        };
        let gap = ext - from.ext - 1;
        by_time.min(gap.saturating_sub(self.padding_between(from.ext, ext)))
    }

    /// Packet duration from the smallest timestamp step between adjacent media packets
    /// (DTX and padding make steps longer, never shorter).
    fn learn_frame_ticks(&mut self, last: Media, ext: u64, timestamp: u32) {
        let step = timestamp.wrapping_sub(last.timestamp);
        let adjacent =
            ext == last.ext + 1 || self.padding_between(last.ext, ext) == ext - last.ext - 1;
        if adjacent && (MIN_FRAME_TICKS..=MAX_FRAME_TICKS).contains(&step) {
            self.frame_ticks = self.frame_ticks.min(step);
        }
    }

    fn padding_between(&self, from: u64, to: u64) -> u64 {
        self.padding[..self.padding_len]
            .iter()
            .filter(|&&p| p > from && p < to)
            .count() as u64
    }

    fn newest(&self) -> Option<Media> {
        (self.media_len > 0).then(|| self.media[(self.media_next + HISTORY - 1) % HISTORY])
    }

    fn remember(&mut self, media: Media) {
        self.media[self.media_next] = media;
        self.media_next = (self.media_next + 1) % HISTORY;
        self.media_len = (self.media_len + 1).min(HISTORY);
    }
}
