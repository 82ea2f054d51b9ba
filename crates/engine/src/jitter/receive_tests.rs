//! `ReceivePath` with real Opus packets.

use std::time::{Duration, Instant};

use super::*;
use crate::codec::test_support::encode_all;
use crate::codec::{CodecError, EncoderSettings, carries_fec, red};
use voicecall_core::format::{
    FRAME_SAMPLES, MAX_DECODED_SAMPLES, RTP_TICKS_PER_FRAME, SAMPLE_RATE,
};
use voicecall_lab::analysis::compare;
use voicecall_lab::signals::{TestRng, speech_48k};

fn speech_packets() -> Vec<Vec<u8>> {
    encode_all(&speech_48k("speech-a.wav"), &EncoderSettings::default())
}

fn ts(i: usize) -> u32 {
    (i as u32).wrapping_mul(RTP_TICKS_PER_FRAME)
}

/// A receive path for a harness that pulls once per 20 ms of its clock, whatever the
/// length pulled: time-stretching would drift against such a clock (the pump and
/// `device_clock_tests` pull by the samples a device needs instead).
fn frame_clocked() -> ReceivePath {
    let mut rx = ReceivePath::new(JitterConfig::default()).unwrap();
    rx.set_time_stretch(false);
    rx
}

/// Pushes packets `0..n` (skipping `lost`) each 20 ms, pulling 5 ms after each arrival.
fn run(packets: &[Vec<u8>], lost: &[usize], corrupt: &[usize]) -> (Vec<FrameSource>, JitterStats) {
    let mut rx = frame_clocked();
    let t0 = Instant::now();
    let mut out = vec![0i16; MAX_DECODED_SAMPLES];
    let mut sources = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        let now = t0 + Duration::from_millis(i as u64 * 20);
        if corrupt.contains(&i) {
            // Code 3 with a frame count of zero: invalid Opus framing.
            rx.push(i as u16, ts(i), &[0x03, 0x00], now);
        } else if !lost.contains(&i) {
            rx.push(i as u16, ts(i), p, now);
        }
        let (n, source) = rx.pull(now + Duration::from_millis(5), &mut out).unwrap();
        assert_eq!(n, FRAME_SAMPLES);
        sources.push(source);
    }
    (sources, rx.stats())
}

#[test]
fn buffers_with_silence_then_decodes() {
    let packets = speech_packets();
    let mut rx = ReceivePath::new(JitterConfig::default()).unwrap();
    let now = Instant::now();
    let mut out = vec![1i16; MAX_DECODED_SAMPLES];
    rx.push(0, 0, &packets[0], now);
    assert_eq!(
        rx.pull(now, &mut out).unwrap(),
        (FRAME_SAMPLES, FrameSource::Silence)
    );
    assert!(out[..FRAME_SAMPLES].iter().all(|&s| s == 0));
    rx.push(1, ts(1), &packets[1], now);
    assert_eq!(
        rx.pull(now, &mut out).unwrap(),
        (FRAME_SAMPLES, FrameSource::Decoded)
    );
}

#[test]
fn a_lost_frame_is_rebuilt_from_fec_and_two_in_a_row_need_concealment() {
    let packets = speech_packets();
    // Pick frames mid-speech whose successor carries FEC.
    let single = (100..packets.len() - 1)
        .find(|&i| carries_fec(&packets[i + 1]))
        .unwrap();
    let pair = (single + 20..packets.len() - 2)
        .find(|&i| carries_fec(&packets[i + 2]))
        .unwrap();
    let (sources, stats) = run(&packets, &[single, pair, pair + 1], &[]);
    // Depth is one frame here, so each loss is first concealed as a possible late arrival,
    // then known lost once the next packet is in: FEC for the frame right before it.
    assert_eq!(stats.fec_recovered, 2, "{stats:?}");
    assert_eq!(stats.lost, 3, "{stats:?}");
    assert_eq!(
        sources.iter().filter(|s| **s == FrameSource::Fec).count(),
        2
    );
    assert_eq!(
        sources
            .iter()
            .filter(|s| **s == FrameSource::Concealed)
            .count() as u64,
        stats.concealed
    );
    assert_eq!(stats.decode_errors, 0);
}

