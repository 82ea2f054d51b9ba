//! Overrun and underrun counters move when the engine stalls, and the rings stay small.
//! The devices here run exactly the periods a test grants (10 ms each), so the counts are
//! exact whatever the machine's load.

use std::time::Duration;

use super::read_frames;
use super::signal::speech_path;
use crate::audio::testing::{stepped_input, stepped_output};
use crate::audio::{ToneGenerator, load_wav_48k_mono, open};
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_core::format::FRAME_SAMPLES;

/// 10 ms device periods in one 20 ms frame.
const PERIODS_PER_FRAME: u32 = 2;

#[test]
fn stalled_reader_overruns_and_latency_stays_bounded() {
    let speech = load_wav_48k_mono(&speech_path("speech-b.wav")).expect("speech");
    let (mut capture, device) = stepped_input(speech, true);
    let mut frame = [0i16; FRAME_SAMPLES];
    device.run_periods(2 * PERIODS_PER_FRAME);
    assert!(capture.read_frame(&mut frame) && capture.read_frame(&mut frame));
    assert!(
        !capture.read_frame(&mut frame),
        "exactly two frames were captured"
    );
    assert_eq!(capture.overruns(), 0);

    // The engine stalls for 400 ms while the microphone goes on.
    device.run_periods(40);
    assert!(
        capture.overruns() > 0,
        "a 400 ms stall must overflow a ~100 ms ring"
    );
    // 400 ms captured into a 100 ms ring: 300 ms of it dropped.
    assert_eq!(capture.dropped_samples(), 300 * 48);
    assert_eq!(
        capture.available_frames(),
        5,
        "the ring holds 100 ms, so that is all the delay a stall can build up"
    );

    capture.discard_backlog();
    assert_eq!(capture.available_frames(), 0);
    device.run_periods(3 * PERIODS_PER_FRAME);
    assert_eq!(
        capture.available_frames(),
        3,
        "device keeps running after an overrun"
    );
}

#[test]
fn starved_speaker_underruns_and_plays_silence() {
    let (mut playback, device) = stepped_output(None);
    let mut tone = ToneGenerator::speaker_test();
    let mut queued = 0;
    for _ in 0..5 {
        queued += playback.write(&tone.next_frame());
    }
    assert_eq!(queued, 5 * FRAME_SAMPLES);
    assert_eq!(playback.queued_samples(), queued);

    // 100 ms of periods play the 100 ms queued, not a sample of silence yet.
    device.run_periods(5 * PERIODS_PER_FRAME);
    assert_eq!(playback.queued_samples(), 0);
    assert_eq!(playback.underruns(), 0);

    // The next period finds the queue empty.
    device.run_periods(1);
    assert_eq!(
        playback.underruns(),
        1,
        "an empty queue must count underruns"
    );
    assert_eq!(playback.silence_samples(), 480);
    assert_eq!(
        playback.device().levels().frames_played(),
        5,
        "exactly the queued frames were played, silence is not counted"
    );
}

#[test]
fn full_speaker_queue_refuses_rather_than_overwrites() {
    let (mut playback, _device) = stepped_output(None);
    let capacity = playback.capacity_samples();
    let burst = vec![1000i16; capacity * 2];
    assert_eq!(playback.write(&burst), capacity, "takes what fits");
    assert_eq!(playback.write(&burst), 0, "and nothing more");
    assert_eq!(playback.queued_samples(), capacity);
}

#[test]
fn session_shares_one_levels_between_mic_and_speaker() {
    let mut session = open(
        &InputSpec::Wav {
            path: speech_path("speech-a.wav"),
            repeat: true,
        },
        &OutputSpec::Discard,
    )
    .expect("open session");
    assert!(std::sync::Arc::ptr_eq(
        session.capture.device().levels(),
        session.playback.device().levels()
    ));
    let mut tone = ToneGenerator::speaker_test();
    for _ in 0..10 {
        session.playback.write(&tone.next_frame());
    }
    let captured = read_frames(&mut session.capture, 25, Duration::from_secs(3));
    assert_eq!(captured.len(), 25 * FRAME_SAMPLES);
    let levels = session.levels();
    assert!(levels.frames_captured() >= 25);
    // Played from the queue, never more than was written.
    assert!((5..=10).contains(&levels.frames_played()));
    assert!(levels.input().rms() > 0.0 || levels.input().peak() > 0.0);
    session.finish().expect("close");
}
