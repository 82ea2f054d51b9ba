//! A WAV input behaves like a microphone: frames arrive at 50 per second, in file order.

use std::time::{Duration, Instant};

use super::read_frames;
use super::signal::{speech_path, zero_crossing_rate};
use crate::audio::testing::open_wav_input_at_rate;
use crate::audio::{load_wav_48k_mono, open_input};
use voicecall_core::device::InputSpec;
use voicecall_core::format::{FRAME_SAMPLES, SAMPLE_RATE};

#[test]
fn wav_input_delivers_the_file_in_order_at_real_time_pace() {
    let path = speech_path("speech-a.wav");
    let reference = load_wav_48k_mono(&path).expect("load reference");
    let mut capture = open_input(&InputSpec::Wav {
        path,
        repeat: false,
    })
    .expect("open wav input");
    assert_eq!(capture.device().rate(), SAMPLE_RATE);

    let first = read_frames(&mut capture, 1, Duration::from_secs(2));
    assert_eq!(first.len(), FRAME_SAMPLES, "no first frame within 2 s");
    let started = Instant::now();
    let mut received = first;
    let mut frame = [0i16; FRAME_SAMPLES];
    while started.elapsed() < Duration::from_secs(1) {
        if capture.read_frame(&mut frame) {
            received.extend_from_slice(&frame);
        } else {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let frames_in_a_second = received.len() / FRAME_SAMPLES - 1;
    assert!(
        (42..=58).contains(&frames_in_a_second),
        "{frames_in_a_second} frames in 1 s, expected about 50"
    );
    assert_eq!(
        received[..],
        reference[..received.len()],
        "frames must be the file's samples, in order, none lost"
    );
    assert!(capture.device().levels().frames_captured() >= frames_in_a_second as u64);
    assert!(capture.device().levels().input().peak() > 0.0);
    assert_eq!(capture.overruns(), 0);
}

#[test]
fn resampled_input_device_still_gives_48k_frames() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tone.wav");
    super::signal::write_wav_16(
        &path,
        48_000,
        &super::signal::sine(1000.0, 0.5, 48_000, 48_000),
    );

    // The "microphone" runs at 44.1 kHz; read_frame must convert.
    let mut capture = open_wav_input_at_rate(&path, true, 44_100).expect("open");
    assert_eq!(capture.device().rate(), 44_100);
    let started = Instant::now();
    let received = read_frames(&mut capture, 25, Duration::from_secs(3));
    let elapsed = started.elapsed();
    assert_eq!(received.len(), 25 * FRAME_SAMPLES);
    assert!(
        elapsed > Duration::from_millis(400),
        "25 frames of 20 ms arrived in {elapsed:?}: faster than real time"
    );
    let steady = &received[5 * FRAME_SAMPLES..];
    let hz = zero_crossing_rate(steady, SAMPLE_RATE) / 2.0;
    assert!((hz - 1000.0).abs() < 5.0, "{hz} Hz after resampling");
}

#[test]
fn silence_input_paces_zeros() {
    let mut capture = open_input(&InputSpec::Silence).expect("open silence");
    let received = read_frames(&mut capture, 5, Duration::from_secs(2));
    assert_eq!(received.len(), 5 * FRAME_SAMPLES);
    assert!(received.iter().all(|&s| s == 0));
}
