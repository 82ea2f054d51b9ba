//! Real-device paths on a machine that may have no sound card: they must fail with a clear
//! message (or work, if a device exists), never panic.

use std::time::Duration;

use crate::audio::{AudioError, list_input_devices, list_output_devices, open_input, open_output};
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_core::format::FRAME_SAMPLES;

#[test]
fn default_input_opens_or_explains_why_not() {
    match open_input(&InputSpec::Default) {
        Ok(mut capture) => {
            // A machine with a microphone: it should at least run.
            std::thread::sleep(Duration::from_millis(100));
            let mut frame = [0i16; FRAME_SAMPLES];
            let _ = capture.read_frame(&mut frame);
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.contains("input"), "{message}");
            assert!(message.len() > 20, "too terse: {message}");
        }
    }
}

#[test]
fn default_output_opens_or_explains_why_not() {
    match open_output(&OutputSpec::Default) {
        Ok(mut playback) => {
            playback.write(&[0i16; FRAME_SAMPLES]);
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.contains("output"), "{message}");
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
fn device_lists_do_not_panic() {
    for list in [list_input_devices(), list_output_devices()] {
        match list {
            Ok(devices) => {
                for device in devices {
                    assert!(!device.id.is_empty());
                    assert!(device.default_sample_rate > 0 && device.channels > 0);
                }
            }
            Err(err) => assert!(!err.to_string().is_empty()),
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
        let mut tone = crate::audio::ToneGenerator::speaker_test();
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while playback.device().levels().frames_played() < 5 && std::time::Instant::now() < deadline
        {
            playback.write(&tone.next_frame());
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(playback.device().levels().frames_played() >= 5);
        assert!(playback.device().levels().output().peak() >= 0.0);
    }
}
