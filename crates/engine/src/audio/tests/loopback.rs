//! Microphone to speaker through the engine's API: what goes in a WAV input must come out
//! of a WAV output, delayed but otherwise untouched.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::signal::{find_exact, read_wav_16, speech_excerpt};
use crate::audio::testing::{open_wav_input_at_rate, open_wav_output_at_rate};
use crate::audio::{CaptureStream, PlaybackStream, load_wav_48k_mono, open};
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_core::format::{FRAME_SAMPLES, SAMPLE_RATE};

/// Frames of silence queued before the first real one, as the engine's jitter buffer
/// would: the two device clocks tick independently, so without a cushion the speaker can
/// find the queue empty just before each frame arrives (and a loaded test machine can be
/// late by tens of milliseconds).
const PREBUFFER_FRAMES: usize = 5;

/// Copies frames from capture to playback until `frames` have passed, as the engine would.
/// Runs at the engine pump's priority: on a loaded machine a default-priority test thread
/// can sleep past the whole cushion, which would test the scheduler, not the devices.
fn pump(capture: &mut CaptureStream, playback: &mut PlaybackStream, frames: usize) {
    crate::audio::raise_current_thread();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut frame = [0i16; FRAME_SAMPLES];
    for _ in 0..PREBUFFER_FRAMES {
        assert_eq!(playback.write(&frame), FRAME_SAMPLES);
    }
    let underruns_before = playback.underruns();
    let mut moved = 0;
    while moved < frames {
        assert!(
            Instant::now() < deadline,
            "loopback stalled after {moved} frames"
        );
        if capture.read_frame(&mut frame) {
            assert_eq!(playback.write(&frame), FRAME_SAMPLES, "playback queue full");
            moved += 1;
        } else {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    assert_eq!(
        playback.underruns(),
        underruns_before,
        "the speaker ran dry mid-stream; the recording would have a gap"
    );
}

/// A temporary folder holding `seconds` of speech as `in.wav`, and the path for `out.wav`.
fn excerpt_and_output(seconds: f64) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.wav");
    let output = dir.path().join("out.wav");
    speech_excerpt(&input, seconds);
    (dir, input, output)
}

#[test]
fn wav_to_wav_loopback_is_sample_exact() {
    let (_dir, input, output) = excerpt_and_output(2.0);
    let reference = load_wav_48k_mono(&input).expect("reference");

    let mut session = open(
        &InputSpec::Wav {
            path: input.clone(),
            repeat: false,
        },
        &OutputSpec::Wav(output.clone()),
    )
    .expect("open session");
    let frames = reference.len().div_ceil(FRAME_SAMPLES) + 5;
    pump(&mut session.capture, &mut session.playback, frames);
    assert!(
        session.playback.drain(Duration::from_secs(2)),
        "queue never drained"
    );
    let overruns = session.capture.overruns();
    session.finish().expect("finalise output");

    let (spec, recorded) = read_wav_16(&output);
    assert_eq!((spec.sample_rate, spec.channels), (SAMPLE_RATE, 1));
    let offset = find_exact(&recorded, &reference)
        .expect("the recording must contain the input unchanged: no sample dropped or moved");
    assert!(
        offset < SAMPLE_RATE as usize,
        "{offset} samples of delay is more than the rings can hold"
    );
    assert_eq!(overruns, 0);
}

/// Best lag of `b` against `a` in `-range..=range` and the signal-to-error ratio there.
fn align(a: &[i16], b: &[i16], range: isize) -> (isize, f64) {
    let mut best = (0, f64::NEG_INFINITY);
    for lag in -range..=range {
        let (mut signal, mut error) = (0.0f64, 0.0f64);
        for (i, &x) in a.iter().enumerate() {
            let j = i as isize + lag;
            if j < 0 || j as usize >= b.len() {
                continue;
            }
            let y = f64::from(b[j as usize]);
            signal += f64::from(x) * f64::from(x);
            error += (f64::from(x) - y) * (f64::from(x) - y);
        }
        let snr = 10.0 * (signal / error.max(1.0)).log10();
        if snr > best.1 {
            best = (lag, snr);
        }
    }
    best
}

fn onset(samples: &[i16]) -> usize {
    samples
        .iter()
        .position(|s| s.unsigned_abs() > 2000)
        .unwrap_or(0)
}

#[test]
fn loopback_through_resampling_devices_keeps_the_signal() {
    let (_dir, input, output) = excerpt_and_output(1.5);
    let output_rate = 32_000;

    // 44.1 kHz "microphone" -> 48 kHz engine -> 32 kHz "speaker".
    let mut capture = open_wav_input_at_rate(&input, false, 44_100).expect("open input");
    let mut playback = open_wav_output_at_rate(&output, output_rate).expect("open output");
    pump(&mut capture, &mut playback, 90);
    assert!(playback.drain(Duration::from_secs(2)));
    drop(capture);
    playback.finish().expect("finalise");

    let (spec, recorded) = read_wav_16(&output);
    assert_eq!(spec.sample_rate, output_rate);
    let reference =
        crate::audio::wav_file::load_wav_mono_at(&input, output_rate).expect("reference");
    let coarse = onset(&recorded) as isize - onset(&reference) as isize;
    assert!(coarse >= 0, "output starts before input: {coarse}");
    let shifted = &recorded[coarse as usize..];
    let (lag, snr) = align(&reference, shifted, 40);
    assert!(
        snr > 20.0,
        "signal-to-error {snr:.1} dB at lag {}: resampling damaged the audio",
        coarse + lag
    );
}
