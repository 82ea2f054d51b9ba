//! The send path's choice of Opus complexity for speech (`voicecall_core::effort`), judged on
//! real speech against what was sent: the default high-rate complexity keeps more of the
//! waveform than 7, the cap it replaced, with the same bits.

use super::{SendConfig, SendPath};
use crate::codec::{Decoder, EncoderSettings, PayloadTypes};
use voicecall_core::format::{FRAME_SAMPLES, MAX_DECODED_SAMPLES, SAMPLE_RATE};
use voicecall_lab::analysis::compare;
use voicecall_lab::signals::speech_48k;

const TYPES: PayloadTypes = PayloadTypes {
    opus: 111,
    red: None,
};

/// `speech` through a send path with `config` (DTX off, so every frame is sent), decoded
/// by the plain decoder so that only the encoder differs; returns 1 − the band-limited
/// correlation with `speech` and the bytes sent.
fn residual_through(speech: &[i16], config: &SendConfig) -> (f64, usize) {
    let mut send = SendPath::new(config, TYPES, 0).unwrap();
    let mut decoder = Decoder::with_complexity(0).unwrap();
    let mut out = vec![0i16; MAX_DECODED_SAMPLES];
    let mut decoded = Vec::with_capacity(speech.len());
    let mut bytes = 0;
    for frame in speech.chunks_exact(FRAME_SAMPLES) {
        let packet = send
            .encode(frame)
            .unwrap()
            .expect("DTX is off: every frame is sent");
        bytes += packet.payload.len();
        let n = decoder.decode(packet.payload, &mut out).unwrap();
        decoded.extend_from_slice(&out[..n]);
    }
    (
        1.0 - compare(speech, &decoded, SAMPLE_RATE).correlation,
        bytes,
    )
}

#[test]
fn speech_at_the_default_complexity_keeps_more_of_the_waveform_than_at_7() {
    let speech = speech_48k("speech-a.wav");
    let ours = SendConfig {
        encoder: EncoderSettings {
            dtx: false,
            ..EncoderSettings::default()
        },
        ..SendConfig::default()
    };
    let at_7 = SendConfig {
        high_rate_complexity: 7,
        ..ours.clone()
    };
    let (default, default_bytes) = residual_through(&speech, &ours);
    let (seven, seven_bytes) = residual_through(&speech, &at_7);
    eprintln!(
        "residual {default:.4} ({default_bytes} B) against {seven:.4} ({seven_bytes} B) at 7"
    );
    assert!(
        default < 0.95 * seven,
        "residual {default:.4} at the default, {seven:.4} at 7"
    );
}