#[test]
fn corrupt_payloads_are_concealed_and_counted() {
    let packets = speech_packets();
    let (sources, stats) = run(&packets[..100], &[], &[30, 31, 60]);
    assert_eq!(stats.decode_errors, 3, "{stats:?}");
    assert_eq!(stats.concealed, 3, "{stats:?}");
    assert_eq!(
        sources
            .iter()
            .filter(|s| **s == FrameSource::Concealed)
            .count(),
        3
    );
}

#[test]
fn output_shorter_than_a_frame_is_an_error() {
    let mut rx = ReceivePath::new(JitterConfig::default()).unwrap();
    let mut out = [0i16; FRAME_SAMPLES - 1];
    assert!(matches!(
        rx.pull(Instant::now(), &mut out),
        Err(CodecError::OutputTooSmall { .. })
    ));
}

/// Speech through a lossy, jittery, reordering network into `ReceivePath`, clocked like an
/// audio device: the output must still match the input by the end-to-end criterion.
fn network_run(
    loss_pct: f64,
    max_jitter_ms: f64,
    seed: u64,
) -> (voicecall_lab::analysis::Comparison, JitterStats) {
    let speech = speech_48k("speech-a.wav");
    let packets = encode_all(
        &speech,
        &EncoderSettings {
            expected_loss_pct: loss_pct as u8,
            ..Default::default()
        },
    );
    let mut rng = TestRng::new(seed);
    let mut arrivals: Vec<(u64, usize)> = Vec::new();
    for i in 0..packets.len() {
        if rng.unit() * 100.0 < loss_pct {
            continue;
        }
        let jitter_us = (rng.unit() * max_jitter_ms * 1000.0) as u64;
        arrivals.push((i as u64 * 20_000 + 30_000 + jitter_us, i));
    }
    arrivals.sort();
    let mut rx = frame_clocked();
    let t0 = Instant::now();
    let mut out = vec![0i16; MAX_DECODED_SAMPLES];
    let mut recorded = Vec::new();
    let mut a = 0;
    // The device clock runs 7 ms out of phase with the sender and 1 s past the end.
    for k in 0..packets.len() as u64 + 50 {
        let now_us = k * 20_000 + 7_000;
        while a < arrivals.len() && arrivals[a].0 <= now_us {
            let (t, i) = arrivals[a];
            rx.push(
                (i as u16).wrapping_add(60_000),
                ts(i),
                &packets[i],
                t0 + Duration::from_micros(t),
            );
            a += 1;
        }
        let (n, _) = rx
            .pull(t0 + Duration::from_micros(now_us), &mut out)
            .unwrap();
        recorded.extend_from_slice(&out[..n]);
    }
    (compare(&speech, &recorded, SAMPLE_RATE), rx.stats())
}

#[test]
fn speech_over_a_clean_network_matches_the_input() {
    let (c, stats) = network_run(0.0, 5.0, 1);
    assert!(c.correlation > 0.95, "{} {stats:?}", c.correlation);
    assert!(c.passes(0.9, 0.95), "{} {stats:?}", c.matched_fraction);
    // The only concealment is the stream's end: three frames, then a stall.
    assert_eq!(
        (stats.lost, stats.late, stats.skipped),
        (0, 0, 0),
        "{stats:?}"
    );
    assert_eq!((stats.concealed, stats.stalls), (3, 1), "{stats:?}");
}

#[test]
fn speech_over_a_lossy_jittery_network_still_matches_the_input() {
    let (c, stats) = network_run(5.0, 60.0, 2);
    assert!(stats.lost > 5 && stats.fec_recovered > 0, "{stats:?}");
    assert!(stats.target_delay_ms >= 60, "{stats:?}");
    assert!(
        c.passes(0.9, 0.9),
        "matched {} {stats:?}",
        c.matched_fraction
    );
}

