//! Decoding WAV files compiled into the binary (`include_bytes!`), e.g. the desktop app's
//! ringtone and ringback, into the engine's 48 kHz mono.

use std::io::Cursor;
use std::path::PathBuf;

use super::error::AudioError;
use super::resample::{f32_to_i16, resample_offline};
use crate::format::SAMPLE_RATE;

/// Decodes a whole WAV file held in memory as 48 kHz mono; `name` only labels errors.
///
/// Accepts 8/16/24/32-bit integer and 32-bit float samples at any rate and channel count;
/// channels are averaged.
pub fn decode_wav_48k_mono(bytes: &[u8], name: &str) -> Result<Vec<i16>, AudioError> {
    let path = || PathBuf::from(format!("<embedded {name}>"));
    let reader =
        hound::WavReader::new(Cursor::new(bytes)).map_err(|source| AudioError::WavOpen {
            path: path(),
            source,
        })?;
    let spec = reader.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(AudioError::WavUnsupported {
            path: path(),
            detail: format!("{} channels at {} Hz", spec.channels, spec.sample_rate),
        });
    }
    let decode_error = |source| AudioError::WavDecode {
        path: path(),
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
            return Err(AudioError::WavUnsupported {
                path: path(),
                detail: format!("{bits}-bit {format:?} samples"),
            });
        }
    };
    let channels = usize::from(spec.channels);
    let mono: Vec<f32> = interleaved
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect();
    if mono.is_empty() {
        return Err(AudioError::WavEmpty { path: path() });
    }
    let converted = resample_offline(&mono, spec.sample_rate, SAMPLE_RATE)?;
    Ok(converted.into_iter().map(f32_to_i16).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav_bytes(rate: u32, channels: u16, samples: &[i16]) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut cursor = Cursor::new(Vec::new());
        {
            let mut writer = hound::WavWriter::new(&mut cursor, spec).expect("writer");
            for &s in samples {
                writer.write_sample(s).expect("sample");
            }
            writer.finalize().expect("finalize");
        }
        cursor.into_inner()
    }

    #[test]
    fn decodes_and_resamples_to_48k_mono() {
        let stereo: Vec<i16> = (0..16_000).flat_map(|_| [1000, 3000]).collect();
        let decoded = decode_wav_48k_mono(&wav_bytes(16_000, 2, &stereo), "t").expect("decode");
        assert_eq!(decoded.len(), 48_000);
        // The middle (away from the resampler's edges) is the channel average.
        assert!((decoded[24_000] - 2000).abs() < 20, "{}", decoded[24_000]);
    }

    #[test]
    fn garbage_and_empty_files_are_errors_that_name_the_sound() {
        let err = decode_wav_48k_mono(b"not a wav", "ring.wav").expect_err("garbage");
        assert!(err.to_string().contains("ring.wav"), "{err}");
        let err = decode_wav_48k_mono(&wav_bytes(48_000, 1, &[]), "quiet.wav").expect_err("empty");
        assert!(matches!(err, AudioError::WavEmpty { .. }), "{err}");
    }
}
