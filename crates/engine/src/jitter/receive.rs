use std::time::Instant;

use super::padding::PaddingFilter;
use super::{
    InsertOutcome, JitterBuffer, JitterConfig, JitterStats, Playout, Stretch, TimeStretcher,
};
use crate::codec::{CodecError, Decoder, carries_fec, red};
use voicecall_core::format::FRAME_SAMPLES;

/// Where a pulled frame came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameSource {
    /// The buffer is filling: zeros (a short piece when time-stretching).
    Silence,
    Decoded,
    /// A lost frame rebuilt from the FEC in the packet after it.
    Fec,
    /// A lost packet whose frame a later packet carried as RED redundancy.
    Redundancy,
    /// Comfort noise while the sender is in DTX (a short piece when time-stretching).
    ComfortNoise,
    /// Packet-loss concealment: for lost frames without FEC and for undecodable payloads.
    Concealed,
}

/// The decoder's complexity while the peer is in DTX, at most: libopus makes comfort noise
/// by concealment, which from complexity 5 is its neural PLC, 50–170 µs per 20 ms of a
/// silence no listener can tell apart (`benches/rx_replay.rs`, docs/quality.md).
const DTX_DECODER_COMPLEXITY: u8 = 4;

/// Jitter buffer plus decoder: packets in, one packet's worth of PCM out per `pull`,
/// time-stretched by up to half a frame when the buffer holds more or less than its target
/// (comfort noise in DTX comes in 5 ms pieces, see `JitterBuffer::quiet_samples`).
#[derive(Debug)]
pub struct ReceivePath {
    buffer: JitterBuffer,
    /// Takes the sender's padding-only packets out of the sequence (see `padding`).
    padding: PaddingFilter,
    decoder: Decoder,
    /// The configured decoder complexity, for frames that are not comfort noise.
    decoder_complexity: u8,
    stretcher: TimeStretcher,
    /// The negotiated RTP payload type of `red/48000/2`, when the peer may send RED.
    red_payload_type: Option<u8>,
    malformed_red: u64,
}

/// What the decoder made of one `Playout`, kept apart from the borrow of the buffer.
enum Decoded {
    Silence,
    Frame(Result<usize, CodecError>),
    Fec(Result<usize, CodecError>),
    Redundant(Result<usize, CodecError>),
    NeedsConcealment,
    ComfortNoise,
}

impl ReceivePath {
    pub fn new(config: JitterConfig) -> Result<Self, CodecError> {
        let decoder_complexity = config.decoder_complexity;
        let decoder = Decoder::with_complexity(decoder_complexity)?;
        let mut buffer = JitterBuffer::new(config);
        buffer.set_time_stretch(true);
        Ok(Self {
            buffer,
            padding: PaddingFilter::new(),
            decoder,
            decoder_complexity,
            stretcher: TimeStretcher::new(),
            red_payload_type: None,
            malformed_red: 0,
        })
    }

    /// Off: every pull gives whole packets and the buffer skips and holds whole frames to
    /// keep its delay (for callers clocked per frame rather than by an audio device).
    pub fn set_time_stretch(&mut self, on: bool) {
        self.buffer.set_time_stretch(on);
    }

    /// Packets with this payload type are RFC 2198 RED; others are plain Opus.
    pub fn set_red_payload_type(&mut self, payload_type: Option<u8>) {
        self.red_payload_type = payload_type;
    }

    /// One RTP packet as received: padding-only packets are taken out of the sequence
    /// (`PaddingFilter`); RED packets are unpacked into their primary and the redundant
    /// frames (stored only where they fill a gap); malformed RED is dropped and counted,
    /// never decoded. `marker` is the RTP marker bit: a talkspurt starts here.
    pub fn push_rtp(
        &mut self,
        payload_type: u8,
        seq: u16,
        rtp_timestamp: u32,
        marker: bool,
        payload: &[u8],
        now: Instant,
    ) -> InsertOutcome {
        let padding_only = payload.is_empty();
        let Some(seq) = self.padding.renumber(seq, rtp_timestamp, padding_only) else {
            return if padding_only {
                InsertOutcome::Empty
            } else {
                InsertOutcome::Late
            };
        };
        let outcome = self.push_payload(payload_type, seq, rtp_timestamp, payload, now);
        if marker && matches!(outcome, InsertOutcome::Accepted | InsertOutcome::Resynced) {
            self.buffer.note_talkspurt_start(seq);
        }
        outcome
    }

    /// `push_rtp` after padding is taken out: `seq` is the renumbered sequence number.
    fn push_payload(
        &mut self,
        payload_type: u8,
        seq: u16,
        rtp_timestamp: u32,
        payload: &[u8],
        now: Instant,
    ) -> InsertOutcome {
        if self.red_payload_type != Some(payload_type) {
            return self.push(seq, rtp_timestamp, payload, now);
        }
        let Ok(parsed) = red::parse(payload) else {
            self.malformed_red += 1;
            return InsertOutcome::Empty;
        };
        let primary_type = parsed.primary.payload_type;
        let outcome = self.push(seq, rtp_timestamp, parsed.primary.payload, now);
        if !matches!(outcome, InsertOutcome::Accepted | InsertOutcome::Resynced) {
            return outcome;
        }
        // Blocks are the packets sent just before this one, oldest first.
        let count = parsed.redundant_count() as u16;
        for (i, block) in parsed.redundant().enumerate() {
            if block.payload_type != primary_type {
                continue;
            }
            let distance = count - i as u16;
            if !block.payload.is_empty() {
                self.buffer.note_red_distance(u32::from(distance));
                // The copy's in-band FEC holds the frame before it: after a pair of losses
                // it is what rebuilds the first, one frame further back.
                if carries_fec(block.payload) {
                    self.buffer.note_red_distance(u32::from(distance) + 1);
                }
            }
            let block_seq = seq.wrapping_sub(distance);
            let block_ts = rtp_timestamp.wrapping_sub(block.timestamp_offset);
            self.buffer
                .insert_redundant(block_seq, block_ts, block.payload);
        }
        outcome
    }

