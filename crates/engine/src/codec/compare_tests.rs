//! The analysis judges speech that went through the real codec: what the end-to-end tests
//! rely on.

use voicecall_lab::analysis::*;
use voicecall_lab::signals::{speech_48k, white_noise};

use super::EncoderSettings;
use super::test_support::opus_round_trip;
use voicecall_core::format::{FRAME_SAMPLES, SAMPLE_RATE};

const RATE: usize = SAMPLE_RATE as usize;

fn passes_default(c: &Comparison) -> bool {
    c.passes(DEFAULT_MIN_CORRELATION, DEFAULT_MIN_FRACTION)
}

fn padded(lead: usize, signal: &[i16], tail: usize) -> Vec<i16> {
    let mut v = vec![0i16; lead];
    v.extend_from_slice(signal);
    v.extend(std::iter::repeat_n(0, tail));
    v
}

/// First sample of the loudest 20 ms frame in the middle third: certainly inside speech.
fn loud_frame_start(pcm: &[i16]) -> usize {
    let third = pcm.len() / 3 / FRAME_SAMPLES;
    (third..2 * third)
        .max_by_key(|&f| {
            pcm[f * FRAME_SAMPLES..(f + 1) * FRAME_SAMPLES]
                .iter()
                .map(|&s| i64::from(s).pow(2))
                .sum::<i64>()
        })
        .unwrap_or(third)
        * FRAME_SAMPLES
}

#[test]
fn identical_signal_with_offset_and_leading_silence_passes_with_the_right_lag() {
    let speech = speech_48k("speech-a.wav");
    let lead = 3 * RATE + 1234;
    let recorded = padded(lead, &speech, RATE);
    let c = compare(&speech, &recorded, SAMPLE_RATE);
    assert_eq!(c.lag_samples, lead as i64);
    assert!((c.lag_seconds() - lead as f64 / RATE as f64).abs() < 1e-9);
    assert!(c.correlation > 0.999_999, "{}", c.correlation);
    assert!(c.matched_fraction > 0.999, "{}", c.matched_fraction);
    assert!(passes_default(&c));
    assert!(c.segments.iter().all(|s| s.lag_samples == lead as i64));
}

#[test]
fn attenuated_copy_still_matches_including_its_pauses() {
    let speech = speech_48k("speech-a.wav");
    let quiet: Vec<i16> = speech.iter().map(|&s| s / 8).collect();
    let c = compare(&speech, &padded(4_800, &quiet, 0), SAMPLE_RATE);
    assert!(
        c.segments.iter().any(|s| s.reference_silent),
        "no pauses found"
    );
    assert!(c.matched_fraction > 0.99, "{}", c.matched_fraction);
}

#[test]
fn opus_round_trip_of_speech_passes() {
    let speech = speech_48k("speech-a.wav");
    let decoded = opus_round_trip(&speech, &EncoderSettings::default());
    let c = compare(&speech, &decoded, SAMPLE_RATE);
    // libopus delays by its 6.5 ms look-ahead plus resampler delay: a few hundred samples.
    assert!((200..600).contains(&c.lag_samples), "lag {}", c.lag_samples);
    assert!(c.correlation > 0.9, "{}", c.correlation);
    assert!(passes_default(&c), "matched {}", c.matched_fraction);
}

#[test]
fn one_dropped_frame_mid_speech_still_passes() {
    let speech = speech_48k("speech-a.wav");
    let mut decoded = opus_round_trip(&speech, &EncoderSettings::default());
    let at = loud_frame_start(&decoded);
    decoded.drain(at..at + FRAME_SAMPLES);
    let recorded = padded(RATE / 2, &decoded, RATE / 2);
    let c = compare(&speech, &recorded, SAMPLE_RATE);
    // The global correlation falls since half the signal is a frame off ...
    assert!(c.correlation < 0.9, "{}", c.correlation);
    // ... but segments find their own lags on either side of the slip.
    assert!(passes_default(&c), "matched {}", c.matched_fraction);
    let lags: std::collections::BTreeSet<i64> = c
        .segments
        .iter()
        .filter(|s| s.correlation > 0.9)
        .map(|s| s.lag_samples)
        .collect();
    assert!(lags.len() >= 2, "{lags:?}");
    // The segment holding the slip aligns on both sides of it: a frame earlier after it.
    // (The enhancing decoder's phase may also move a segment's best lag by a sample.)
    let slipped = c.segments.iter().find_map(|s| {
        s.slip
            .filter(|slip| slip.lag_samples.abs_diff(s.lag_samples) > 1)
            .map(|slip| (s, slip))
    });
    let (seg, slip) = slipped.expect("no segment records the slip");
    assert_eq!(slip.lag_samples - seg.lag_samples, -(FRAME_SAMPLES as i64));
    let slip_at = seg.start + slip.offset;
    assert!(
        slip_at.abs_diff(at - c.lag_samples as usize + RATE / 2) <= 1_000,
        "{slip_at} vs {at}"
    );
}

