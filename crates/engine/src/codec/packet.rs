//! Just enough of the Opus bitstream (RFC 6716) to tell whether a packet carries in-band FEC.
//! libopus decodes a packet without FEC data by concealing instead, which is fine for the
//! audio but would make "recovered by FEC" statistics lie.

/// TOC configurations 0..=11 are SILK-only, 12..=15 hybrid, 16..=31 CELT-only (RFC 6716
/// §3.1). FEC (LBRR) lives in the SILK layer, so CELT-only packets never carry it.
const FIRST_CELT_ONLY_CONFIG: u8 = 16;
/// The frame-count code in the TOC's low two bits; 0 means exactly one frame.
const SINGLE_FRAME_CODE: u8 = 0;

/// True when the packet's first SILK frame has its LBRR (FEC) flag set.
///
/// Only single-frame packets (TOC code 0, which is what a VBR encoder emits for 20 ms) are
/// parsed; for multi-frame packets this answers `true` and leaves the decision to libopus.
pub fn carries_fec(packet: &[u8]) -> bool {
    let Some((&toc, frame)) = packet.split_first() else {
        return false;
    };
    if toc >> 3 >= FIRST_CELT_ONLY_CONFIG {
        return false;
    }
    if toc & 0b11 != SINGLE_FRAME_CODE {
        return true;
    }
    if frame.is_empty() {
        return false;
    }
    // A 10 or 20 ms mono SILK frame starts with one VAD flag then the LBRR flag, each coded
    // with probability 1/2 (RFC 6716 §4.2.3).
    let mut range = RangeDecoder::new(frame);
    let _vad = range.decode_bit_logp(1);
    range.decode_bit_logp(1)
}

/// Samples (at 48 kHz) one Opus packet decodes to, from its TOC byte and frame count
/// (RFC 6716 §3.1); `None` for an empty or malformed packet, or one over 120 ms.
pub fn packet_samples(packet: &[u8]) -> Option<usize> {
    let &toc = packet.first()?;
    let config = usize::from(toc >> 3);
    // Frame sizes in units of 2.5 ms (120 samples).
    let quanta = match config {
        0..=11 => [4, 8, 16, 24][config % 4],
        12..=15 => [4, 8][config % 2],
        _ => [1, 2, 4, 8][config % 4],
    };
    let frames = match toc & 0b11 {
        0 => 1,
        1 | 2 => 2,
        _ => usize::from(packet.get(1)? & 0x3F),
    };
    let samples = quanta * 120 * frames;
    (frames > 0 && samples <= voicecall_core::format::MAX_DECODED_SAMPLES).then_some(samples)
}

/// The first steps of the RFC 6716 §4.1 range decoder (libopus `ec_dec`), enough to read
/// flag bits; it reads past the end as zeros exactly like libopus does.
struct RangeDecoder<'a> {
    bytes: &'a [u8],
    offset: usize,
    rng: u32,
    val: u32,
    rem: u32,
}

const SYM_BITS: u32 = 8;
const CODE_EXTRA: u32 = 7;
const CODE_BOT: u32 = 1 << 23;
const CODE_TOP: u32 = 1 << 31;
const SYM_MAX: u32 = 0xFF;

impl<'a> RangeDecoder<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let mut dec = Self {
            bytes,
            offset: 0,
            rng: 1 << CODE_EXTRA,
            val: 0,
            rem: 0,
        };
        dec.rem = dec.read_byte();
        dec.val = dec.rng - 1 - (dec.rem >> (SYM_BITS - CODE_EXTRA));
        dec.normalize();
        dec
    }

    fn read_byte(&mut self) -> u32 {
        let byte = self.bytes.get(self.offset).copied().unwrap_or(0);
        self.offset += 1;
        u32::from(byte)
    }

    fn normalize(&mut self) {
        while self.rng <= CODE_BOT {
            self.rng <<= SYM_BITS;
            let previous = self.rem;
            self.rem = self.read_byte();
            let sym = ((previous << SYM_BITS) | self.rem) >> (SYM_BITS - CODE_EXTRA);
            self.val = ((self.val << SYM_BITS) + (SYM_MAX & !sym)) & (CODE_TOP - 1);
        }
    }

    fn decode_bit_logp(&mut self, logp: u32) -> bool {
        let s = self.rng >> logp;
        let bit = self.val < s;
        if bit {
            self.rng = s;
        } else {
            self.val -= s;
            self.rng -= s;
        }
        self.normalize();
        bit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::EncoderSettings;
    use crate::codec::test_support::encode_all;
    use voicecall_lab::signals::speech_48k;

    #[test]
    fn detects_fec_only_when_the_encoder_sends_it() {
        let speech = speech_48k("speech-a.wav");
        let with = encode_all(&speech, &EncoderSettings::default());
        let without = encode_all(
            &speech,
            &EncoderSettings {
                fec: false,
                ..Default::default()
            },
        );
        let count = |packets: &[Vec<u8>]| packets.iter().filter(|p| carries_fec(p)).count();
        let with_fec = count(&with);
        // Speech with pauses: FEC rides on most frames after the first voiced one.
        assert!(
            with_fec * 2 > with.len(),
            "only {with_fec}/{} packets carry FEC",
            with.len()
        );
        assert_eq!(count(&without), 0);
    }

    #[test]
    fn packet_samples_reads_the_toc() {
        let speech = speech_48k("speech-a.wav");
        for packet in encode_all(&speech, &EncoderSettings::default()) {
            assert_eq!(
                packet_samples(&packet),
                Some(voicecall_core::format::FRAME_SAMPLES)
            );
        }
        // SILK 60 ms, CELT 2.5 ms, code 3 with 3 CELT 20 ms frames, code 3 with none,
        // and more than 120 ms.
        assert_eq!(packet_samples(&[3 << 3]), Some(2_880));
        assert_eq!(packet_samples(&[16 << 3]), Some(120));
        assert_eq!(packet_samples(&[(19 << 3) | 3, 3]), Some(2_880));
        assert_eq!(packet_samples(&[(19 << 3) | 3, 0]), None);
        assert_eq!(packet_samples(&[(19 << 3) | 3, 7]), None);
        assert_eq!(packet_samples(&[(19 << 3) | 3]), None);
        assert_eq!(packet_samples(&[]), None);
    }

    #[test]
    fn non_silk_and_degenerate_packets_carry_no_fec() {
        assert!(!carries_fec(&[]));
        assert!(!carries_fec(&[0x78]));
        // CELT-only config 31 whatever follows.
        assert!(!carries_fec(&[0xF8, 0xFF, 0xFF, 0xFF]));
        // SILK-only: the range coder reads an all-ones payload as VAD=1, LBRR=1 and an
        // all-zeros one as VAD=0, LBRR=0.
        assert!(carries_fec(&[0x08, 0xFF, 0xFF]));
        assert!(!carries_fec(&[0x08, 0x00, 0x00]));
    }
}
