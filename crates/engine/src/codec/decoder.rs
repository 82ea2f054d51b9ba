use super::CodecError;
use super::error::Coder;
use super::libopus::RawDecoder;
use voicecall_core::format::{MAX_DECODED_SAMPLES, SAMPLE_RATE};

/// Deep PLC and NoLACE: +0.07–0.36 PESQ-WB between two of our clients on every network
/// of the quality bench, and about +0.1 on Chromium's streams replayed, for 0.1–0.14 ms
/// more CPU per 20 ms frame, 0.7–1.3 % of a core per call (docs/quality.md, "libopus'
/// decoder models"). libopus' own default is 0: classic concealment, no enhancement.
pub const DEFAULT_DECODER_COMPLEXITY: u8 = 7;

/// Opus frames are multiples of 2.5 ms; libopus rejects other PLC/FEC lengths.
const FRAME_QUANTUM_SAMPLES: usize = 120;
/// libopus takes lengths as C ints; anything near that is garbage, not audio.
const MAX_INPUT_BYTES: usize = 1 << 16;

/// Opus decoder for 48 kHz mono. Keeps state between calls, so every frame of one stream
/// (decoded, FEC-recovered or concealed) must go through the same decoder in order.
pub struct Decoder {
    inner: RawDecoder,
    complexity: u8,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").finish_non_exhaustive()
    }
}

impl Decoder {
    /// A decoder at `DEFAULT_DECODER_COMPLEXITY`.
    pub fn new() -> Result<Self, CodecError> {
        Self::with_complexity(DEFAULT_DECODER_COMPLEXITY)
    }

    /// `complexity` 0–10: from 5 libopus conceals lost frames with its neural model (deep
    /// PLC), from 6 it also enhances decoded SILK speech (LACE, NoLACE from 7).
    pub fn with_complexity(complexity: u8) -> Result<Self, CodecError> {
        let create = |source| CodecError::Create {
            coder: Coder::Decoder,
            source,
        };
        let mut inner = RawDecoder::mono(SAMPLE_RATE).map_err(create)?;
        inner
            .set_complexity(i32::from(complexity))
            .map_err(create)?;
        Ok(Self { inner, complexity })
    }

    /// Changes the complexity between frames (libopus reads it per frame; a change of
    /// enhancement method restarts the enhancer's state).
    pub fn set_complexity(&mut self, complexity: u8) -> Result<(), CodecError> {
        if complexity != self.complexity {
            self.inner
                .set_complexity(i32::from(complexity))
                .map_err(CodecError::DecoderComplexity)?;
            self.complexity = complexity;
        }
        Ok(())
    }

    pub fn complexity(&self) -> u8 {
        self.complexity
    }

    /// Decodes one packet into `out` and returns the samples written. Size `out` with
    /// `MAX_DECODED_SAMPLES` to accept any legal packet; a packet longer than `out` is an error.
    pub fn decode(&mut self, packet: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        // libopus reads an empty packet as "lost" and would silently conceal.
        if packet.is_empty() {
            return Err(CodecError::EmptyPacket);
        }
        check_input_len(packet)?;
        let out_len = out.len().min(MAX_DECODED_SAMPLES);
        self.inner
            .decode(packet, &mut out[..out_len], false)
            .map_err(CodecError::Decode)
    }

    /// Recovers the frame lost just before `next_packet` from the redundancy it carries.
    /// When the packet carries none, libopus falls back to concealment (see `carries_fec`).
    /// Decode `next_packet` normally afterwards: this call does not consume its own frame.
    pub fn decode_fec(
        &mut self,
        next_packet: &[u8],
        out: &mut [i16],
        frame_samples: usize,
    ) -> Result<usize, CodecError> {
        if next_packet.is_empty() {
            return Err(CodecError::EmptyPacket);
        }
        check_input_len(next_packet)?;
        let out = frame_slice(out, frame_samples)?;
        self.inner
            .decode(next_packet, out, true)
            .map_err(CodecError::Decode)
    }

    /// Packet-loss concealment: extrapolates `frame_samples` from the decoder's history.
    pub fn conceal(&mut self, out: &mut [i16], frame_samples: usize) -> Result<usize, CodecError> {
        let out = frame_slice(out, frame_samples)?;
        self.inner
            .decode(&[], out, false)
            .map_err(CodecError::Decode)
    }
}

fn check_input_len(packet: &[u8]) -> Result<(), CodecError> {
    if packet.len() > MAX_INPUT_BYTES {
        return Err(CodecError::PacketTooLarge(packet.len()));
    }
    Ok(())
}

