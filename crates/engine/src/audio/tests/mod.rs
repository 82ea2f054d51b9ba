//! End-to-end tests of the audio module through WAV devices (this machine has no sound
//! card), plus the cpal paths' behaviour when devices are missing.

mod counters;
mod cpal_headless;
mod loopback;
mod output_file;
mod pacing;
pub(crate) mod signal;

use std::time::{Duration, Instant};

use crate::audio::CaptureStream;
use voicecall_core::format::FRAME_SAMPLES;

#[test]
fn streams_can_move_to_the_engine_thread() {
    fn assert_send<T: Send>() {}
    fn assert_shareable<T: Send + Sync>() {}
    assert_send::<crate::audio::CaptureStream>();
    assert_send::<crate::audio::PlaybackStream>();
    assert_send::<crate::audio::AudioSession>();
    assert_shareable::<crate::audio::Levels>();
    assert_shareable::<crate::audio::AudioError>();
}

/// Reads frames as they arrive until `frames` have come or `timeout` passes.
fn read_frames(capture: &mut CaptureStream, frames: usize, timeout: Duration) -> Vec<i16> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::with_capacity(frames * FRAME_SAMPLES);
    let mut frame = [0i16; FRAME_SAMPLES];
    while out.len() < frames * FRAME_SAMPLES && Instant::now() < deadline {
        if capture.read_frame(&mut frame) {
            out.extend_from_slice(&frame);
        } else {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    out
}
