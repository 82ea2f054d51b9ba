use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

/// Linear cross-correlation `c[k] = Σ a[n]·b[n + k]` for every lag with overlap, i.e.
/// `k ∈ -(a.len()-1) ..= b.len()-1`; returns the first lag and the values in lag order.
pub(super) fn cross_correlate(
    planner: &mut FftPlanner<f64>,
    a: &[f64],
    b: &[f64],
) -> (i64, Vec<f64>) {
    if a.is_empty() || b.is_empty() {
        return (0, Vec::new());
    }
    let linear_len = a.len() + b.len() - 1;
    // Power-of-two sizes keep rustfft on its fastest path; the padding also stops the
    // circular correlation from wrapping.
    let n = linear_len.next_power_of_two();
    let fft = planner.plan_fft_forward(n);
    let ifft = planner.plan_fft_inverse(n);
    let padded = |x: &[f64]| -> Vec<Complex<f64>> {
        let mut v = vec![Complex::new(0.0, 0.0); n];
        for (dst, &src) in v.iter_mut().zip(x) {
            dst.re = src;
        }
        v
    };
    let mut fa = padded(a);
    let mut fb = padded(b);
    fft.process(&mut fa);
    fft.process(&mut fb);
    for (x, y) in fb.iter_mut().zip(&fa) {
        *x *= y.conj();
    }
    ifft.process(&mut fb);
    let scale = 1.0 / n as f64;
    let first_lag = -(a.len() as i64 - 1);
    // Negative lags wrapped to the end of the circular result.
    let values = (first_lag..=(b.len() as i64 - 1))
        .map(|lag| {
            let idx = if lag < 0 { n as i64 + lag } else { lag } as usize;
            fb[idx].re * scale
        })
        .collect();
    (first_lag, values)
}

/// Lags where the raw cross-correlation peaks, best first: the highest, then up to
/// `max - 1` more that reach `min_ratio` of it and lie at least `min_gap` from every lag
/// already taken. Empty when there is nothing to align.
///
/// One peak is not always the alignment: with a looping input the recording holds the
/// reference more than once, and a receiver that time-stretched early in the call splits
/// that copy's correlation over several lags, so an intact later copy can outscore it.
pub(super) fn peak_lags(
    planner: &mut FftPlanner<f64>,
    reference: &[f64],
    recorded: &[f64],
    min_ratio: f64,
    min_gap: i64,
    max: usize,
) -> Vec<i64> {
    let (first_lag, values) = cross_correlate(planner, reference, recorded);
    let Some(peak) = values.iter().copied().max_by(f64::total_cmp) else {
        return Vec::new();
    };
    // An all-silent side gives a flat zero correlation; any "peak" there is noise.
    if peak <= 0.0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..values.len())
        .filter(|&i| values[i] >= peak * min_ratio)
        .collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let mut lags: Vec<i64> = Vec::new();
    for i in order {
        let lag = first_lag + i as i64;
        if lags.iter().all(|taken| (taken - lag).abs() >= min_gap) {
            lags.push(lag);
            if lags.len() == max {
                break;
            }
        }
    }
    lags
}

/// Normalised correlation of `reference[i]` with `recorded[i + lag]` over their overlap.
pub(super) fn normalized_at(reference: &[f64], recorded: &[f64], lag: i64) -> f64 {
    let mut cross = 0.0;
    let mut e_ref = 0.0;
    let mut e_rec = 0.0;
    for (i, &r) in reference.iter().enumerate() {
        let j = i as i64 + lag;
        if j < 0 {
            continue;
        }
        let Some(&x) = recorded.get(j as usize) else {
            break;
        };
        cross += r * x;
        e_ref += r * r;
        e_rec += x * x;
    }
    normalized(cross, e_ref, e_rec)
}

pub(super) fn normalized(cross: f64, e_a: f64, e_b: f64) -> f64 {
    let denom = (e_a * e_b).sqrt();
    if denom > 0.0 { cross / denom } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(a: &[f64], b: &[f64], lag: i64) -> f64 {
        a.iter()
            .enumerate()
            .filter_map(|(n, &x)| {
                let j = n as i64 + lag;
                (j >= 0)
                    .then(|| b.get(j as usize).map(|&y| x * y))
                    .flatten()
            })
            .sum()
    }

    #[test]
    fn matches_direct_correlation_for_all_lags() {
        let a = [1.0, -2.0, 3.0, 0.5];
        let b = [0.0, 4.0, 1.0, -1.0, 2.0, 7.0];
        let mut planner = FftPlanner::new();
        let (first, values) = cross_correlate(&mut planner, &a, &b);
        assert_eq!(first, -3);
        assert_eq!(values.len(), a.len() + b.len() - 1);
        for (i, v) in values.iter().enumerate() {
            let lag = first + i as i64;
            assert!((v - direct(&a, &b, lag)).abs() < 1e-9, "lag {lag}");
        }
    }

    #[test]
    fn finds_positive_and_negative_lags() {
        let pulse: Vec<f64> = (0..50).map(|i| ((i * 7 % 13) as f64) - 6.0).collect();
        let mut late = vec![0.0; 30];
        late.extend(&pulse);
        let mut planner = FftPlanner::new();
        assert_eq!(peak_lags(&mut planner, &pulse, &late, 0.9, 1, 1), [30]);
        assert_eq!(peak_lags(&mut planner, &late, &pulse, 0.9, 1, 1), [-30]);
        assert!(peak_lags(&mut planner, &pulse, &[0.0; 80], 0.9, 1, 1).is_empty());
        assert!((normalized_at(&pulse, &late, 30) - 1.0).abs() < 1e-12);
    }
}