#[test]
fn several_inserted_and_skipped_frames_still_pass() {
    let speech = speech_48k("speech-a.wav");
    let mut recorded = speech.clone();
    // Four insertions of silence (a refilling buffer) push the lag 80 ms beyond the
    // ±60 ms window around the global lag: only lag tracking keeps up.
    for k in 1..=4 {
        let at = k * recorded.len() / 5 / FRAME_SAMPLES * FRAME_SAMPLES;
        recorded.splice(at..at, std::iter::repeat_n(0, FRAME_SAMPLES));
    }
    let c = compare(&speech, &padded(10_000, &recorded, 0), SAMPLE_RATE);
    assert!(passes_default(&c), "matched {}", c.matched_fraction);
}

#[test]
fn different_speech_fails() {
    let a = speech_48k("speech-a.wav");
    let b = speech_48k("speech-b.wav");
    let c = compare(&a, &padded(RATE, &b, RATE), SAMPLE_RATE);
    assert!(!passes_default(&c));
    assert!(c.correlation < 0.3, "{}", c.correlation);
    assert!(c.matched_fraction < 0.5, "{}", c.matched_fraction);
}

#[test]
fn white_noise_fails() {
    let speech = speech_48k("speech-a.wav");
    let noise = white_noise(speech.len() + RATE, 8_000.0, 7);
    let c = compare(&speech, &noise, SAMPLE_RATE);
    assert!(!passes_default(&c));
    assert!(c.matched_fraction < 0.1, "{}", c.matched_fraction);
    assert!(c.correlation.abs() < 0.1, "{}", c.correlation);
}

#[test]
fn silence_fails() {
    let speech = speech_48k("speech-a.wav");
    let c = compare(&speech, &vec![0i16; speech.len() * 2], SAMPLE_RATE);
    assert!(!passes_default(&c));
    assert_eq!(c.correlation, 0.0);
    // Only the reference's own pauses "match" silence.
    let pauses: usize = c
        .segments
        .iter()
        .filter(|s| s.reference_silent)
        .map(|s| s.len)
        .sum();
    assert!((c.matched_fraction - pauses as f64 / speech.len() as f64).abs() < 1e-9);
    assert!(c.matched_fraction < 0.5, "{}", c.matched_fraction);
    let empty = compare(&speech, &[], SAMPLE_RATE);
    assert!(!passes_default(&empty));
}

#[test]
fn time_reversed_speech_fails() {
    let speech = speech_48k("speech-a.wav");
    let reversed: Vec<i16> = speech.iter().rev().copied().collect();
    let c = compare(&speech, &reversed, SAMPLE_RATE);
    assert!(!passes_default(&c));
    assert!(c.matched_fraction < 0.5, "{}", c.matched_fraction);
}

#[test]
fn only_the_first_half_fails_the_fraction_criterion() {
    let speech = speech_48k("speech-a.wav");
    let half = &speech[..speech.len() / 2];
    let c = compare(&speech, &padded(RATE, half, 2 * RATE), SAMPLE_RATE);
    assert_eq!(c.lag_samples, RATE as i64);
    assert!(!passes_default(&c));
    // What is there matches perfectly; the rest (bar its pauses) is missing.
    assert!(
        (0.45..0.75).contains(&c.matched_fraction),
        "{}",
        c.matched_fraction
    );
    assert!(c.passes(0.9, 0.45));
}

#[test]
fn empty_reference_never_passes_vacuously() {
    let c = compare(&[], &speech_48k("speech-a.wav"), SAMPLE_RATE);
    assert_eq!(c.matched_fraction, 0.0);
    assert!(!passes_default(&c));
}