/// libopus derives the FEC/PLC length from the output length, so it must be exact.
fn frame_slice(out: &mut [i16], frame_samples: usize) -> Result<&mut [i16], CodecError> {
    if frame_samples == 0
        || !frame_samples.is_multiple_of(FRAME_QUANTUM_SAMPLES)
        || frame_samples > MAX_DECODED_SAMPLES
    {
        return Err(CodecError::InvalidFrameSamples(frame_samples));
    }
    let got = out.len();
    out.get_mut(..frame_samples)
        .ok_or(CodecError::OutputTooSmall {
            needed: frame_samples,
            got,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Encoder, EncoderSettings, MAX_PACKET_BYTES};
    use voicecall_core::format::FRAME_SAMPLES;

    fn tone_packet() -> Vec<u8> {
        let mut enc = Encoder::new(&EncoderSettings::default()).unwrap();
        let pcm: Vec<i16> = (0..FRAME_SAMPLES)
            .map(|i| ((i as f64 * 0.05).sin() * 10_000.0) as i16)
            .collect();
        let mut out = [0u8; MAX_PACKET_BYTES];
        let n = enc.encode(&pcm, &mut out).unwrap();
        out[..n].to_vec()
    }

    #[test]
    fn garbage_packets_are_errors_not_panics() {
        let mut dec = Decoder::new().unwrap();
        let mut out = [0i16; MAX_DECODED_SAMPLES];
        // Each violates RFC 6716 framing: code-3 without a frame count, a code-3 count of
        // zero, a code-2 length running past the end, code-1 halves of unequal size, a
        // frame count claiming more than 120 ms.
        let invalid: [&[u8]; 5] = [
            &[0x03],
            &[0x03, 0x00],
            &[0x02, 0xFB, 0x01],
            &[0x01, 0xAA, 0xBB, 0xCC],
            &[0xFB, 0x3F, 0x00, 0x00],
        ];
        for packet in invalid {
            assert!(
                matches!(dec.decode(packet, &mut out), Err(CodecError::Decode(_))),
                "{packet:02x?} decoded"
            );
        }
        assert!(matches!(
            dec.decode(&[], &mut out),
            Err(CodecError::EmptyPacket)
        ));
        assert!(matches!(
            dec.decode(&vec![0u8; MAX_INPUT_BYTES + 1], &mut out),
            Err(CodecError::PacketTooLarge(_))
        ));
        // Random bytes: libopus may accept some as (noisy) audio, but it must never panic
        // and the decoder must still decode a good packet afterwards.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..2_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 1 + (state % 200) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| (state >> (i % 8 * 8)) as u8).collect();
            let _ = dec.decode(&bytes, &mut out);
            let _ = dec.decode_fec(&bytes, &mut out, FRAME_SAMPLES);
        }
        assert_eq!(dec.decode(&tone_packet(), &mut out).unwrap(), FRAME_SAMPLES);
    }

    #[test]
    fn packet_longer_than_output_is_an_error() {
        let mut dec = Decoder::new().unwrap();
        let mut small = [0i16; FRAME_SAMPLES / 2];
        assert!(matches!(
            dec.decode(&tone_packet(), &mut small),
            Err(CodecError::Decode(_))
        ));
    }

    #[test]
    fn fec_and_plc_validate_frame_length() {
        let mut dec = Decoder::new().unwrap();
        let mut out = [0i16; MAX_DECODED_SAMPLES];
        for bad in [0, 100, 961, MAX_DECODED_SAMPLES + 120] {
            assert!(matches!(
                dec.conceal(&mut out, bad),
                Err(CodecError::InvalidFrameSamples(n)) if n == bad
            ));
            assert!(matches!(
                dec.decode_fec(&tone_packet(), &mut out, bad),
                Err(CodecError::InvalidFrameSamples(n)) if n == bad
            ));
        }
        let mut short = [0i16; 500];
        assert!(matches!(
            dec.conceal(&mut short, FRAME_SAMPLES),
            Err(CodecError::OutputTooSmall {
                needed: FRAME_SAMPLES,
                got: 500
            })
        ));
        assert_eq!(dec.conceal(&mut out, FRAME_SAMPLES).unwrap(), FRAME_SAMPLES);
        assert_eq!(
            dec.decode_fec(&tone_packet(), &mut out, FRAME_SAMPLES)
                .unwrap(),
            FRAME_SAMPLES
        );
        assert!(matches!(
            dec.decode_fec(&[], &mut out, FRAME_SAMPLES),
            Err(CodecError::EmptyPacket)
        ));
    }
}
