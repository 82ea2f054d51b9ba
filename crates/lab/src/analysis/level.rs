/// RMS level relative to a full-scale square wave; `-inf` for silence or an empty slice.
pub fn rms_dbfs(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return f64::NEG_INFINITY;
    }
    let energy: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    let rms = (energy / samples.len() as f64).sqrt();
    20.0 * (rms / 32_768.0).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_levels() {
        assert_eq!(rms_dbfs(&[]), f64::NEG_INFINITY);
        assert_eq!(rms_dbfs(&[0; 100]), f64::NEG_INFINITY);
        let square: Vec<i16> = (0..1000)
            .map(|i| if i % 2 == 0 { 16_384 } else { -16_384 })
            .collect();
        assert!((rms_dbfs(&square) - -6.0206).abs() < 0.001);
        let sine: Vec<i16> = (0..48_000)
            .map(|i| (32_767.0 * (i as f64 * 0.0131).sin()) as i16)
            .collect();
        assert!(
            (rms_dbfs(&sine) - -3.0103).abs() < 0.01,
            "{}",
            rms_dbfs(&sine)
        );
    }
}