/// Numbers for the receive path over ten seeded network runs each: `cargo test --release
/// --lib receive_path_report -- --ignored --nocapture`.
#[test]
#[ignore]
fn receive_path_report() {
    println!(
        "loss  jitter  mean-corr  matched(min/mean)  runs>=0.9  fec  concealed  late  skipped  target_ms"
    );
    for (loss, jitter) in [
        (0.0, 20.0),
        (0.0, 60.0),
        (0.0, 120.0),
        (5.0, 20.0),
        (5.0, 40.0),
        (5.0, 60.0),
        (10.0, 60.0),
        (10.0, 120.0),
    ] {
        let runs: Vec<_> = (1..=10)
            .map(|seed| network_run(loss, jitter, seed))
            .collect();
        let n = runs.len() as f64;
        let corr = runs.iter().map(|r| r.0.correlation).sum::<f64>() / n;
        let matched: Vec<f64> = runs.iter().map(|r| r.0.matched_fraction).collect();
        let min = matched.iter().copied().fold(1.0, f64::min);
        let mean = matched.iter().sum::<f64>() / n;
        let passing = runs.iter().filter(|r| r.0.passes(0.9, 0.9)).count();
        let total =
            |f: fn(&JitterStats) -> u64| runs.iter().map(|r| f(&r.1)).sum::<u64>() as f64 / n;
        println!(
            "{loss:>3}%  {jitter:>4}ms  {corr:>9.4}  {min:>8.3}/{mean:.3}  {passing:>6}/10  {:>4.1}  {:>9.1}  {:>4.1}  {:>7.1}  {:>9}",
            total(|s| s.fec_recovered),
            total(|s| s.concealed),
            total(|s| s.late),
            total(|s| s.skipped),
            runs[0].1.target_delay_ms
        );
    }
}

#[test]
fn plain_opus_from_a_peer_without_red_is_decoded_as_before() {
    let packets = speech_packets();
    let mut rx = ReceivePath::new(JitterConfig::default()).unwrap();
    // RED negotiated with us, but this peer sends Opus (PT 111) only.
    rx.set_red_payload_type(Some(63));
    let t0 = Instant::now();
    let mut out = vec![0i16; MAX_DECODED_SAMPLES];
    let mut decoded = 0;
    for (i, p) in packets.iter().enumerate() {
        let now = t0 + Duration::from_millis(i as u64 * 20);
        rx.push_rtp(111, i as u16, ts(i), false, p, now);
        let (_, source) = rx.pull(now + Duration::from_millis(5), &mut out).unwrap();
        decoded += usize::from(matches!(
            source,
            FrameSource::Decoded | FrameSource::ComfortNoise
        ));
    }
    assert!(
        decoded + 3 >= packets.len(),
        "{decoded} of {}",
        packets.len()
    );
    assert_eq!(rx.malformed_red(), 0);
}

/// One RED copy whose frames carry in-band FEC reaches two frames back: the copy of the
/// frame after a lost pair holds the FEC of the pair's first. So after such a pair the
/// buffer waits a frame longer, for that copy, but only when the copies carry FEC.
#[test]
fn fec_inside_a_red_copy_reaches_one_frame_further() {
    let target_after_a_pair = |settings: &EncoderSettings| {
        let packets = encode_all(&speech_48k("speech-a.wav"), settings);
        let pair = (150..packets.len() - 2)
            .find(|&i| settings.expected_loss_pct == 0 || carries_fec(&packets[i + 1]))
            .unwrap();
        let mut rx = frame_clocked();
        rx.set_red_payload_type(Some(63));
        let t0 = Instant::now();
        let mut out = vec![0i16; MAX_DECODED_SAMPLES];
        let mut red_payload = [0u8; 4096];
        for (i, p) in packets.iter().enumerate().take(pair + 50) {
            let now = t0 + Duration::from_millis(i as u64 * 20);
            if i != pair && i != pair + 1 {
                let copy: &[u8] = if i > 0 { &packets[i - 1] } else { &[] };
                let n =
                    red::pack(111, &[(RTP_TICKS_PER_FRAME, copy)], p, &mut red_payload).unwrap();
                rx.push_rtp(63, i as u16, ts(i), false, &red_payload[..n], now);
            }
            rx.pull(now + Duration::from_millis(5), &mut out).unwrap();
        }
        rx.stats().target_delay_ms
    };
    let with_fec = EncoderSettings::default();
    assert!(with_fec.expected_loss_pct > 0);
    let without_fec = EncoderSettings {
        expected_loss_pct: 0,
        ..EncoderSettings::default()
    };
    let (plain, fec) = (
        target_after_a_pair(&without_fec),
        target_after_a_pair(&with_fec),
    );
    assert_eq!(
        fec,
        plain + 20,
        "copies without FEC {plain} ms, with {fec} ms"
    );
}

