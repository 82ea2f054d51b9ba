use std::path::{Path, PathBuf};

use hound::{SampleFormat, WavReader};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AnalysisError {
    #[error("reading WAV file {path}: {source}")]
    Wav {
        path: PathBuf,
        #[source]
        source: hound::Error,
    },
    #[error("WAV file {path} has an unsupported format: {detail}")]
    UnsupportedFormat { path: PathBuf, detail: String },
}

/// Loads a WAV file as 16-bit mono (channels averaged), with its sample rate.
pub fn load_wav_mono(path: impl AsRef<Path>) -> Result<(Vec<i16>, u32), AnalysisError> {
    let path = path.as_ref();
    let wav_error = |source| AnalysisError::Wav {
        path: path.to_path_buf(),
        source,
    };
    let reader = WavReader::open(path).map_err(wav_error)?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels);
    if channels == 0 {
        return Err(AnalysisError::UnsupportedFormat {
            path: path.to_path_buf(),
            detail: "zero channels".into(),
        });
    }
    let interleaved: Vec<f64> = match (spec.sample_format, spec.bits_per_sample) {
        (SampleFormat::Int, bits @ 1..=32) => {
            let scale = 2f64.powi(16 - i32::from(bits));
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| f64::from(v) * scale))
                .collect::<Result<_, _>>()
                .map_err(wav_error)?
        }
        (SampleFormat::Float, 32) => reader
            .into_samples::<f32>()
            .map(|s| s.map(|v| f64::from(v) * 32_768.0))
            .collect::<Result<_, _>>()
            .map_err(wav_error)?,
        (format, bits) => {
            return Err(AnalysisError::UnsupportedFormat {
                path: path.to_path_buf(),
                detail: format!("{bits}-bit {format:?}"),
            });
        }
    };
    let mono = interleaved
        .chunks_exact(channels)
        .map(|frame| {
            let mean = frame.iter().sum::<f64>() / channels as f64;
            mean.round().clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
        })
        .collect();
    Ok((mono, spec.sample_rate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hound::{WavSpec, WavWriter};

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("voicecall-wav-{}-{name}", std::process::id()))
    }

    #[test]
    fn loads_the_test_speech() {
        let path = crate::assets::asset("speech-a.wav");
        let (samples, rate) = load_wav_mono(path).unwrap();
        assert_eq!(rate, 16_000);
        assert_eq!(samples.len(), 96_858);
        assert!(samples.iter().any(|&s| s.unsigned_abs() > 5_000));
    }

    fn int_spec(channels: u16, sample_rate: u32, bits_per_sample: u16) -> WavSpec {
        WavSpec {
            channels,
            sample_rate,
            bits_per_sample,
            sample_format: SampleFormat::Int,
        }
    }

    #[test]
    fn downmixes_stereo_and_rescales_24_bit() {
        let path = temp_path("stereo24.wav");
        let mut w = WavWriter::create(&path, int_spec(2, 8_000, 24)).unwrap();
        for (l, r) in [
            (256 * 1000, 256 * 3000),
            (-256 * 4000, 0),
            (256 * 32_767, 256 * 32_767),
        ] {
            w.write_sample(l).unwrap();
            w.write_sample(r).unwrap();
        }
        w.finalize().unwrap();
        let loaded = load_wav_mono(&path);
        let _ = std::fs::remove_file(&path);
        assert_eq!(loaded.unwrap(), (vec![2000, -2000, 32_767], 8_000));
    }

    #[test]
    fn missing_and_corrupt_files_are_errors() {
        assert!(matches!(
            load_wav_mono("/nonexistent/voicecall/none.wav"),
            Err(AnalysisError::Wav { .. })
        ));
        let path = temp_path("corrupt.wav");
        std::fs::write(
            &path,
            b"RIFF\x10\x00\x00\x00WAVEfmt garbage that is not a wav",
        )
        .unwrap();
        let corrupt = load_wav_mono(&path);
        // A valid header whose data chunk is cut short must fail too, not return a prefix.
        let truncated_path = temp_path("truncated.wav");
        let mut w = WavWriter::create(&truncated_path, int_spec(1, 48_000, 16)).unwrap();
        for i in 0..1000 {
            w.write_sample(i as i16).unwrap();
        }
        w.finalize().unwrap();
        let bytes = std::fs::read(&truncated_path).unwrap();
        std::fs::write(&truncated_path, &bytes[..bytes.len() - 501]).unwrap();
        let truncated = load_wav_mono(&truncated_path);
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&truncated_path);
        assert!(
            matches!(corrupt, Err(AnalysisError::Wav { .. })),
            "{corrupt:?}"
        );
        assert!(truncated.is_err(), "{truncated:?}");
    }
}
