//! Decoding WAV files compiled into the binary (`include_bytes!`), e.g. the desktop app's
//! ringtone and ringback, into the engine's 48 kHz mono.

use std::io::Cursor;
use std::path::PathBuf;

use super::error::AudioError;
use super::resample::{f32_to_i16, resample_offline};
use super::wav_file::decode_mono;
use voicecall_core::format::SAMPLE_RATE;

/// Decodes a whole WAV file held in memory as 48 kHz mono; `name` only labels errors.
///
/// Accepts 8/16/24/32-bit integer and 32-bit float samples at any rate and channel count;
/// channels are averaged.
pub fn decode_wav_48k_mono(bytes: &[u8], name: &str) -> Result<Vec<i16>, AudioError> {
    let path = PathBuf::from(format!("<embedded {name}>"));
    let reader =
        hound::WavReader::new(Cursor::new(bytes)).map_err(|source| AudioError::WavOpen {
            path: path.clone(),
            source,
        })?;
    let (mono, rate) = decode_mono(reader, &path)?;
    let converted = resample_offline(&mono, rate, SAMPLE_RATE)?;
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
