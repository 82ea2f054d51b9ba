/// Slots in the receive ring: 1.28 s of 20 ms frames, far beyond any useful playout delay,
/// so reordering within the window never collides.
pub const SLOT_COUNT: usize = 64;
/// Largest payload a slot holds; equal to the largest Opus packet we accept.
pub const SLOT_PAYLOAD_BYTES: usize = crate::codec::MAX_PACKET_BYTES;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    Empty,
    Filled,
    /// Kept after playout so a late duplicate is recognised as a duplicate.
    Played,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    state: SlotState,
    ext: u64,
    len: u16,
    /// RTP timestamp of the frame.
    ts: u32,
    /// Rebuilt from a later packet's RED block rather than received itself.
    redundant: bool,
}

const EMPTY_SLOT: Slot = Slot {
    state: SlotState::Empty,
    ext: 0,
    len: 0,
    ts: 0,
    redundant: false,
};

/// Fixed storage for packets, indexed by extended sequence number modulo `SLOT_COUNT`;
/// all memory is allocated once in `new`.
#[derive(Debug)]
pub(crate) struct SlotRing {
    slots: Box<[Slot]>,
    payloads: Box<[u8]>,
}

impl SlotRing {
    pub(crate) fn new() -> Self {
        Self {
            slots: vec![EMPTY_SLOT; SLOT_COUNT].into_boxed_slice(),
            payloads: vec![0; SLOT_COUNT * SLOT_PAYLOAD_BYTES].into_boxed_slice(),
        }
    }

    fn index(ext: u64) -> usize {
        (ext % SLOT_COUNT as u64) as usize
    }

    fn slot(&self, ext: u64) -> Option<&Slot> {
        self.slots
            .get(Self::index(ext))
            .filter(|s| s.ext == ext && s.state != SlotState::Empty)
    }

    /// Stores `payload` for `ext`, evicting whatever shared its slot. Returns false (and
    /// stores nothing) if the payload does not fit a slot.
    #[cfg(test)]
    pub(crate) fn store(&mut self, ext: u64, payload: &[u8]) -> bool {
        self.store_frame(ext, 0, payload, false)
    }

    /// `store` with the frame's RTP timestamp and whether it came from a RED block.
    pub(crate) fn store_frame(
        &mut self,
        ext: u64,
        ts: u32,
        payload: &[u8],
        redundant: bool,
    ) -> bool {
        let Ok(len) = u16::try_from(payload.len()) else {
            return false;
        };
        if payload.len() > SLOT_PAYLOAD_BYTES {
            return false;
        }
        let idx = Self::index(ext);
        let start = idx * SLOT_PAYLOAD_BYTES;
        let (Some(dst), Some(slot)) = (
            self.payloads.get_mut(start..start + payload.len()),
            self.slots.get_mut(idx),
        ) else {
            return false;
        };
        dst.copy_from_slice(payload);
        *slot = Slot {
            state: SlotState::Filled,
            ext,
            len,
            ts,
            redundant,
        };
        true
    }

    pub(crate) fn is_filled(&self, ext: u64) -> bool {
        self.slot(ext).is_some_and(|s| s.state == SlotState::Filled)
    }

    pub(crate) fn was_played(&self, ext: u64) -> bool {
        self.slot(ext).is_some_and(|s| s.state == SlotState::Played)
    }

    /// RTP timestamp of a filled or just-played slot.
    pub(crate) fn timestamp(&self, ext: u64) -> Option<u32> {
        self.slot(ext).map(|s| s.ts)
    }

    pub(crate) fn is_redundant(&self, ext: u64) -> bool {
        self.slot(ext).is_some_and(|s| s.redundant)
    }

    pub(crate) fn payload_len(&self, ext: u64) -> Option<usize> {
        self.slot(ext).map(|s| usize::from(s.len))
    }

    /// The payload of a filled or just-played slot.
    pub(crate) fn payload(&self, ext: u64) -> Option<&[u8]> {
        let slot = self.slot(ext)?;
        let start = Self::index(ext) * SLOT_PAYLOAD_BYTES;
        self.payloads.get(start..start + usize::from(slot.len))
    }

    pub(crate) fn mark_played(&mut self, ext: u64) {
        if let Some(slot) = self
            .slots
            .get_mut(Self::index(ext))
            .filter(|s| s.ext == ext)
        {
            slot.state = SlotState::Played;
        }
    }

    /// Lowest filled extended number in `from..=to`; looks at most one ring's worth.
    pub(crate) fn first_filled(&self, from: u64, to: u64) -> Option<u64> {
        let to = to.min(from.saturating_add(SLOT_COUNT as u64 - 1));
        (from..=to).find(|&ext| self.is_filled(ext))
    }

    pub(crate) fn clear(&mut self) {
        self.slots.fill(EMPTY_SLOT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_plays_and_evicts_by_extended_number() {
        let mut ring = SlotRing::new();
        assert!(ring.store(100, b"abc"));
        assert!(ring.is_filled(100));
        assert_eq!(ring.payload(100), Some(&b"abc"[..]));
        assert!(!ring.is_filled(100 + SLOT_COUNT as u64));
        ring.mark_played(100);
        assert!(!ring.is_filled(100) && ring.was_played(100));
        assert_eq!(ring.payload(100), Some(&b"abc"[..]));
        assert!(ring.store(100 + SLOT_COUNT as u64, b"xy"));
        assert!(!ring.was_played(100));
        assert_eq!(ring.payload(100 + SLOT_COUNT as u64), Some(&b"xy"[..]));
        assert_eq!(ring.payload_len(100 + SLOT_COUNT as u64), Some(2));
    }

    #[test]
    fn rejects_oversized_payloads_and_accepts_the_maximum() {
        let mut ring = SlotRing::new();
        assert!(!ring.store(1, &vec![0; SLOT_PAYLOAD_BYTES + 1]));
        assert!(!ring.is_filled(1));
        assert!(ring.store(SLOT_COUNT as u64 - 1, &vec![7; SLOT_PAYLOAD_BYTES]));
        assert_eq!(
            ring.payload(SLOT_COUNT as u64 - 1).map(<[u8]>::len),
            Some(SLOT_PAYLOAD_BYTES)
        );
    }

    #[test]
    fn first_filled_scans_a_bounded_window() {
        let mut ring = SlotRing::new();
        ring.store(10, b"a");
        ring.store(12, b"b");
        assert_eq!(ring.first_filled(5, 20), Some(10));
        assert_eq!(ring.first_filled(11, 20), Some(12));
        assert_eq!(ring.first_filled(13, 20), None);
        assert_eq!(ring.first_filled(0, u64::MAX), Some(10));
        ring.clear();
        assert_eq!(ring.first_filled(0, 100), None);
    }
}
