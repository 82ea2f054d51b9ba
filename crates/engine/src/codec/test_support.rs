//! Speech through the real codec, for the codec's and the jitter buffer's tests.

use voicecall_core::format::{FRAME_SAMPLES, MAX_DECODED_SAMPLES};

use super::{Decoder, Encoder, EncoderSettings, MAX_PACKET_BYTES};

/// Whole frames only: the tail shorter than a frame is dropped.
pub(crate) fn encode_all(pcm: &[i16], settings: &EncoderSettings) -> Vec<Vec<u8>> {
    let mut enc = Encoder::new(settings).unwrap();
    let mut out = [0u8; MAX_PACKET_BYTES];
    pcm.chunks_exact(FRAME_SAMPLES)
        .map(|frame| {
            let n = enc.encode(frame, &mut out).unwrap();
            out[..n].to_vec()
        })
        .collect()
}

/// Decodes a packet stream where `lost[i]` frames are missing: FEC from the next packet
/// when that one arrived, PLC otherwise.
pub(crate) fn decode_with_loss(packets: &[Vec<u8>], lost: &[bool]) -> Vec<i16> {
    let mut dec = Decoder::new().unwrap();
    let mut out = vec![0i16; MAX_DECODED_SAMPLES];
    let mut pcm = Vec::with_capacity(packets.len() * FRAME_SAMPLES);
    for (i, packet) in packets.iter().enumerate() {
        let n = if !lost[i] {
            dec.decode(packet, &mut out).unwrap()
        } else if let Some(next) = packets.get(i + 1).filter(|_| !lost[i + 1]) {
            dec.decode_fec(next, &mut out, FRAME_SAMPLES).unwrap()
        } else {
            dec.conceal(&mut out, FRAME_SAMPLES).unwrap()
        };
        pcm.extend_from_slice(&out[..n]);
    }
    pcm
}

pub(crate) fn opus_round_trip(pcm: &[i16], settings: &EncoderSettings) -> Vec<i16> {
    let packets = encode_all(pcm, settings);
    decode_with_loss(&packets, &vec![false; packets.len()])
}
