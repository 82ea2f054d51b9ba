//! RTP payload for redundant audio (RFC 2198), as Chromium sends Opus in it (`red/48000/2`
//! with fmtp `111/111`): each packet carries the current frame (the primary) and copies of
//! the frames sent just before it, so one lost packet is rebuilt from the next one.
//!
//! Layout: one 4-byte header per redundant block (`F=1 | PT(7) | timestamp offset(14) |
//! length(10)`), then a 1-byte header for the primary (`F=0 | PT(7)`), then the block
//! payloads in the same order (oldest first), the primary last.

/// Redundant block headers carry a 10-bit length.
pub const MAX_RED_BLOCK_BYTES: usize = (1 << 10) - 1;
/// And a 14-bit timestamp offset (341 ms at 48 kHz).
pub const MAX_RED_OFFSET: u32 = (1 << 14) - 1;
/// Most redundant blocks one packet may carry; more is neither sent nor accepted.
pub const MAX_RED_BLOCKS: usize = 4;

const F_BIT: u8 = 0x80;
const PT_MASK: u8 = 0x7F;
const REDUNDANT_HEADER_BYTES: usize = 4;

/// One block of a RED payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedBlock<'a> {
    pub payload_type: u8,
    /// How far before the packet's RTP timestamp this block's frame starts; 0 for the primary.
    pub timestamp_offset: u32,
    pub payload: &'a [u8],
}

/// A parsed RED payload: up to [`MAX_RED_BLOCKS`] redundant blocks, oldest first, and the
/// primary. Borrowed from the packet; parsing allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedPayload<'a> {
    redundant: [Option<RedBlock<'a>>; MAX_RED_BLOCKS],
    count: usize,
    pub primary: RedBlock<'a>,
}

impl<'a> RedPayload<'a> {
    /// The redundant blocks, oldest first.
    pub fn redundant(&self) -> impl DoubleEndedIterator<Item = &RedBlock<'a>> {
        self.redundant[..self.count].iter().flatten()
    }

    pub fn redundant_count(&self) -> usize {
        self.count
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedError {
    #[error("RED payload ends inside a block header")]
    TruncatedHeader,
    #[error("RED block lengths run past the end of the payload")]
    TruncatedBlock,
    #[error("RED payload has more than {MAX_RED_BLOCKS} redundant blocks")]
    TooManyBlocks,
    #[error("RED redundant blocks are not in timestamp order")]
    BadOffsets,
    #[error("RED block does not fit its header (length or offset too large)")]
    BlockTooLarge,
    #[error("output buffer too small for the RED payload")]
    OutputTooSmall,
}

/// Parses a RED payload. Malformed input (truncated headers, lengths past the end, offsets
/// out of order, more than [`MAX_RED_BLOCKS`] blocks) is an error, never a panic.
pub fn parse(payload: &[u8]) -> Result<RedPayload<'_>, RedError> {
    let mut headers = [(0u8, 0u32, 0usize); MAX_RED_BLOCKS];
    let mut count = 0;
    let mut pos = 0;
    let primary_pt = loop {
        let &first = payload.get(pos).ok_or(RedError::TruncatedHeader)?;
        if first & F_BIT == 0 {
            pos += 1;
            break first & PT_MASK;
        }
        let header = payload
            .get(pos..pos + REDUNDANT_HEADER_BYTES)
            .ok_or(RedError::TruncatedHeader)?;
        if count == MAX_RED_BLOCKS {
            return Err(RedError::TooManyBlocks);
        }
        let offset = (u32::from(header[1]) << 6) | (u32::from(header[2]) >> 2);
        let len = (usize::from(header[2] & 0x03) << 8) | usize::from(header[3]);
        headers[count] = (first & PT_MASK, offset, len);
        count += 1;
        pos += REDUNDANT_HEADER_BYTES;
    };
    let mut redundant = [None; MAX_RED_BLOCKS];
    let mut previous_offset = u32::MAX;
    for (slot, &(payload_type, offset, len)) in redundant.iter_mut().zip(&headers[..count]) {
        // Oldest first: offsets strictly decrease and a redundant frame is never "now".
        if offset == 0 || offset >= previous_offset {
            return Err(RedError::BadOffsets);
        }
        previous_offset = offset;
        let block = payload
            .get(pos..pos + len)
            .ok_or(RedError::TruncatedBlock)?;
        pos += len;
        *slot = Some(RedBlock {
            payload_type,
            timestamp_offset: offset,
            payload: block,
        });
    }
    let primary = RedBlock {
        payload_type: primary_pt,
        timestamp_offset: 0,
        payload: payload.get(pos..).ok_or(RedError::TruncatedBlock)?,
    };
    Ok(RedPayload {
        redundant,
        count,
        primary,
    })
}

