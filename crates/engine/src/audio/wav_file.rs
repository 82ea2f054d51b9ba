//! Reading WAV files of any common layout into the engine's format.

use std::io::Read;
use std::path::Path;

use super::error::AudioError;
use super::resample::{f32_to_i16, resample_offline};
use voicecall_core::format::SAMPLE_RATE;

/// Loads a WAV file as 48 kHz mono, exactly as the WAV input device will play it, so a test
/// can compare what a peer received with what the sender sent.
///
/// Accepts 8/16/24/32-bit integer and 32-bit float files at any rate and channel count;
/// channels are averaged.
pub fn load_wav_48k_mono(path: &Path) -> Result<Vec<i16>, AudioError> {
    load_wav_mono_at(path, SAMPLE_RATE)
}

/// Like [`load_wav_48k_mono`] but at any rate, for WAV devices simulating other hardware.
pub(crate) fn load_wav_mono_at(path: &Path, rate: u32) -> Result<Vec<i16>, AudioError> {
    let (mono, file_rate) = read_mono(path)?;
    let converted = resample_offline(&mono, file_rate, rate)?;
    Ok(converted.into_iter().map(f32_to_i16).collect())
}

fn read_mono(path: &Path) -> Result<(Vec<f32>, u32), AudioError> {
    let reader = hound::WavReader::open(path).map_err(|source| AudioError::WavOpen {
        path: path.to_path_buf(),
        source,
    })?;
    decode_mono(reader, path)
}

