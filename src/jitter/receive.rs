use std::time::Instant;

use super::{InsertOutcome, JitterBuffer, JitterConfig, JitterStats, Playout};
use crate::codec::{CodecError, Decoder, carries_fec};
use crate::format::FRAME_SAMPLES;

/// Where a pulled frame came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameSource {
    /// The buffer is filling: zeros.
    Silence,
    Decoded,
    /// A lost frame rebuilt from the FEC in the packet after it.
    Fec,
    /// Packet-loss concealment: for lost frames without FEC and for undecodable payloads.
    Concealed,
}

/// Jitter buffer plus decoder: packets in, one 20 ms frame of PCM out per `pull`.
#[derive(Debug)]
pub struct ReceivePath {
    buffer: JitterBuffer,
    decoder: Decoder,
}

/// What the decoder made of one `Playout`, kept apart from the borrow of the buffer.
enum Decoded {
    Silence,
    Frame(Result<usize, CodecError>),
    Fec(Result<usize, CodecError>),
    NeedsConcealment,
}

impl ReceivePath {
    pub fn new(config: JitterConfig) -> Result<Self, CodecError> {
        Ok(Self {
            buffer: JitterBuffer::new(config),
            decoder: Decoder::new()?,
        })
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
    /// longer than `out` is concealed as undecodable. Corrupt payloads never fail this: they
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
        let decoded = match self.buffer.pop(now) {
            Playout::Buffering => Decoded::Silence,
            Playout::Frame(packet) => Decoded::Frame(self.decoder.decode(packet, out)),
            Playout::Lost { next: Some(packet) } if carries_fec(packet) => {
                Decoded::Fec(self.decoder.decode_fec(packet, out, FRAME_SAMPLES))
            }
            Playout::Lost { .. } => Decoded::NeedsConcealment,
        };
        match decoded {
            Decoded::Silence => {
                out[..FRAME_SAMPLES].fill(0);
                Ok((FRAME_SAMPLES, FrameSource::Silence))
            }
            Decoded::Frame(Ok(n)) => Ok((n, FrameSource::Decoded)),
            Decoded::Fec(Ok(n)) => {
                self.buffer.record_fec_recovered();
                Ok((n, FrameSource::Fec))
            }
            Decoded::Frame(Err(_)) | Decoded::Fec(Err(_)) => {
                self.buffer.record_decode_error();
                self.conceal(out)
            }
            Decoded::NeedsConcealment => self.conceal(out),
        }
    }

    fn conceal(&mut self, out: &mut [i16]) -> Result<(usize, FrameSource), CodecError> {
        let n = self.decoder.conceal(out, FRAME_SAMPLES)?;
        self.buffer.record_concealed();
        Ok((n, FrameSource::Concealed))
    }

    pub fn stats(&self) -> JitterStats {
        self.buffer.stats()
    }
}
