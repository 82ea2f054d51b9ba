use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

/// Lower edge of the compared band: below it sit hum and DC offsets, not speech.
pub(super) const LOW_HZ: f64 = 100.0;
/// Upper edge: speech codecs keep the waveform up to about here (SILK codes it exactly),
/// while above it Opus codes only the spectral envelope (CELT band folding, noise fill).
/// A waveform correlation must not be judged where the codec rightly does not try.
pub(super) const HIGH_HZ: f64 = 4_000.0;
/// Raised-cosine transition width at each edge, to keep ringing short.
const EDGE_HZ: f64 = 100.0;

/// Zero-phase band-pass, applied identically to both signals so lags are unchanged.
pub(super) fn band_limit(
    planner: &mut FftPlanner<f64>,
    signal: &[f64],
    sample_rate: u32,
) -> Vec<f64> {
    if signal.is_empty() || sample_rate == 0 {
        return signal.to_vec();
    }
    // Padding keeps the circular filter from wrapping the end of the signal onto its start.
    let pad = (sample_rate as usize / 10).max(1);
    let n = (signal.len() + pad).next_power_of_two();
    let mut buf = vec![Complex::new(0.0, 0.0); n];
    for (dst, &src) in buf.iter_mut().zip(signal) {
        dst.re = src;
    }
    planner.plan_fft_forward(n).process(&mut buf);
    let bin_hz = f64::from(sample_rate) / n as f64;
    for (k, value) in buf.iter_mut().enumerate() {
        let freq = k.min(n - k) as f64 * bin_hz;
        *value *= gain(freq) / n as f64;
    }
    planner.plan_fft_inverse(n).process(&mut buf);
    buf.iter().take(signal.len()).map(|c| c.re).collect()
}

fn gain(freq: f64) -> f64 {
    let rise = smoothstep((freq - (LOW_HZ - EDGE_HZ / 2.0)) / EDGE_HZ);
    let fall = 1.0 - smoothstep((freq - (HIGH_HZ - EDGE_HZ / 2.0)) / EDGE_HZ);
    rise.min(fall)
}

/// Raised cosine from 0 (x ≤ 0) to 1 (x ≥ 1).
fn smoothstep(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    0.5 - 0.5 * (std::f64::consts::PI * x).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, len: usize) -> Vec<f64> {
        (0..len)
            .map(|i| (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin())
            .collect()
    }

    fn rms(x: &[f64]) -> f64 {
        (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt()
    }

    #[test]
    fn passes_speech_band_and_removes_the_rest() {
        let mut planner = FftPlanner::new();
        let rate = 48_000;
        let len = 48_000;
        let mid = 4_000..44_000;
        let pass = band_limit(&mut planner, &tone(1_000.0, rate, len), rate);
        assert!((rms(&pass[mid.clone()]) - 0.5f64.sqrt()).abs() < 0.01);
        for stop in [20.0, 6_000.0, 12_000.0] {
            let out = band_limit(&mut planner, &tone(stop, rate, len), rate);
            assert!(
                rms(&out[mid.clone()]) < 0.01,
                "{stop} Hz leaks {}",
                rms(&out)
            );
        }
    }
}
