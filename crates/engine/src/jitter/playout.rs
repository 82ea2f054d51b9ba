/// What to play for the next 20 ms, borrowed from the buffer until the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playout<'a> {
    /// Not started, or refilling after a stall: play silence.
    Buffering,
    /// The next packet in sequence.
    Frame(&'a [u8]),
    /// The next frame, rebuilt from the RED redundancy of a later packet.
    Redundant(&'a [u8]),
    /// The sender is in DTX (discontinuous transmission): play comfort noise, which is
    /// what the decoder's concealment produces after a DTX packet. Not a loss.
    Dtx,
    /// The next packet is missing. Decode `next` (the packet after it) with FEC if present,
    /// else conceal. `next` is still played on the following call.
    Lost { next: Option<&'a [u8]> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    Accepted,
    /// Already buffered or already played.
    Duplicate,
    /// Its playout time has passed (or it is too old to fit the buffer).
    Late,
    /// The sequence jumped too far to be reordering: the buffer dropped what it held and
    /// restarted from this packet.
    Resynced,
    /// Empty payloads are not Opus packets.
    Empty,
    /// Larger than a slot (`SLOT_PAYLOAD_BYTES`).
    TooLarge,
}
