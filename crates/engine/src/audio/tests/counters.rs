//! Overrun and underrun counters move when the engine stalls, and the rings stay small.

use std::time::Duration;

use super::read_frames;
use super::signal::speech_path;
use crate::audio::{ToneGenerator, open, open_input, open_output};
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_core::format::FRAME_SAMPLES;

#[test]
fn stalled_reader_overruns_and_latency_stays_bounded() {
    let mut capture = open_input(&InputSpec::Wav {
        path: speech_path("speech-b.wav"),
        repeat: true,
    })
    .expect("open");
    let _ = read_frames(&mut capture, 2, Duration::from_secs(2));
    assert_eq!(capture.overruns(), 0);

    std::thread::sleep(Duration::from_millis(400));
    assert!(
        capture.overruns() > 0,
        "a 400 ms stall must overflow a ~100 ms ring"
    );
    assert!(capture.dropped_samples() > 0);
    assert!(
        capture.available_frames() <= 6,
        "{} frames queued: the ring should hold about 100 ms",
        capture.available_frames()
    );

    capture.discard_backlog();
    assert_eq!(capture.available_frames(), 0);
    let fresh = read_frames(&mut capture, 3, Duration::from_secs(2));
    assert_eq!(
        fresh.len(),
        3 * FRAME_SAMPLES,
        "device keeps running after an overrun"
    );
}

#[test]
fn starved_speaker_underruns_and_plays_silence() {
    let mut playback = open_output(&OutputSpec::Discard).expect("open discard");
    let mut tone = ToneGenerator::speaker_test();
    let mut queued = 0;
    for _ in 0..5 {
        queued += playback.write(&tone.next_frame());
    }
    assert_eq!(queued, 5 * FRAME_SAMPLES);
    assert!(playback.queued_samples() > 0 && playback.queued_samples() <= queued);
    let before = playback.underruns();

    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        playback.queued_samples(),
        0,
        "100 ms of audio should have played"
    );
    assert!(
        playback.underruns() > before,
        "an empty queue must count underruns"
    );
    assert!(playback.silence_samples() > 0);
    let played = playback.device().levels().frames_played();
    assert_eq!(
        played, 5,
        "exactly the queued frames were played, silence is not counted"
    );
}

#[test]
fn full_speaker_queue_refuses_rather_than_overwrites() {
    let mut playback = open_output(&OutputSpec::Discard).expect("open discard");
    let capacity = playback.capacity_samples();
    let burst = vec![1000i16; capacity * 2];
    let taken = playback.write(&burst);
    assert!(
        taken < burst.len() && taken >= capacity - FRAME_SAMPLES,
        "took {taken} of {capacity}"
    );
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
    let _ = read_frames(&mut session.capture, 25, Duration::from_secs(3));
    let levels = session.levels();
    assert!(levels.frames_captured() >= 25);
    assert!(levels.frames_played() >= 5);
    assert!(levels.input().rms() > 0.0 || levels.input().peak() > 0.0);
    session.finish().expect("close");
}
