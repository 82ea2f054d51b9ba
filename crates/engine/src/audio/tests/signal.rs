//! Signal helpers shared by the audio tests.

use std::path::{Path, PathBuf};

pub(crate) fn speech_path(name: &str) -> PathBuf {
    voicecall_lab::assets::asset(name)
}

pub(crate) fn sine(hz: f64, amplitude: f64, rate: u32, len: usize) -> Vec<i16> {
    (0..len)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            (amplitude * 32767.0 * (std::f64::consts::TAU * hz * t).sin()).round() as i16
        })
        .collect()
}

pub(crate) fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// Sign changes per second; a pure tone has twice its frequency.
pub(crate) fn zero_crossing_rate(samples: &[i16], rate: u32) -> f64 {
    let crossings = samples
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count();
    crossings as f64 * f64::from(rate) / (samples.len().saturating_sub(1)) as f64
}

pub(crate) fn write_wav_16(path: &Path, rate: u32, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("create test wav");
    for &s in samples {
        writer.write_sample(s).expect("write test sample");
    }
    writer.finalize().expect("finalize test wav");
}

pub(crate) fn read_wav_16(path: &Path) -> (hound::WavSpec, Vec<i16>) {
    let reader = hound::WavReader::open(path).expect("open recorded wav");
    let spec = reader.spec();
    let samples = reader
        .into_samples::<i16>()
        .collect::<Result<Vec<_>, _>>()
        .expect("decode recorded wav");
    (spec, samples)
}

/// Writes the first `seconds` of a speech asset, at its own 16 kHz, to `path`.
pub(crate) fn speech_excerpt(path: &Path, seconds: f64) -> Vec<i16> {
    let (spec, samples) = read_wav_16(&speech_path("speech-a.wav"));
    let len = (seconds * f64::from(spec.sample_rate)) as usize;
    write_wav_16(path, spec.sample_rate, &samples[..len]);
    samples[..len].to_vec()
}

/// Where `needle` appears exactly in `haystack`.
pub(crate) fn find_exact(haystack: &[i16], needle: &[i16]) -> Option<usize> {
    if needle.len() > haystack.len() {
        return None;
    }
    (0..=haystack.len() - needle.len()).find(|&at| haystack[at..at + needle.len()] == *needle)
}