#[test]
fn malformed_red_is_dropped_and_counted() {
    let mut rx = ReceivePath::new(JitterConfig::default()).unwrap();
    rx.set_red_payload_type(Some(63));
    let now = Instant::now();
    for (i, bad) in [&[][..], &[0xEF, 0x0F], &[0xEF, 0x0F, 0x00, 0x09, 0x6F, 1]]
        .iter()
        .enumerate()
    {
        assert_eq!(
            rx.push_rtp(63, i as u16, ts(i), false, bad, now),
            InsertOutcome::Empty
        );
    }
    // An empty payload is RTP padding, not a malformed RED packet.
    assert_eq!(rx.malformed_red(), 2);
    assert_eq!(rx.padding_packets(), 1);
    assert_eq!(rx.stats().received, 0);
}

proptest::proptest! {
    #[test]
    fn arbitrary_packets_never_panic_the_receive_path(
        packets in proptest::collection::vec(
            (proptest::prelude::any::<bool>(), proptest::prelude::any::<u16>(), proptest::prelude::any::<u32>(),
             proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120)),
            1..60,
        )
    ) {
        let mut rx = ReceivePath::new(JitterConfig::default()).unwrap();
        rx.set_red_payload_type(Some(63));
        let t0 = Instant::now();
        let mut out = vec![0i16; MAX_DECODED_SAMPLES];
        for (k, (red, seq, ts, payload)) in packets.iter().enumerate() {
            let now = t0 + Duration::from_millis(k as u64 * 20);
            rx.push_rtp(if *red { 63 } else { 111 }, *seq, *ts, false, payload, now);
            let (n, _) = rx.pull(now, &mut out).unwrap();
            proptest::prop_assert!(n <= MAX_DECODED_SAMPLES);
        }
    }
}

#[test]
fn comfort_noise_is_made_without_the_neural_models_and_speech_with_them() {
    // Two seconds of speech, two of silence (DTX), two of speech.
    let speech = speech_48k("speech-a.wav");
    let two_s = 2 * SAMPLE_RATE as usize;
    let mut pcm = speech[..two_s].to_vec();
    pcm.extend(std::iter::repeat_n(0i16, two_s));
    pcm.extend_from_slice(&speech[two_s..2 * two_s]);
    let settings = EncoderSettings {
        dtx: true,
        ..EncoderSettings::default()
    };
    let packets = encode_all(&pcm, &settings);
    // DTX sends one packet per 400 ms of silence: only those go out.
    let sent: Vec<usize> = (0..packets.len())
        .filter(|&i| packets[i].len() > super::DTX_MAX_BYTES || i % 20 == 0)
        .collect();
    let mut rx = frame_clocked();
    let t0 = Instant::now();
    let mut out = vec![0i16; MAX_DECODED_SAMPLES];
    let (mut noise, mut decoded) = (0, 0);
    for (i, packet) in packets.iter().enumerate() {
        let now = t0 + Duration::from_millis(i as u64 * 20);
        // RTP numbers the packets sent; the timestamp keeps the frames' time.
        if let Some(seq) = sent.iter().position(|&s| s == i) {
            rx.push(seq as u16, ts(i), packet, now);
        }
        let (_, source) = rx.pull(now + Duration::from_millis(5), &mut out).unwrap();
        match source {
            FrameSource::ComfortNoise => {
                noise += 1;
                assert_eq!(rx.decoder_complexity(), 4, "frame {i}");
            }
            FrameSource::Decoded => {
                decoded += 1;
                assert_eq!(rx.decoder_complexity(), 7, "frame {i}");
            }
            _ => {}
        }
    }
    assert!(
        noise >= 30 && decoded >= 150,
        "{noise} comfort noise, {decoded} decoded"
    );
}