/// Writes a RED payload into `out` and returns its length. `redundant` holds
/// `(timestamp offset, frame)` pairs, oldest first. An empty frame becomes an empty block:
/// a placeholder that keeps the blocks after it at the packet positions receivers map them
/// to (block `i` of `k` is the packet `k - i` before this one). Frames too old or too large
/// for a block header are left out.
pub fn pack(
    payload_type: u8,
    redundant: &[(u32, &[u8])],
    primary: &[u8],
    out: &mut [u8],
) -> Result<usize, RedError> {
    if redundant.len() > MAX_RED_BLOCKS {
        return Err(RedError::TooManyBlocks);
    }
    let usable = |&&(offset, frame): &&(u32, &[u8])| {
        frame.len() <= MAX_RED_BLOCK_BYTES && offset > 0 && offset <= MAX_RED_OFFSET
    };
    let mut previous_offset = u32::MAX;
    for &(offset, _) in redundant.iter().filter(usable) {
        if offset >= previous_offset {
            return Err(RedError::BadOffsets);
        }
        previous_offset = offset;
    }
    let blocks = redundant.iter().filter(usable);
    let needed = blocks
        .clone()
        .map(|(_, frame)| REDUNDANT_HEADER_BYTES + frame.len())
        .sum::<usize>()
        + 1
        + primary.len();
    if out.len() < needed {
        return Err(RedError::OutputTooSmall);
    }
    let pt = payload_type & PT_MASK;
    let mut pos = 0;
    for &(offset, frame) in blocks.clone() {
        let len = frame.len();
        out[pos] = F_BIT | pt;
        out[pos + 1] = (offset >> 6) as u8;
        out[pos + 2] = (((offset & 0x3F) << 2) as u8) | ((len >> 8) as u8 & 0x03);
        out[pos + 3] = (len & 0xFF) as u8;
        pos += REDUNDANT_HEADER_BYTES;
    }
    out[pos] = pt;
    pos += 1;
    for &(_, frame) in blocks {
        out[pos..pos + frame.len()].copy_from_slice(frame);
        pos += frame.len();
    }
    out[pos..pos + primary.len()].copy_from_slice(primary);
    Ok(pos + primary.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_with_two_redundant_blocks() {
        let mut out = [0u8; 64];
        let n = pack(
            111,
            &[(1920, b"old"), (960, b"prev!")],
            b"primary",
            &mut out,
        )
        .unwrap();
        assert_eq!(n, 4 + 4 + 1 + 3 + 5 + 7);
        let red = parse(&out[..n]).unwrap();
        let blocks: Vec<_> = red.redundant().copied().collect();
        assert_eq!(
            blocks,
            vec![
                RedBlock {
                    payload_type: 111,
                    timestamp_offset: 1920,
                    payload: b"old"
                },
                RedBlock {
                    payload_type: 111,
                    timestamp_offset: 960,
                    payload: b"prev!"
                },
            ]
        );
        assert_eq!(red.primary.payload, b"primary");
        assert_eq!(red.primary.payload_type, 111);
    }

    #[test]
    fn primary_only_is_one_byte_of_header() {
        let mut out = [0u8; 16];
        let n = pack(111, &[], b"abc", &mut out).unwrap();
        assert_eq!(&out[..n], &[111, b'a', b'b', b'c']);
        let red = parse(&out[..n]).unwrap();
        assert_eq!(red.redundant_count(), 0);
        assert_eq!(red.primary.payload, b"abc");
    }

    #[test]
    fn chromium_layout_is_read() {
        // F=1, PT=111, offset 960, length 2; then F=0 PT=111; then the two payloads.
        let packet = [0xEF, 0x0F, 0x00, 0x02, 0x6F, 0xAA, 0xBB, 0xCC];
        let red = parse(&packet).unwrap();
        let block = red.redundant().next().copied().unwrap();
        assert_eq!(block.timestamp_offset, 960);
        assert_eq!(block.payload, &[0xAA, 0xBB]);
        assert_eq!(red.primary.payload, &[0xCC]);
    }

    #[test]
    fn unusable_blocks_are_left_out_when_packing() {
        let mut out = [0u8; 2048];
        let big = [7u8; MAX_RED_BLOCK_BYTES + 1];
        let n = pack(
            111,
            &[(MAX_RED_OFFSET + 1, b"x"), (1920, &big)],
            b"p",
            &mut out,
        )
        .unwrap();
        assert_eq!(&out[..n], &[111, b'p']);
    }

    #[test]
    fn empty_frames_are_placeholder_blocks() {
        let mut out = [0u8; 64];
        let n = pack(
            111,
            &[(2880, b"ab"), (1920, b""), (960, b"c")],
            b"p",
            &mut out,
        )
        .unwrap();
        let red = parse(&out[..n]).unwrap();
        let blocks: Vec<_> = red
            .redundant()
            .map(|b| (b.timestamp_offset, b.payload))
            .collect();
        assert_eq!(
            blocks,
            vec![(2880, &b"ab"[..]), (1920, &b""[..]), (960, &b"c"[..])]
        );
        assert_eq!(red.primary.payload, b"p");
    }

    #[test]
    fn packing_rejects_disorder_and_small_buffers() {
        let mut out = [0u8; 8];
        assert_eq!(
            pack(111, &[(960, b"a"), (1920, b"b")], b"p", &mut out),
            Err(RedError::BadOffsets)
        );
        assert_eq!(
            pack(111, &[(960, b"abcd")], b"pp", &mut out),
            Err(RedError::OutputTooSmall)
        );
    }

    #[test]
    fn malformed_payloads_are_errors() {
        assert_eq!(parse(&[]), Err(RedError::TruncatedHeader));
        // A redundant header cut short, and one with no primary header after it.
        assert_eq!(parse(&[0xEF, 0x0F]), Err(RedError::TruncatedHeader));
        assert_eq!(
            parse(&[0xEF, 0x0F, 0x00, 0x01]),
            Err(RedError::TruncatedHeader)
        );
        // Block length past the end.
        assert_eq!(
            parse(&[0xEF, 0x0F, 0x00, 0x09, 0x6F, 1, 2]),
            Err(RedError::TruncatedBlock)
        );
        // Offset zero, and offsets out of order.
        assert_eq!(
            parse(&[0xEF, 0x00, 0x00, 0x01, 0x6F, 1, 2]),
            Err(RedError::BadOffsets)
        );
        assert_eq!(
            parse(&[
                0xEF, 0x0F, 0x00, 0x01, 0xEF, 0x1E, 0x00, 0x01, 0x6F, 1, 2, 3
            ]),
            Err(RedError::BadOffsets)
        );
        let mut many = Vec::new();
        for i in 0..=MAX_RED_BLOCKS as u8 {
            many.extend_from_slice(&[0xEF, 0x3F - i, 0x00, 0x00]);
        }
        many.push(0x6F);
        assert_eq!(parse(&many), Err(RedError::TooManyBlocks));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(red) = parse(&bytes) {
                let total: usize = red.redundant().map(|b| b.payload.len()).sum::<usize>()
                    + red.primary.payload.len();
                prop_assert!(total <= bytes.len());
            }
        }

        #[test]
        fn pack_then_parse_round_trips(
            frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..=MAX_RED_BLOCKS),
            primary in proptest::collection::vec(any::<u8>(), 0..300),
            pt in 0u8..128,
        ) {
            let k = frames.len() as u32;
            let blocks: Vec<(u32, &[u8])> = frames
                .iter()
                .enumerate()
                .map(|(i, f)| ((k - i as u32) * 960, f.as_slice()))
                .collect();
            let mut out = vec![0u8; 2048];
            let n = pack(pt, &blocks, &primary, &mut out).unwrap();
            let red = parse(&out[..n]).unwrap();
            prop_assert_eq!(red.redundant_count(), frames.len());
            for (block, (offset, frame)) in red.redundant().zip(&blocks) {
                prop_assert_eq!(block.timestamp_offset, *offset);
                prop_assert_eq!(block.payload, *frame);
                prop_assert_eq!(block.payload_type, pt);
            }
            prop_assert_eq!(red.primary.payload, primary.as_slice());
        }
    }
}
