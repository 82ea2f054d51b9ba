//! The send path into the receive path: what one side's `SendPath` emits, the other's
//! `ReceivePath` plays out.

use std::time::{Duration, Instant};

use super::{ProtectionMode, SendConfig, SendPath};
use crate::codec::{EncoderSettings, PayloadTypes};
use crate::jitter::{FrameSource, JitterConfig, ReceivePath};
use voicecall_core::format::{FRAME_SAMPLES, MAX_DECODED_SAMPLES, SAMPLE_RATE};
use voicecall_lab::analysis::compare;
use voicecall_lab::signals::{TestRng, speech_48k};

/// Speech through `SendPath` with one RED copy always on, 10 % of packets dropped (never two in a
/// row): every lost frame comes back from the next packet's redundancy.
#[test]
fn red_recovers_isolated_losses_at_full_quality() {
    let speech = speech_48k("speech-a.wav");
    let encoder = EncoderSettings {
        dtx: false,
        ..Default::default()
    };
    let config = SendConfig {
        protection: ProtectionMode::fixed_red(&[1], &encoder).unwrap(),
        encoder,
        ..Default::default()
    };
    let types = PayloadTypes {
        opus: 111,
        red: Some(63),
    };
    let t0 = Instant::now();
    let mut send = SendPath::new(&config, types, 77).unwrap();
    let mut rx = ReceivePath::new(JitterConfig::default()).unwrap();
    rx.set_red_payload_type(Some(63));
    let mut out = vec![0i16; MAX_DECODED_SAMPLES];
    let mut recorded = Vec::new();
    let mut sources = Vec::new();
    let mut rng = TestRng::new(5);
    let mut last_lost = false;
    let mut lost = 0;
    for (i, frame) in speech.chunks_exact(FRAME_SAMPLES).enumerate() {
        let now = t0 + Duration::from_millis(i as u64 * 20);
        let packet = send.encode(frame).unwrap().unwrap();
        assert_eq!(packet.payload_type, 63);
        let drop = i > 5 && !last_lost && rng.unit() < 0.1;
        if drop {
            lost += 1;
        } else {
            rx.push_rtp(
                63,
                i as u16,
                packet.timestamp,
                packet.marker,
                packet.payload,
                now,
            );
        }
        last_lost = drop;
        // Clocked by samples, like the pump: a time-stretched frame changes when the next
        // pull comes (the marked first packet plays at once and lengthening grows the
        // buffer to its target before the first loss).
        while recorded.len() < (i + 1) * FRAME_SAMPLES {
            let (n, source) = rx.pull(now + Duration::from_millis(5), &mut out).unwrap();
            recorded.extend_from_slice(&out[..n]);
            sources.push(source);
        }
    }
    let count = |s: FrameSource| sources.iter().filter(|&&x| x == s).count();
    assert!(lost > 15, "only {lost} losses");
    assert_eq!(count(FrameSource::Redundancy), lost, "{sources:?}");
    assert_eq!(count(FrameSource::Concealed) + count(FrameSource::Fec), 0);
    let stats = rx.stats();
    assert_eq!((stats.lost, stats.red_recovered), (0, lost as u64));
    let c = compare(&speech, &recorded, SAMPLE_RATE);
    assert!(c.passes(0.9, 0.95), "{c:?}");
}
