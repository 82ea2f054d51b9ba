//! Audio comparison for end-to-end tests and benchmarks: does a call's recording contain the
//! other side's input? Not used on the real-time path, so it allocates freely.

mod band;
mod level;
mod segments;
#[cfg(test)]
mod tracking_tests;
mod wav;
mod xcorr;

pub use level::rms_dbfs;
pub use segments::{SegmentMatch, Slip};
pub use wav::{AnalysisError, load_wav_mono};

use rustfft::FftPlanner;

/// The acceptance bar of the end-to-end tests: correlation ≥ 0.9 over ≥ 90 % of the input.
pub const DEFAULT_MIN_CORRELATION: f64 = 0.9;
pub const DEFAULT_MIN_FRACTION: f64 = 0.9;

/// Other global alignments worth following: peaks of the raw correlation this close to the
/// highest one (see `xcorr::peak_lags`).
const CANDIDATE_MIN_RATIO: f64 = 0.3;
const MAX_CANDIDATES: usize = 3;

#[derive(Debug, Clone)]
pub struct Comparison {
    /// Where the reference starts in the recording: `recorded[i + lag] ≈ reference[i]`.
    pub lag_samples: i64,
    /// Normalised correlation (in the compared band) of the whole aligned overlap at
    /// `lag_samples`. A single frame
    /// slip mid-stream misaligns everything after it, so judge with `passes`, not this.
    pub correlation: f64,
    /// Fraction of the reference's length whose segments match at `DEFAULT_MIN_CORRELATION`.
    pub matched_fraction: f64,
    pub segments: Vec<SegmentMatch>,
    pub reference_len: usize,
    pub sample_rate: u32,
}

impl Comparison {
    pub fn lag_seconds(&self) -> f64 {
        if self.sample_rate == 0 {
            return 0.0;
        }
        self.lag_samples as f64 / f64::from(self.sample_rate)
    }

    /// Fraction of the reference's duration matched when a segment needs `min_corr`.
    pub fn matched_fraction_at(&self, min_corr: f64) -> f64 {
        if self.reference_len == 0 {
            return 0.0;
        }
        let matched: usize = self
            .segments
            .iter()
            .filter(|s| s.matches(min_corr))
            .map(|s| s.len)
            .sum();
        matched as f64 / self.reference_len as f64
    }

    pub fn passes(&self, min_corr: f64, min_fraction: f64) -> bool {
        self.matched_fraction_at(min_corr) >= min_fraction
    }

    /// The segments that failed `DEFAULT_MIN_CORRELATION` or moved the alignment, one line
    /// each: what a failed check's log needs (a burst of slips, a gap, noise in a pause)
    /// where the whole `Debug` dump is too long for a CI log to keep.
    pub fn timeline(&self) -> String {
        let rate = f64::from(self.sample_rate.max(1));
        // Alignments less than 0.5 ms apart are the correlation peak's wobble, not a slip.
        let move_samples = i64::from(self.sample_rate / 2000).max(1);
        let ms = |lag: i64| lag as f64 * 1000.0 / rate;
        let mut out = format!(
            "lag {:.1} ms, {:.1} % of {:.2} s matched",
            ms(self.lag_samples),
            self.matched_fraction * 100.0,
            self.reference_len as f64 / rate
        );
        let mut previous = self.segments.first().map(|s| s.lag_samples);
        for seg in &self.segments {
            let moved = previous.is_some_and(|p| (seg.lag_samples - p).abs() >= move_samples);
            let slipped = seg
                .slip
                .filter(|slip| (slip.lag_samples - seg.lag_samples).abs() >= move_samples);
            let failed = !seg.matches(DEFAULT_MIN_CORRELATION);
            previous = Some(slipped.map_or(seg.lag_samples, |slip| slip.lag_samples));
            if !(moved || slipped.is_some() || failed) {
                continue;
            }
            let at = seg.start as f64 / rate;
            let what = if seg.reference_silent {
                format!(
                    "pause, {}",
                    if seg.recording_quiet {
                        "quiet"
                    } else {
                        "not quiet"
                    }
                )
            } else {
                format!("correlation {:.3}", seg.correlation)
            };
            out += &format!("\n  {at:6.2} s: {what}, lag {:.1} ms", ms(seg.lag_samples));
            if let Some(slip) = slipped {
                out += &format!(
                    ", then {:.1} ms from {:.3} s",
                    ms(slip.lag_samples),
                    at + slip.offset as f64 / rate
                );
            }
            if failed {
                out += "  FAILED";
            }
        }
        out
    }
}

/// Aligns `recorded` to `reference` and measures how much of the reference it reproduces.
///
/// Both are first band-limited to 100 Hz–4 kHz, where a voice codec preserves the waveform.
/// The global lag comes from an FFT cross-correlation over the whole signals, so the
/// recording may be longer and start seconds later; where that correlation has several
/// strong peaks (a looping input), the one under which most of the reference matches
/// wins. Then each ~250 ms segment searches its own lag near the previous segment's, so a jitter buffer skipping or inserting a frame
/// costs at most the segment around the slip.
pub fn compare(reference: &[i16], recorded: &[i16], sample_rate: u32) -> Comparison {
    let mut planner = FftPlanner::new();
    let to_band = |planner: &mut FftPlanner<f64>, x: &[i16]| {
        let x: Vec<f64> = x.iter().map(|&s| f64::from(s)).collect();
        band::band_limit(planner, &x, sample_rate)
    };
    let reference_f = to_band(&mut planner, reference);
    let recorded_f = to_band(&mut planner, recorded);
    let candidates = xcorr::peak_lags(
        &mut planner,
        &reference_f,
        &recorded_f,
        CANDIDATE_MIN_RATIO,
        i64::from(sample_rate) / 2,
        MAX_CANDIDATES,
    );
    let evaluate_at = |planner: &mut FftPlanner<f64>, lag_samples: i64| {
        let segments =
            segments::evaluate(planner, &reference_f, &recorded_f, lag_samples, sample_rate);
        let mut comparison = Comparison {
            lag_samples,
            correlation: xcorr::normalized_at(&reference_f, &recorded_f, lag_samples),
            matched_fraction: 0.0,
            segments,
            reference_len: reference.len(),
            sample_rate,
        };
        comparison.matched_fraction = comparison.matched_fraction_at(DEFAULT_MIN_CORRELATION);
        comparison
    };
    let mut best = evaluate_at(&mut planner, candidates.first().copied().unwrap_or(0));
    for &lag in candidates.iter().skip(1) {
        let comparison = evaluate_at(&mut planner, lag);
        // Candidates come highest peak first, so a tie keeps the higher peak.
        if comparison.matched_fraction > best.matched_fraction {
            best = comparison;
        }
    }
    best
}