/// Decodes and downmixes to full-scale-relative floats; returns them with the WAV's rate.
/// `path` only labels errors (embedded sounds pass a made-up one).
pub(super) fn decode_mono<R: Read>(
    reader: hound::WavReader<R>,
    path: &Path,
) -> Result<(Vec<f32>, u32), AudioError> {
    let spec = reader.spec();
    let unsupported = |detail: String| AudioError::WavUnsupported {
        path: path.to_path_buf(),
        detail,
    };
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(unsupported(format!(
            "{} channels at {} Hz",
            spec.channels, spec.sample_rate
        )));
    }
    let decode_error = |source| AudioError::WavDecode {
        path: path.to_path_buf(),
        source,
    };

    let interleaved: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|s| s as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(decode_error)?
        }
        (hound::SampleFormat::Float, 32) => reader
            .into_samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(decode_error)?,
        (format, bits) => {
            return Err(unsupported(format!("{bits}-bit {format:?} samples")));
        }
    };

    let channels = usize::from(spec.channels);
    // A truncated last frame is dropped rather than mixed with missing channels.
    let mono: Vec<f32> = interleaved
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect();
    if mono.is_empty() {
        return Err(AudioError::WavEmpty {
            path: path.to_path_buf(),
        });
    }
    Ok((mono, spec.sample_rate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::tests::signal::{rms, sine, speech_path, zero_crossing_rate};

    fn write_wav(
        path: &Path,
        spec: hound::WavSpec,
        frames: usize,
        sample: impl Fn(usize, u16) -> f32,
    ) {
        let mut writer = hound::WavWriter::create(path, spec).expect("create test wav");
        for i in 0..frames {
            for ch in 0..spec.channels {
                let x = sample(i, ch);
                match (spec.sample_format, spec.bits_per_sample) {
                    (hound::SampleFormat::Float, _) => writer.write_sample(x),
                    (_, bits) => {
                        let full = ((1i64 << (bits - 1)) - 1) as f32;
                        writer.write_sample((x * full).round() as i32)
                    }
                }
                .expect("write test sample");
            }
        }
        writer.finalize().expect("finalize test wav");
    }

    #[test]
    fn speech_file_loads_as_six_seconds_at_48k() {
        let samples = load_wav_48k_mono(&speech_path("speech-a.wav")).expect("load speech-a");
        // 96 858 samples at 16 kHz.
        assert_eq!(samples.len(), 96_858 * 3);
        let seconds = samples.len() as f64 / f64::from(SAMPLE_RATE);
        assert!((seconds - 6.05).abs() < 0.01, "{seconds} s");
        assert!(rms(&samples) > 300.0, "speech should not be near-silent");
    }

    #[test]
    fn tone_keeps_frequency_and_level_through_16k_to_48k() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tone16k.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let source = sine(1000.0, 0.5, 16_000, 16_000);
        let mut writer = hound::WavWriter::create(&path, spec).expect("create");
        for &s in &source {
            writer.write_sample(s).expect("write");
        }
        writer.finalize().expect("finalize");

        let loaded = load_wav_48k_mono(&path).expect("load tone");
        assert_eq!(loaded.len(), 48_000);
        let middle = &loaded[4800..43_200];
        let hz = zero_crossing_rate(middle, SAMPLE_RATE) / 2.0;
        assert!((hz - 1000.0).abs() < 2.0, "{hz} Hz");
        let ratio = rms(middle) / rms(&source[1600..14_400]);
        assert!((ratio - 1.0).abs() < 0.01, "level changed by {ratio}");
    }

    #[test]
    fn every_sample_layout_decodes_to_the_same_signal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layouts = [
            (hound::SampleFormat::Int, 8),
            (hound::SampleFormat::Int, 16),
            (hound::SampleFormat::Int, 24),
            (hound::SampleFormat::Int, 32),
            (hound::SampleFormat::Float, 32),
        ];
        for (format, bits) in layouts {
            let path = dir.path().join(format!("{format:?}{bits}.wav"));
            let spec = hound::WavSpec {
                channels: 2,
                sample_rate: 48_000,
                bits_per_sample: bits,
                sample_format: format,
            };
            // Left carries the tone, right is silent: the downmix halves it.
            write_wav(&path, spec, 4800, |i, ch| {
                if ch == 0 {
                    0.8 * (2.0 * std::f32::consts::PI * 500.0 * i as f32 / 48_000.0).sin()
                } else {
                    0.0
                }
            });
            let loaded = load_wav_48k_mono(&path).expect("load layout");
            assert_eq!(loaded.len(), 4800, "{format:?} {bits}");
            let level = rms(&loaded) / 32768.0;
            let want = 0.4 / 2f64.sqrt();
            let tolerance = if bits == 8 { 0.01 } else { 0.001 };
            assert!(
                (level - want).abs() < tolerance,
                "{format:?} {bits}: {level}"
            );
        }
    }

    #[test]
    fn bad_files_name_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");

        let missing = dir.path().join("no-such-file.wav");
        let err = load_wav_48k_mono(&missing).expect_err("missing file");
        assert!(matches!(err, AudioError::WavOpen { .. }), "{err:?}");
        assert!(err.to_string().contains("no-such-file.wav"), "{err}");

        let garbage = dir.path().join("garbage.wav");
        std::fs::write(&garbage, b"this is not a RIFF file at all").expect("write");
        let err = load_wav_48k_mono(&garbage).expect_err("garbage file");
        assert!(err.to_string().contains("garbage.wav"), "{err}");

        let empty = dir.path().join("empty.wav");
        write_wav(
            &empty,
            hound::WavSpec {
                channels: 1,
                sample_rate: 16_000,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            },
            0,
            |_, _| 0.0,
        );
        let err = load_wav_48k_mono(&empty).expect_err("empty file");
        assert!(matches!(err, AudioError::WavEmpty { .. }), "{err:?}");
        assert!(err.to_string().contains("empty.wav"), "{err}");

        let truncated = dir.path().join("truncated.wav");
        let whole = std::fs::read(speech_path("speech-a.wav")).expect("read speech");
        std::fs::write(&truncated, &whole[..30]).expect("write");
        let err = load_wav_48k_mono(&truncated).expect_err("truncated header");
        assert!(err.to_string().contains("truncated.wav"), "{err}");
    }
}