    /// Padding-only packets the sender spent sequence numbers on.
    pub fn padding_packets(&self) -> u64 {
        self.padding.padding_seen()
    }

    /// RED payloads that could not be parsed.
    pub fn malformed_red(&self) -> u64 {
        self.malformed_red
    }

    pub fn push(
        &mut self,
        seq: u16,
        rtp_timestamp: u32,
        payload: &[u8],
        now: Instant,
    ) -> InsertOutcome {
        self.buffer.insert(seq, rtp_timestamp, payload, now)
    }

    /// Fills `out` with the next frame and says how it was made. `out` must hold at least
    /// `FRAME_SAMPLES`; a peer's longer packet needs up to `MAX_DECODED_SAMPLES`, and one
    /// longer than `out` is concealed as undecodable. A decoded frame may come out shorter
    /// or longer by a pitch period (time-stretching; lengthening needs `MAX_LAG` samples of
    /// room after the frame), so the caller must pull by the samples it needs, not by time. Corrupt payloads never fail this: they
    /// are concealed and counted in `decode_errors`; errors mean the decoder itself broke.
    pub fn pull(
        &mut self,
        now: Instant,
        out: &mut [i16],
    ) -> Result<(usize, FrameSource), CodecError> {
        if out.len() < FRAME_SAMPLES {
            return Err(CodecError::OutputTooSmall {
                needed: FRAME_SAMPLES,
                got: out.len(),
            });
        }
        let playout = self.buffer.pop(now);
        let complexity = match playout {
            Playout::Buffering => None,
            Playout::Dtx => Some(self.decoder_complexity.min(DTX_DECODER_COMPLEXITY)),
            _ => Some(self.decoder_complexity),
        };
        if let Some(complexity) = complexity {
            self.decoder.set_complexity(complexity)?;
        }
        let decoded = match playout {
            Playout::Buffering => Decoded::Silence,
            Playout::Frame(packet) => Decoded::Frame(self.decoder.decode(packet, out)),
            Playout::Redundant(packet) => Decoded::Redundant(self.decoder.decode(packet, out)),
            Playout::Dtx => Decoded::ComfortNoise,
            Playout::Lost { next: Some(packet) } if carries_fec(packet) => {
                Decoded::Fec(self.decoder.decode_fec(packet, out, FRAME_SAMPLES))
            }
            Playout::Lost { .. } => Decoded::NeedsConcealment,
        };
        match decoded {
            Decoded::Silence => {
                let n = self.buffer.quiet_samples();
                out[..n].fill(0);
                Ok((n, FrameSource::Silence))
            }
            Decoded::Frame(Ok(n)) => Ok((self.stretch(out, n, now), FrameSource::Decoded)),
            Decoded::Redundant(Ok(n)) => Ok((self.stretch(out, n, now), FrameSource::Redundancy)),
            Decoded::ComfortNoise => {
                // After a DTX packet libopus' concealment is its comfort noise generator.
                let n = self.decoder.conceal(out, self.buffer.quiet_samples())?;
                Ok((n, FrameSource::ComfortNoise))
            }
            Decoded::Fec(Ok(n)) => {
                self.buffer.record_fec_recovered();
                Ok((n, FrameSource::Fec))
            }
            Decoded::Frame(Err(_)) | Decoded::Fec(Err(_)) | Decoded::Redundant(Err(_)) => {
                self.buffer.record_decode_error();
                self.conceal(out)
            }
            Decoded::NeedsConcealment => self.conceal(out),
        }
    }

    /// Applies the buffer's stretch request to the decoded `out[..n]`; the new length.
    fn stretch(&mut self, out: &mut [i16], n: usize, now: Instant) -> usize {
        let stretched = match self.buffer.stretch() {
            Stretch::None => return n,
            Stretch::Shorten => self.stretcher.shorten(out, n),
            Stretch::Lengthen => self.stretcher.lengthen(out, n),
        };
        self.buffer.record_stretch(n, stretched, now);
        stretched
    }

    fn conceal(&mut self, out: &mut [i16]) -> Result<(usize, FrameSource), CodecError> {
        let n = self.decoder.conceal(out, FRAME_SAMPLES)?;
        self.buffer.record_concealed();
        Ok((n, FrameSource::Concealed))
    }

    pub fn stats(&self) -> JitterStats {
        self.buffer.stats()
    }

    /// The complexity the decoder made the last frame at.
    pub fn decoder_complexity(&self) -> u8 {
        self.decoder.complexity()
    }
}
