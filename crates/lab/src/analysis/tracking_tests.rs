//! The comparison follows a receiver that plays late packets late and then catches up
//! (the alignment jumps by the wait and drifts back), but still fails audio that was lost
//! or garbled.

use super::{Comparison, DEFAULT_MIN_CORRELATION, DEFAULT_MIN_FRACTION, compare};
use crate::signals::{speech_48k, white_noise};

const RATE: usize = 48_000;
const MS: usize = RATE / 1000;

fn passes(c: &Comparison) -> bool {
    c.passes(DEFAULT_MIN_CORRELATION, DEFAULT_MIN_FRACTION)
}

/// Starts of 20 ms frames, `every` apart, from `from` to `to` (fractions of `len`).
fn frame_starts(len: usize, from: f64, to: f64, every: usize) -> Vec<usize> {
    let (a, b) = ((len as f64 * from) as usize, (len as f64 * to) as usize);
    (a..b)
        .step_by(every)
        .map(|i| i / (20 * MS) * (20 * MS))
        .collect()
}

/// What a jitter buffer does when packets stop for a while mid-speech and then all come:
/// 60 ms of decaying concealment, then silence until it has refilled, then the late
/// audio, nothing of it lost; the alignment moves by `wait_ms` at once.
fn stall(speech: &[i16], at: usize, wait_ms: usize) -> Vec<i16> {
    let mut out = speech[..at].to_vec();
    let last = &speech[at - 20 * MS..at];
    for k in 0..3 {
        let fade = 1.0 - k as f64 / 3.0;
        out.extend(last.iter().map(|&s| (f64::from(s) * fade) as i16));
    }
    out.extend(std::iter::repeat_n(0, (wait_ms - 60) * MS));
    out.extend_from_slice(&speech[at..]);
    out
}

#[test]
fn speech_played_late_after_a_stall_still_passes() {
    let speech = speech_48k("speech-a.wav");
    for wait_ms in [80, 500] {
        let at = frame_starts(speech.len(), 0.4, 0.5, 20 * MS)[0];
        let recorded = stall(&speech, at, wait_ms);
        let c = compare(&speech, &recorded, RATE as u32);
        assert!(
            passes(&c),
            "{wait_ms} ms: matched {:.3}",
            c.matched_fraction
        );
    }
}

#[test]
fn two_stalls_and_a_catch_up_still_pass() {
    let speech = speech_48k("speech-a.wav");
    let at = frame_starts(speech.len(), 0.3, 0.4, 20 * MS)[0];
    let later = frame_starts(speech.len(), 0.6, 0.7, 20 * MS)[0];
    let mut recorded = stall(&speech[..later], at, 120);
    recorded.extend(stall(&speech[later - 20 * MS..], 20 * MS, 150));
    // Catching up: 10 ms (a pitch period or two) cut out every 300 ms over the last
    // quarter, as accelerating does.
    let tail_from = recorded.len() * 3 / 4;
    let mut caught_up = recorded[..tail_from].to_vec();
    for chunk in recorded[tail_from..].chunks(300 * MS) {
        caught_up.extend_from_slice(&chunk[..chunk.len().saturating_sub(10 * MS)]);
    }
    let c = compare(&speech, &caught_up, RATE as u32);
    assert!(passes(&c), "matched {:.3}", c.matched_fraction);
}

#[test]
fn lost_audio_still_fails() {
    let speech = speech_48k("speech-a.wav");
    // A 60 ms hole every 300 ms: each segment of the comparison loses a fifth of itself.
    let mut recorded = speech.clone();
    for at in frame_starts(speech.len(), 0.0, 1.0, 300 * MS) {
        let end = (at + 60 * MS).min(recorded.len());
        recorded[at..end].fill(0);
    }
    let c = compare(&speech, &recorded, RATE as u32);
    assert!(!passes(&c), "matched {:.3}", c.matched_fraction);
    // The same audio cut out instead of silenced (a buffer that skips what came late).
    let mut cut = Vec::new();
    for (i, chunk) in speech.chunks(300 * MS).enumerate() {
        let keep = if i % 2 == 0 {
            chunk.len().min(240 * MS)
        } else {
            chunk.len()
        };
        cut.extend_from_slice(&chunk[..keep]);
    }
    let c = compare(&speech, &cut, RATE as u32);
    assert!(!passes(&c), "cut: matched {:.3}", c.matched_fraction);
}

/// A looping input heard twice and a bit: the receiver dropped 10 ms five times while the
/// first copy played (time-stretching at call start), so that copy's correlation is split
/// over six lags, and the raw correlation peaks where the reference's first copy meets the
/// recording's intact second one. The comparison must still find the whole reference.
#[test]
fn a_looping_input_time_stretched_early_is_aligned_on_its_first_copy() {
    let speech = speech_48k("speech-a.wav");
    let reference = speech.repeat(2);
    let mut recorded = vec![0; 100 * MS];
    let mut from = 0;
    for at in [0.2, 0.4, 0.6, 0.8, 0.99] {
        let at = frame_starts(speech.len(), at, 1.0, RATE)[0];
        recorded.extend_from_slice(&speech[from..at]);
        from = at + 10 * MS;
    }
    recorded.extend_from_slice(&speech[from..]);
    recorded.extend_from_slice(&speech);
    recorded.extend_from_slice(&speech[..800 * MS]);
    let c = compare(&reference, &recorded, RATE as u32);
    assert!(
        passes(&c),
        "matched {:.3} at lag {}",
        c.matched_fraction,
        c.lag_samples
    );
    assert!(c.lag_samples < RATE as i64, "lag {}", c.lag_samples);
}

#[test]
fn garbled_audio_still_fails() {
    let speech = speech_48k("speech-a.wav");
    // A fifth of the call replaced by noise at speech level, in 200 ms bursts.
    let noise = white_noise(speech.len(), 3_000.0, 11);
    let mut recorded = speech.clone();
    for at in frame_starts(speech.len(), 0.0, 1.0, 1_000 * MS) {
        let end = (at + 200 * MS).min(recorded.len());
        recorded[at..end].copy_from_slice(&noise[at..end]);
    }
    let c = compare(&speech, &recorded, RATE as u32);
    assert!(!passes(&c), "matched {:.3}", c.matched_fraction);
    // One second of other speech in the middle, stalls or not.
    let other = speech_48k("speech-b.wav");
    let at = speech.len() / 2;
    let mut replaced = stall(&speech, at / 2, 150);
    let at = at + 150 * MS;
    replaced[at..at + RATE].copy_from_slice(&other[RATE..2 * RATE]);
    let c = compare(&speech, &replaced, RATE as u32);
    assert!(!passes(&c), "replaced: matched {:.3}", c.matched_fraction);
}

#[test]
fn the_timeline_names_where_the_alignment_moved() {
    let speech = speech_48k("speech-a.wav");
    let at = frame_starts(speech.len(), 0.4, 0.5, 20 * MS)[0];
    let recorded = stall(&speech, at, 200);
    let c = compare(&speech, &recorded, RATE as u32);
    let timeline = c.timeline();
    println!("{timeline}");
    let moves: Vec<&str> = timeline.lines().skip(1).collect();
    assert!(!moves.is_empty() && moves.len() <= 2, "{timeline}");
    let stalled_at = at as f64 / RATE as f64;
    assert!(
        moves.iter().any(|line| line.contains("200.0 ms")
            && line.contains(&format!("{:.2} s", (stalled_at * 4.0).floor() / 4.0))),
        "the 200 ms move at {stalled_at:.3} s: {timeline}"
    );
}
