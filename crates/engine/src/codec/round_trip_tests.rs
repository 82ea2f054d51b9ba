//! Speech through the real codec, judged with `voicecall_lab::analysis`.

use super::test_support::{decode_with_loss, encode_all};
use crate::codec::{EncoderSettings, carries_fec};
use voicecall_core::format::{FRAME_SAMPLES, SAMPLE_RATE};
use voicecall_lab::analysis::compare;
use voicecall_lab::signals::{TestRng, speech_48k};

#[test]
fn speech_round_trip_at_40_kbps_keeps_the_waveform() {
    let speech = speech_48k("speech-a.wav");
    let packets = encode_all(&speech, &EncoderSettings::default());
    let mean_bytes = packets.iter().map(Vec::len).sum::<usize>() as f64 / packets.len() as f64;
    // 40 kb/s is 100 bytes per 20 ms; VBR spends less in the pauses.
    assert!(
        (60.0..=110.0).contains(&mean_bytes),
        "{mean_bytes} bytes/packet"
    );
    let decoded = decode_with_loss(&packets, &vec![false; packets.len()]);
    let c = compare(&speech, &decoded, SAMPLE_RATE);
    assert!(c.correlation > 0.95, "correlation {}", c.correlation);
    assert!(c.matched_fraction > 0.95, "matched {}", c.matched_fraction);
    assert!(c.passes(0.9, 0.9));
}

/// Sum over the lost frames (and the frame after each, which PLC also disturbs) of the
/// error energy against the original, relative to the original's energy there.
fn error_ratio(original: &[i16], decoded: &[i16], lag: i64, lost: &[usize]) -> f64 {
    let mut err = 0.0;
    let mut energy = 0.0;
    for &frame in lost {
        for n in frame * FRAME_SAMPLES..(frame + 2) * FRAME_SAMPLES {
            let Some(&x) = original.get((n as i64 - lag) as usize) else {
                continue;
            };
            let y = decoded.get(n).copied().unwrap_or(0);
            err += (f64::from(x) - f64::from(y)).powi(2);
            energy += f64::from(x).powi(2);
        }
    }
    err / energy
}

#[test]
fn fec_recovers_dropped_frames_better_than_plc() {
    let speech = speech_48k("speech-a.wav");
    let packets = encode_all(&speech, &EncoderSettings::default());
    let clean = decode_with_loss(&packets, &vec![false; packets.len()]);
    let lag = compare(&speech, &clean, SAMPLE_RATE).lag_samples;

    // Every 8th frame whose successor carries FEC and which is loud (speech, not pause).
    let frame_energy = |i: usize| -> f64 {
        clean[i * FRAME_SAMPLES..(i + 1) * FRAME_SAMPLES]
            .iter()
            .map(|&s| f64::from(s).powi(2))
            .sum::<f64>()
            / FRAME_SAMPLES as f64
    };
    let lost: Vec<usize> = (4..packets.len() - 1)
        .step_by(8)
        .filter(|&i| carries_fec(&packets[i + 1]) && frame_energy(i).sqrt() > 1_000.0)
        .collect();
    assert!(lost.len() >= 15, "only {} frames to drop", lost.len());
    let mut lost_mask = vec![false; packets.len()];
    for &i in &lost {
        lost_mask[i] = true;
    }

    let with_fec = decode_with_loss(&packets, &lost_mask);
    // Same losses, but the next packet is also withheld from the decoder for the lost
    // frame, so only PLC can fill it.
    let mut plc = Vec::with_capacity(with_fec.len());
    {
        let mut dec = crate::codec::Decoder::new().unwrap();
        let mut out = [0i16; voicecall_core::format::MAX_DECODED_SAMPLES];
        for (i, p) in packets.iter().enumerate() {
            let n = if lost_mask[i] {
                dec.conceal(&mut out, FRAME_SAMPLES).unwrap()
            } else {
                dec.decode(p, &mut out).unwrap()
            };
            plc.extend_from_slice(&out[..n]);
        }
    }
    let fec_err = error_ratio(&speech, &with_fec, lag, &lost);
    let plc_err = error_ratio(&speech, &plc, lag, &lost);
    let clean_err = error_ratio(&speech, &clean, lag, &lost);
    println!(
        "error/energy over lost frames: clean {clean_err:.3} fec {fec_err:.3} plc {plc_err:.3}"
    );
    assert!(clean_err < fec_err, "clean {clean_err} fec {fec_err}");
    assert!(fec_err < 0.6 * plc_err, "fec {fec_err} plc {plc_err}");
    let fec_corr = compare(&speech, &with_fec, SAMPLE_RATE).correlation;
    let plc_corr = compare(&speech, &plc, SAMPLE_RATE).correlation;
    assert!(fec_corr > plc_corr, "fec {fec_corr} plc {plc_corr}");
}

fn random_loss(frames: usize, pct: f64, seed: u64) -> Vec<bool> {
    let mut rng = TestRng::new(seed);
    (0..frames).map(|_| rng.unit() * 100.0 < pct).collect()
}

/// Numbers for choosing the bitrate: `cargo test --lib codec_quality_report -- --ignored
/// --nocapture`.
#[test]
#[ignore]
fn codec_quality_report() {
    let speech = speech_48k("speech-a.wav");
    println!("bitrate  loss  fec   mean-bytes  with-fec  correlation  matched@0.9");
    for bps in [24_000, 32_000, 40_000, 48_000] {
        for (loss_pct, fec) in [(0u8, true), (5, true), (10, true), (5, false), (10, false)] {
            let settings = EncoderSettings {
                bitrate_bps: bps,
                fec,
                expected_loss_pct: loss_pct.max(5),
                ..Default::default()
            };
            let packets = encode_all(&speech, &settings);
            let mean_bytes =
                packets.iter().map(Vec::len).sum::<usize>() as f64 / packets.len() as f64;
            let with_fec =
                packets.iter().filter(|p| carries_fec(p)).count() as f64 / packets.len() as f64;
            let seeds = if loss_pct == 0 { 1 } else { 8 };
            let (mut corr, mut matched) = (0.0, 0.0);
            for seed in 1..=seeds {
                let lost = random_loss(packets.len(), f64::from(loss_pct), seed);
                let decoded = decode_with_loss(&packets, &lost);
                let c = compare(&speech, &decoded, SAMPLE_RATE);
                corr += c.correlation / f64::from(seeds as u32);
                matched += c.matched_fraction / f64::from(seeds as u32);
            }
            println!(
                "{:>6}  {:>3}%  {:<5} {:>9.1}  {:>7.0}%  {:>11.4}  {:>11.3}",
                bps,
                loss_pct,
                fec,
                mean_bytes,
                with_fec * 100.0,
                corr,
                matched
            );
            assert!(corr > 0.5);
        }
    }
}
