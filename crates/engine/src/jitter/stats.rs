/// Counters since the buffer was created, plus its current delay state.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JitterStats {
    /// Every packet offered with a usable payload, including duplicates and late ones.
    pub received: u64,
    pub duplicates: u64,
    pub late: u64,
    /// Empty or oversized payloads.
    pub rejected: u64,
    /// Sequence numbers given up on (reported as `Lost`, or skipped while refilling).
    pub lost: u64,
    /// Frames reported `Lost` while waiting for a packet that may still come (nothing newer
    /// had arrived, or less than the target delay was buffered); each delays the stream by
    /// a frame instead of consuming a sequence number.
    pub underruns: u64,
    pub fec_recovered: u64,
    /// Frames stored from RED blocks (a gap they filled), and those of them played.
    pub red_stored: u64,
    pub red_recovered: u64,
    /// Frames of comfort noise played while the sender was in DTX.
    pub dtx: u64,
    pub concealed: u64,
    pub decode_errors: u64,
    /// Frames dropped to bring the delay back down to the target.
    pub skipped: u64,
    /// 48 kHz samples time-stretching removed (to bring the delay down: accelerate) and
    /// added (to stretch the buffer's content when it ran short: pre-emptive expand).
    pub accelerated_samples: u64,
    pub expanded_samples: u64,
    /// Times the stream stalled and the buffer went back to refilling.
    pub stalls: u64,
    pub resyncs: u64,
    pub played: u64,
    pub target_delay_ms: u32,
    pub depth_ms: u32,
    /// RFC 3550 interarrival jitter.
    pub jitter_ms: f64,
}
