//! WAV outputs are complete, valid files once the stream is dropped; bad paths fail clearly.

use std::time::Duration;

use super::signal::{read_wav_16, zero_crossing_rate};
use crate::audio::{AudioError, ToneGenerator, open, open_input, open_output};
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_core::format::{FRAME_SAMPLES, SAMPLE_RATE};

#[test]
fn dropped_output_leaves_a_finalised_wav() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("speaker.wav");
    {
        let mut playback = open_output(&OutputSpec::Wav(path.clone())).expect("open");
        let mut tone = ToneGenerator::sine(1000.0, 0.5);
        for _ in 0..10 {
            assert_eq!(playback.write(&tone.next_frame()), FRAME_SAMPLES);
        }
        assert!(playback.drain(Duration::from_secs(2)));
        // Dropped here, with the device still running.
    }
    let file_len = std::fs::metadata(&path).expect("file exists").len();
    let reader = hound::WavReader::open(&path).expect("valid WAV after drop");
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (SAMPLE_RATE, 1, 16)
    );
    let header_samples = u64::from(reader.len());
    assert_eq!(
        44 + 2 * header_samples,
        file_len,
        "header length must match the data written"
    );
    let (_, samples) = read_wav_16(&path);
    assert!(samples.len() >= 10 * FRAME_SAMPLES);
    let loud: Vec<i16> = samples
        .iter()
        .copied()
        .skip_while(|s| s.unsigned_abs() < 1000)
        .collect();
    let tone = &loud[..8 * FRAME_SAMPLES];
    let hz = zero_crossing_rate(tone, SAMPLE_RATE) / 2.0;
    assert!((hz - 1000.0).abs() < 5.0, "{hz} Hz");
}

#[test]
fn dropped_session_finalises_its_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("call.wav");
    let session = open(&InputSpec::Silence, &OutputSpec::Wav(path.clone())).expect("open");
    std::thread::sleep(Duration::from_millis(100));
    drop(session);
    let reader = hound::WavReader::open(&path).expect("valid WAV");
    let file_len = std::fs::metadata(&path).expect("exists").len();
    assert_eq!(44 + 2 * u64::from(reader.len()), file_len);
    assert!(
        reader.len() > 0,
        "100 ms of (silent) playback should have been recorded"
    );
}

#[test]
fn unwritable_output_names_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("no-such-dir").join("out.wav");
    let err = open_output(&OutputSpec::Wav(bad)).expect_err("missing directory");
    assert!(matches!(err, AudioError::WavCreate { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-dir"), "{err}");

    let err = open_output(&OutputSpec::Wav(dir.path().to_path_buf())).expect_err("a directory");
    assert!(
        err.to_string().contains(&*dir.path().to_string_lossy()),
        "{err}"
    );
}

#[test]
fn missing_input_fails_the_session_with_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.wav");
    let err = open(
        &InputSpec::Wav {
            path: dir.path().join("nobody-recorded-this.wav"),
            repeat: false,
        },
        &OutputSpec::Wav(out),
    )
    .expect_err("missing input");
    assert!(
        err.to_string().contains("nobody-recorded-this.wav"),
        "{err}"
    );

    let err = open_input(&InputSpec::Wav {
        path: dir.path().join("x.wav"),
        repeat: true,
    })
    .expect_err("missing input");
    assert!(matches!(err, AudioError::WavOpen { .. }), "{err:?}");
}

/// A recorder killed without warning (SIGKILL, a crash, power loss) never finalises its
/// file; the header's sizes are brought up to date once a second, so what was recorded
/// until then still plays.
#[test]
fn a_recording_is_readable_up_to_the_last_second_while_it_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("heard.wav");
    let (mut playback, device) = crate::audio::testing::stepped_output(Some(&path));
    let mut tone = ToneGenerator::sine(1000.0, 0.5);
    for _ in 0..8 {
        assert_eq!(playback.write(&tone.next_frame()), FRAME_SAMPLES);
    }
    // 1.5 s of periods: a checkpoint at 1 s, none since.
    device.run_periods(150);

    let reader = hound::WavReader::open(&path).expect("a readable WAV while recording");
    assert_eq!(reader.spec().sample_rate, SAMPLE_RATE);
    assert_eq!(reader.len(), SAMPLE_RATE, "the header says one second");
    let samples: Vec<i16> = reader
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("every sample the header counts is there");
    let loud = samples.iter().filter(|s| s.unsigned_abs() > 1000).count();
    assert!(
        loud > 4 * FRAME_SAMPLES,
        "the tone is in it: {loud} loud samples"
    );

    // Finishing still finalises the whole file.
    playback.finish().expect("finalised");
    let reader = hound::WavReader::open(&path).expect("valid WAV");
    assert_eq!(reader.len(), 150 * 480);
}
