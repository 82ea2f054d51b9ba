//! A WAV input behaves like a microphone: frames arrive at 50 per second, in file order.
//! The device runs on a test clock that moves only when the test says so: the count of
//! frames after each step is exact however loaded the machine is.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::read_frames;
use super::signal::{speech_path, zero_crossing_rate};
use crate::audio::device_handle::should_stop;
use crate::audio::levels::Levels;
use crate::audio::testing::open_wav_input_at_rate;
use crate::audio::wav_device::{Pace, StandIn, Timer, open_source};
use crate::audio::{load_wav_48k_mono, open_input};
use voicecall_core::device::InputSpec;
use voicecall_core::format::{FRAME_SAMPLES, SAMPLE_RATE};

/// A clock that stands still until the test advances it.
struct TestClock {
    state: Mutex<ClockState>,
    changed: Condvar,
}

struct ClockState {
    now: Instant,
    /// The deadline the device thread waits for, while it waits.
    waiting_for: Option<Instant>,
}

/// A device thread that has not settled by then is stuck.
const SETTLE_LIMIT: Duration = Duration::from_secs(10);
/// How often a waiting device thread looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(5);

impl TestClock {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(ClockState {
                now: Instant::now(),
                waiting_for: None,
            }),
            changed: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, ClockState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn advance(&self, by: Duration) {
        self.lock().now += by;
        self.changed.notify_all();
    }

    /// Waits until the device has done every period that is due and sleeps for a later one.
    fn settle(&self) {
        let mut state = self.lock();
        let limit = Instant::now() + SETTLE_LIMIT;
        while state.waiting_for.is_none_or(|d| d <= state.now) {
            assert!(Instant::now() < limit, "the device thread never settled");
            state = self
                .changed
                .wait_timeout(state, STOP_POLL)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Timer for TestClock {
    fn now(&self) -> Instant {
        self.lock().now
    }

    fn sleep_until(&self, deadline: Instant, stop: &AtomicBool) {
        let mut state = self.lock();
        while state.now < deadline && !should_stop(stop) {
            state.waiting_for = Some(deadline);
            self.changed.notify_all();
            state = self
                .changed
                .wait_timeout(state, STOP_POLL)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        state.waiting_for = None;
    }
}

/// Reads every whole frame there is now.
fn drain(capture: &mut crate::audio::CaptureStream, into: &mut Vec<i16>) -> usize {
    let mut frame = [0i16; FRAME_SAMPLES];
    let mut frames = 0;
    while capture.read_frame(&mut frame) {
        into.extend_from_slice(&frame);
        frames += 1;
    }
    frames
}

#[test]
fn wav_input_delivers_the_file_in_order_at_real_time_pace() {
    let reference = load_wav_48k_mono(&speech_path("speech-a.wav")).expect("load reference");
    let clock = TestClock::new();
    let levels = Arc::new(Levels::new());
    let stand_in = StandIn {
        pace: Pace::RealTime(Arc::clone(&clock) as Arc<dyn Timer>),
        unplugged: None,
    };
    let mut capture = open_source(
        "paced speech".into(),
        reference.clone(),
        false,
        SAMPLE_RATE,
        Arc::clone(&levels),
        stand_in,
    )
    .expect("open the stand-in input");
    assert_eq!(capture.device().rate(), SAMPLE_RATE);

    let mut received = Vec::new();
    clock.settle();
    assert_eq!(
        drain(&mut capture, &mut received),
        0,
        "nothing before 10 ms"
    );
    // One second in 10 ms steps: a 20 ms frame after every second step, none early.
    for step in 1..=100u32 {
        clock.advance(Duration::from_millis(10));
        clock.settle();
        let frames = drain(&mut capture, &mut received);
        let due = if step % 2 == 0 { 1 } else { 0 };
        assert_eq!(frames, due, "frames after {} ms", step * 10);
    }
    assert_eq!(received.len(), 50 * FRAME_SAMPLES, "50 frames in 1 s");

    // A device thread that wakes 55 ms late catches up at once, as hardware would:
    // deadlines count from the start, not from the last wake-up.
    clock.advance(Duration::from_millis(55));
    clock.settle();
    assert_eq!(drain(&mut capture, &mut received), 2, "5 periods: 2 frames");
    clock.advance(Duration::from_millis(5));
    clock.settle();
    assert_eq!(drain(&mut capture, &mut received), 1, "the 6th period");
    assert_eq!(received.len(), 53 * FRAME_SAMPLES);

    assert_eq!(
        received[..],
        reference[..received.len()],
        "frames must be the file's samples, in order, none lost"
    );
    assert_eq!(levels.frames_captured(), 53);
    assert!(levels.input().peak() > 0.0);
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
