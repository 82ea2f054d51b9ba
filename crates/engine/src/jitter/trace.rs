//! A received RTP stream as the receive path saw it: each packet's arrival time (relative to
//! the first), header fields and payload, after SRTP. Written by the hidden capture in
//! `rtc` (`VOICECALL_RX_TRACE`) and replayed offline through `ReceivePath` (issue 17:
//! Chromium → voicecall, `benches/rx_replay.rs`, `jitter::trace_tests`).
//!
//! Binary, little-endian: the magic, then per packet `arrival_us: u32, seq: u16,
//! timestamp: u32, payload_type: u8, marker: u8, len: u16`, then `len` payload bytes.

use thiserror::Error;

pub const MAGIC: &[u8; 8] = b"VCRXTR01";
const HEADER_BYTES: usize = 14;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedPacket {
    /// Microseconds since the first packet arrived.
    pub arrival_us: u32,
    pub seq: u16,
    pub timestamp: u32,
    pub payload_type: u8,
    pub marker: bool,
    pub payload: Vec<u8>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TraceError {
    #[error("not an RX trace (magic {0:?})")]
    Magic(Vec<u8>),
    #[error("packet {index} is cut off at byte {offset}")]
    Truncated { index: usize, offset: usize },
}

/// Appends one packet's record to `out`.
pub fn encode(packet: &TracedPacket, out: &mut Vec<u8>) {
    out.extend_from_slice(&packet.arrival_us.to_le_bytes());
    out.extend_from_slice(&packet.seq.to_le_bytes());
    out.extend_from_slice(&packet.timestamp.to_le_bytes());
    out.push(packet.payload_type);
    out.push(u8::from(packet.marker));
    let len = u16::try_from(packet.payload.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&packet.payload[..usize::from(len)]);
}

/// Every packet of a trace file's bytes, in arrival order.
pub fn parse(bytes: &[u8]) -> Result<Vec<TracedPacket>, TraceError> {
    let Some(rest) = bytes.strip_prefix(MAGIC.as_slice()) else {
        return Err(TraceError::Magic(bytes.iter().take(8).copied().collect()));
    };
    let mut packets = Vec::new();
    let mut at = 0;
    while at < rest.len() {
        let truncated = TraceError::Truncated {
            index: packets.len(),
            offset: at + MAGIC.len(),
        };
        let Some(h) = rest.get(at..at + HEADER_BYTES) else {
            return Err(truncated);
        };
        let len = usize::from(u16::from_le_bytes([h[12], h[13]]));
        let start = at + HEADER_BYTES;
        let Some(payload) = rest.get(start..start + len) else {
            return Err(truncated);
        };
        packets.push(TracedPacket {
            arrival_us: u32::from_le_bytes([h[0], h[1], h[2], h[3]]),
            seq: u16::from_le_bytes([h[4], h[5]]),
            timestamp: u32::from_le_bytes([h[6], h[7], h[8], h[9]]),
            payload_type: h[10],
            marker: h[11] != 0,
            payload: payload.to_vec(),
        });
        at = start + len;
    }
    Ok(packets)
}
