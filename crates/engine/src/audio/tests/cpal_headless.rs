//! Real-device paths on a machine that may have no sound card: they must fail with a clear
//! message, or work if a device exists; either way the test checks what happened.

use std::time::{Duration, Instant};

use crate::audio::{
    AudioError, PlaybackStream, ToneGenerator, list_input_devices, list_output_devices, open_input,
    open_output,
};
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_core::format::FRAME_SAMPLES;

/// Writes a test tone until the device has played `frames` of it, or `timeout` passes;
/// returns the frames played.
fn play_frames(playback: &mut PlaybackStream, frames: u64, timeout: Duration) -> u64 {
    let mut tone = ToneGenerator::speaker_test();
    let mut pending = tone.next_frame();
    let deadline = Instant::now() + timeout;
    while playback.device().levels().frames_played() < frames && Instant::now() < deadline {
        if playback.write(&pending) == pending.len() {
            pending = tone.next_frame();
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    playback.device().levels().frames_played()
}

#[test]
fn default_input_opens_or_explains_why_not() {
    match open_input(&InputSpec::Default) {
        Ok(mut capture) => {
            // A machine with a microphone: it delivers audio.
            let frames = super::read_frames(&mut capture, 5, Duration::from_secs(2));
            assert_eq!(
                frames.len(),
                5 * FRAME_SAMPLES,
                "{capture:?} delivered no audio"
            );
        }
        Err(err) => {
            assert!(
                matches!(
                    err,
                    AudioError::NoDefaultDevice { .. } | AudioError::Device { .. }
                ),
                "{err:?}"
            );
            let message = err.to_string();
            assert!(message.contains("input"), "{message}");
            if let AudioError::NoDefaultDevice { .. } = err {
                assert!(message.contains("audio host"), "names the host: {message}");
            }
        }
    }
}

#[test]
fn default_output_opens_or_explains_why_not() {
    match open_output(&OutputSpec::Default) {
        Ok(mut playback) => {
            let played = play_frames(&mut playback, 5, Duration::from_secs(2));
            assert!(played >= 5, "{playback:?} played {played} frames");
        }
        Err(err) => {
            assert!(
                matches!(
                    err,
                    AudioError::NoDefaultDevice { .. } | AudioError::Device { .. }
                ),
                "{err:?}"
            );
            let message = err.to_string();
            assert!(message.contains("output"), "{message}");
            if let AudioError::NoDefaultDevice { .. } = err {
                assert!(message.contains("audio host"), "names the host: {message}");
            }
        }
    }
}

#[test]
fn unknown_device_name_is_reported_by_name() {
    let name = "voicecall-test-no-such-device";
    let err = open_input(&InputSpec::Device(name.into())).expect_err("no such device");
    assert!(
        matches!(
            err,
            AudioError::DeviceNotFound { .. } | AudioError::Enumerate { .. }
        ),
        "{err:?}"
    );
    if let AudioError::DeviceNotFound { .. } = err {
        assert!(err.to_string().contains(name), "{err}");
    }
    let err = open_output(&OutputSpec::Device(name.into())).expect_err("no such device");
    assert!(err.to_string().contains("output"), "{err}");
}

#[test]
fn device_lists_name_real_devices_or_say_which_list_failed() {
    for (direction, list) in [
        ("input", list_input_devices()),
        ("output", list_output_devices()),
    ] {
        match list {
            Ok(devices) => {
                for device in devices {
                    assert!(!device.id.is_empty());
                    assert!(!device.name.is_empty(), "{device:?}");
                    assert!(device.default_sample_rate > 0 && device.channels > 0);
                }
            }
            Err(err) => {
                assert!(matches!(err, AudioError::Enumerate { .. }), "{err:?}");
                assert!(err.to_string().contains(direction), "{err}");
            }
        }
    }
}

/// ALSA's `null` device exists even without a sound card. It runs unpaced (as fast as the
/// CPU allows), so it proves the cpal callbacks, sample conversion and downmix work, not
/// timing. Skipped where the host has no such device.
#[test]
fn cpal_null_device_runs_both_directions_when_present() {
    let has_null = |list: Result<Vec<crate::audio::DeviceInfo>, AudioError>| {
        list.ok()
            .and_then(|devices| devices.into_iter().find(|d| d.id == "alsa:null"))
            .is_some()
    };
    if has_null(list_input_devices()) {
        let mut capture =
            open_input(&InputSpec::Device("alsa:null".into())).expect("open null input");
        let frames = super::read_frames(&mut capture, 5, Duration::from_secs(2));
        assert_eq!(frames.len(), 5 * FRAME_SAMPLES);
        assert!(frames.iter().all(|&s| s == 0), "null capture is silence");
        assert!(capture.device().levels().frames_captured() >= 5);
    }
    if has_null(list_output_devices()) {
        let mut playback =
            open_output(&OutputSpec::Device("alsa:null".into())).expect("open null output");
        let played = play_frames(&mut playback, 5, Duration::from_secs(2));
        assert!(played >= 5, "played {played} frames of the tone");
    }
}
