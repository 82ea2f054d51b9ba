//! libopus' decoder-side models are built in and do what they are kept for, judged on real
//! speech against what was sent: NoLACE (complexity 7) enhances decoded speech, deep PLC
//! (5 and up) conceals lost frames. Without `opusic-sys`' `osce` feature both complexities
//! decode exactly like 0, and these tests fail.

use super::test_support::{decode_with_loss, encode_all};
use crate::codec::{CodecError, Coder, Decoder, EncoderSettings};
use voicecall_core::format::{FRAME_SAMPLES, MAX_DECODED_SAMPLES, SAMPLE_RATE};
use voicecall_lab::analysis::compare;
use voicecall_lab::signals::{TestRng, speech_48k};

/// Plays `packets` through a decoder at `complexity`, concealing the frames `lost` marks.
fn decode_at(packets: &[Vec<u8>], lost: &[bool], complexity: u8) -> Vec<i16> {
    let mut dec = Decoder::with_complexity(complexity).unwrap();
    let mut out = vec![0i16; MAX_DECODED_SAMPLES];
    let mut pcm = Vec::with_capacity(packets.len() * FRAME_SAMPLES);
    for (packet, &lost) in packets.iter().zip(lost) {
        let n = if lost {
            dec.conceal(&mut out, FRAME_SAMPLES).unwrap()
        } else {
            dec.decode(packet, &mut out).unwrap()
        };
        pcm.extend_from_slice(&out[..n]);
    }
    pcm
}

/// Chromium's Opus settings as its stream reaches us: 32 kb/s, no FEC on a clean path.
fn chromium_like() -> EncoderSettings {
    EncoderSettings {
        bitrate_bps: 32_000,
        fec: false,
        dtx: false,
        ..EncoderSettings::default()
    }
}

/// What the speech lost on its way through the codec: 1 − the band-limited correlation of
/// the decoded signal with the original (`voicecall_lab::analysis::compare`).
fn residual(speech: &[i16], decoded: &[i16]) -> f64 {
    1.0 - compare(speech, decoded, SAMPLE_RATE).correlation
}

fn random_loss(frames: usize, seed: u64) -> Vec<bool> {
    let mut rng = TestRng::new(seed);
    (0..frames).map(|_| rng.unit() < 0.1).collect()
}

#[test]
fn nolace_brings_decoded_speech_closer_to_what_was_sent() {
    let speech = speech_48k("speech-a.wav");
    // Measured: 0.72–0.79 of the plain decoder's residual (libopus 1.6.1).
    for settings in [EncoderSettings::default(), chromium_like()] {
        let packets = encode_all(&speech, &settings);
        let none = vec![false; packets.len()];
        let plain = residual(&speech, &decode_at(&packets, &none, 0));
        let enhanced = residual(&speech, &decode_at(&packets, &none, 7));
        assert!(
            enhanced < 0.9 * plain,
            "{} kb/s: residual {enhanced:.4} at complexity 7, {plain:.4} at 0",
            settings.bitrate_bps / 1000
        );
    }
}

#[test]
fn deep_plc_conceals_lost_speech_closer_than_classic_plc() {
    let speech = speech_48k("speech-a.wav");
    // 10 % random loss, nothing recovered by FEC. Measured 0.84 and 0.92 of the classic
    // concealment's residual (one loss pattern).
    for settings in [EncoderSettings::default(), chromium_like()] {
        let packets = encode_all(&speech, &settings);
        let (mut classic, mut deep) = (0.0, 0.0);
        for seed in 1..=3 {
            let lost = random_loss(packets.len(), seed);
            classic += residual(&speech, &decode_at(&packets, &lost, 0));
            deep += residual(&speech, &decode_at(&packets, &lost, 5));
        }
        assert!(
            deep < 0.97 * classic,
            "{} kb/s: residual {deep:.4} at complexity 5, {classic:.4} at 0",
            settings.bitrate_bps / 1000
        );
    }
}

#[test]
fn the_default_decoder_enhances() {
    assert_eq!(crate::codec::DEFAULT_DECODER_COMPLEXITY, 7);
    let speech = speech_48k("speech-a.wav");
    let packets = encode_all(&speech, &chromium_like());
    let none = vec![false; packets.len()];
    // `decode_with_loss` decodes with `Decoder::new()`, the default.
    let default = decode_with_loss(&packets, &none);
    assert_eq!(default, decode_at(&packets, &none, 7));
}

#[test]
fn a_complexity_past_ten_is_refused() {
    assert!(matches!(
        Decoder::with_complexity(11),
        Err(CodecError::Create {
            coder: Coder::Decoder,
            ..
        })
    ));
    for c in 0..=10 {
        assert!(Decoder::with_complexity(c).is_ok(), "complexity {c}");
    }
}
