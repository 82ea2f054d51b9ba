use rustfft::FftPlanner;

use super::xcorr::{cross_correlate, normalized};

/// Long enough for a stable correlation of speech, short enough that one frame slip spoils
/// little of the total.
const SEGMENT_MS: usize = 250;
/// How far each segment may slide around its predecessor's lag: room for a few 20 ms slips.
const LOCAL_SEARCH_MS: usize = 60;
/// A speech segment found nowhere in that window is looked for this far around the tracked
/// lag: a receiver whose packets came late waits (holds, then refills from silence) and
/// plays them late, which moves the alignment by the wait at once (70–520 ms measured in
/// tests/browser_interop.rs on a loaded machine, the audio after it intact), and
/// time-stretches back later.
const REACQUIRE_MS: usize = 600;
/// Slips accumulate over a call; the per-segment lag may wander this far from the global one.
const MAX_DRIFT_MS: usize = 1_000;
/// Where within a segment a slip may sit: the buffer slips whole frames, but the frame
/// boundaries are unknown here.
const SLIP_STEP_MS: usize = 5;
/// A segment this well matched is trusted to carry its lag on to the next.
const TRACKING_MIN_CORRELATION: f64 = 0.7;
/// Segments matched this well are used to estimate the path's gain.
const GAIN_MIN_CORRELATION: f64 = 0.8;
/// Reference segments this far below the reference's overall RMS count as pauses: there the
/// codec's noise is comparable to the signal, so correlation says nothing, and the ear
/// hears (near) silence.
const SILENT_BELOW_DB: f64 = 20.0;
/// A recording is quiet in a pause if it is this far below the recorded speech level ...
const QUIET_BELOW_DB: f64 = 30.0;
/// ... or no louder than the reference's pause itself (scaled by the path gain) plus this.
const QUIET_SLACK_DB: f64 = 6.0;
/// Below about -70 dBFS everything is silence, whatever the levels above say.
const ABSOLUTE_FLOOR_RMS: f64 = 10.0;

/// How one stretch of the reference fared.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentMatch {
    pub start: usize,
    pub len: usize,
    /// This segment's own best lag (equal to a neighbour's for silent segments); with a
    /// slip, the lag before it.
    pub lag_samples: i64,
    /// Best normalised correlation found, allowing one slip; 0 for silent segments.
    pub correlation: f64,
    /// A frame slip inside the segment: the rest of it aligns at another lag.
    pub slip: Option<Slip>,
    pub reference_silent: bool,
    pub recording_quiet: bool,
}

/// The recording skipped or inserted audio `offset` samples into a segment; from there the
/// segment aligns at `lag_samples`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slip {
    pub offset: usize,
    pub lag_samples: i64,
}

impl SegmentMatch {
    /// Speech must correlate; silence must stay silent in the recording.
    pub fn matches(&self, min_corr: f64) -> bool {
        if self.reference_silent {
            self.recording_quiet
        } else {
            self.correlation >= min_corr
        }
    }
}

pub(super) fn evaluate(
    planner: &mut FftPlanner<f64>,
    reference: &[f64],
    recorded: &[f64],
    global_lag: i64,
    sample_rate: u32,
) -> Vec<SegmentMatch> {
    let rate = sample_rate as usize;
    let seg_len = (rate * SEGMENT_MS / 1000).max(1);
    let search = (rate * LOCAL_SEARCH_MS / 1000) as i64;
    let reacquire = (rate * REACQUIRE_MS / 1000) as i64;
    let max_drift = (rate * MAX_DRIFT_MS / 1000) as i64;
    let silent_rms = (rms(reference) * db_to_ratio(-SILENT_BELOW_DB)).max(ABSOLUTE_FLOOR_RMS);

    let mut segments = Vec::new();
    let mut tracked = global_lag;
    for (start, end) in segment_bounds(reference.len(), seg_len) {
        let seg = &reference[start..end];
        let mut m = SegmentMatch {
            start,
            len: end - start,
            lag_samples: tracked,
            correlation: 0.0,
            slip: None,
            reference_silent: rms(seg) <= silent_rms,
            recording_quiet: false,
        };
        if !m.reference_silent {
            let lo = tracked.min(global_lag) - search;
            let hi = tracked.max(global_lag) + search;
            let (mut lag, mut corr) = best_local_lag(planner, seg, recorded, start as i64, lo, hi);
            if corr < TRACKING_MIN_CORRELATION {
                let (lo, hi) = (tracked - reacquire, tracked + reacquire);
                let wide = best_local_lag(planner, seg, recorded, start as i64, lo, hi);
                if wide.1 > corr {
                    (lag, corr) = wide;
                }
            }
            m.lag_samples = lag;
            m.correlation = corr;
            if corr >= TRACKING_MIN_CORRELATION {
                tracked = lag.clamp(global_lag - max_drift, global_lag + max_drift);
            }
        }
        segments.push(m);
    }
    let step = (rate * SLIP_STEP_MS / 1000).max(1);
    allow_one_slip(&mut segments, reference, recorded, step);

    let gain = path_gain(&segments, reference, recorded);
    let quiet_rms = (gain * rms(reference) * db_to_ratio(-QUIET_BELOW_DB)).max(ABSOLUTE_FLOOR_RMS);
    mark_quiet_silences(&mut segments, reference, recorded, gain, quiet_rms);
    segments
}

/// Fixed-length segments; a short tail joins the previous segment rather than being judged
/// on too few samples.
fn segment_bounds(len: usize, seg_len: usize) -> Vec<(usize, usize)> {
    let mut bounds = Vec::new();
    let mut start = 0;
    while start < len {
        let mut end = (start + seg_len).min(len);
        if len - end < seg_len / 4 {
            end = len;
        }
        bounds.push((start, end));
        start = end;
    }
    bounds
}

/// Best normalised correlation of `seg` against `recorded` for lags in `lo..=hi`, reading
/// outside the recording as silence.
fn best_local_lag(
    planner: &mut FftPlanner<f64>,
    seg: &[f64],
    recorded: &[f64],
    start: i64,
    lo: i64,
    hi: i64,
) -> (i64, f64) {
    let window_start = start + lo;
    let window_len = seg.len() + (hi - lo) as usize;
    let window: Vec<f64> = (0..window_len as i64)
        .map(|i| sample_at(recorded, window_start + i))
        .collect();
    let mut prefix_energy = Vec::with_capacity(window.len() + 1);
    prefix_energy.push(0.0);
    let mut acc = 0.0;
    for x in &window {
        acc += x * x;
        prefix_energy.push(acc);
    }
    let seg_energy: f64 = seg.iter().map(|x| x * x).sum();
    let (first_lag, values) = cross_correlate(planner, seg, &window);
    let mut best = (lo, 0.0);
    for k in 0..=(hi - lo) as usize {
        let Some(&c) = values.get((k as i64 - first_lag) as usize) else {
            break;
        };
        let e = prefix_energy[k + seg.len()] - prefix_energy[k];
        let corr = normalized(c, seg_energy, e);
        if corr > best.1 {
            best = (lo + k as i64, corr);
        }
    }
    best
}

/// Re-scores each speech segment letting it switch, once, from one lag to another among
/// its own and its well-matched neighbours' lags. A slip inside a segment otherwise leaves
/// only part of it aligned at any single lag and fails a segment that is in fact all there.
fn allow_one_slip(segments: &mut [SegmentMatch], reference: &[f64], recorded: &[f64], step: usize) {
    let trusted: Vec<Option<i64>> = segments
        .iter()
        .map(|s| {
            (!s.reference_silent && s.correlation >= TRACKING_MIN_CORRELATION)
                .then_some(s.lag_samples)
        })
        .collect();
    for i in 0..segments.len() {
        let seg = &segments[i];
        if seg.reference_silent {
            continue;
        }
        let before = trusted[..i].iter().rev().flatten().next();
        let after = trusted[i + 1..].iter().flatten().next();
        let mut lags = vec![seg.lag_samples];
        for &lag in [before, after].into_iter().flatten() {
            if !lags.contains(&lag) {
                lags.push(lag);
            }
        }
        if lags.len() < 2 {
            continue;
        }
        let r = &reference[seg.start..seg.start + seg.len];
        let ref_energy: f64 = r.iter().map(|x| x * x).sum();
        // Prefix sums of r·x and x² at each candidate lag.
        let prefixes: Vec<(Vec<f64>, Vec<f64>)> = lags
            .iter()
            .map(|&lag| {
                let mut cross = Vec::with_capacity(r.len() + 1);
                let mut energy = Vec::with_capacity(r.len() + 1);
                let (mut c, mut e) = (0.0, 0.0);
                cross.push(c);
                energy.push(e);
                for (n, &rv) in r.iter().enumerate() {
                    let x = sample_at(recorded, (seg.start + n) as i64 + lag);
                    c += rv * x;
                    e += x * x;
                    cross.push(c);
                    energy.push(e);
                }
                (cross, energy)
            })
            .collect();
        let len = r.len();
        let mut best: Option<(f64, Slip, i64)> = None;
        for (a, (cross_a, energy_a)) in prefixes.iter().enumerate() {
            for (b, (cross_b, energy_b)) in prefixes.iter().enumerate() {
                if a == b {
                    continue;
                }
                for split in (step..len).step_by(step) {
                    let cross = cross_a[split] + cross_b[len] - cross_b[split];
                    let energy = energy_a[split] + energy_b[len] - energy_b[split];
                    let corr = normalized(cross, ref_energy, energy);
                    if best.is_none_or(|(c, _, _)| corr > c) {
                        let slip = Slip {
                            offset: split,
                            lag_samples: lags[b],
                        };
                        best = Some((corr, slip, lags[a]));
                    }
                }
            }
        }
        if let Some((corr, slip, lag)) = best.filter(|(c, _, _)| *c > segments[i].correlation) {
            let seg = &mut segments[i];
            seg.correlation = corr;
            seg.lag_samples = lag;
            seg.slip = Some(slip);
        }
    }
}

/// Median recorded/reference level ratio over well-matched segments; 0 when none match,
/// which makes "quiet" mean absolutely quiet.
fn path_gain(segments: &[SegmentMatch], reference: &[f64], recorded: &[f64]) -> f64 {
    let mut ratios: Vec<f64> = segments
        .iter()
        .filter(|s| !s.reference_silent && s.correlation >= GAIN_MIN_CORRELATION)
        .filter_map(|s| {
            let r = rms(&reference[s.start..s.start + s.len]);
            let x = rms_at(recorded, s.start as i64 + s.lag_samples, s.len);
            (r > 0.0).then_some(x / r)
        })
        .collect();
    if ratios.is_empty() {
        return 0.0;
    }
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

/// A silent reference segment matches if the recording is quiet at the lag of either
/// neighbouring speech segment: a buffer may well have slipped inside the pause.
fn mark_quiet_silences(
    segments: &mut [SegmentMatch],
    reference: &[f64],
    recorded: &[f64],
    gain: f64,
    quiet_rms: f64,
) {
    let lags: Vec<(bool, i64)> = segments
        .iter()
        .map(|s| (s.reference_silent, s.lag_samples))
        .collect();
    for (i, seg) in segments.iter_mut().enumerate() {
        if !seg.reference_silent {
            continue;
        }
        let before = lags[..i].iter().rev().find(|(silent, _)| !silent);
        let after = lags[i + 1..].iter().find(|(silent, _)| !silent);
        let candidates = [
            Some(seg.lag_samples),
            before.map(|l| l.1),
            after.map(|l| l.1),
        ];
        let own_level = gain * rms(&reference[seg.start..seg.start + seg.len]);
        let limit = quiet_rms.max(own_level * db_to_ratio(QUIET_SLACK_DB));
        seg.recording_quiet = candidates
            .iter()
            .flatten()
            .any(|&lag| rms_at(recorded, seg.start as i64 + lag, seg.len) <= limit);
    }
}

fn sample_at(x: &[f64], i: i64) -> f64 {
    if i < 0 {
        return 0.0;
    }
    x.get(i as usize).copied().unwrap_or(0.0)
}

fn rms(x: &[f64]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt()
}

fn rms_at(x: &[f64], start: i64, len: usize) -> f64 {
    if len == 0 {
        return 0.0;
    }
    let energy: f64 = (0..len as i64)
        .map(|i| sample_at(x, start + i).powi(2))
        .sum();
    (energy / len as f64).sqrt()
}

fn db_to_ratio(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_cover_everything_and_merge_short_tails() {
        assert_eq!(segment_bounds(0, 100), vec![]);
        assert_eq!(segment_bounds(50, 100), vec![(0, 50)]);
        assert_eq!(segment_bounds(210, 100), vec![(0, 100), (100, 210)]);
        assert_eq!(
            segment_bounds(230, 100),
            vec![(0, 100), (100, 200), (200, 230)]
        );
    }

    #[test]
    fn local_search_finds_a_shifted_segment() {
        let sig: Vec<f64> = (0..4000)
            .map(|i| ((i * 37 % 101) as f64 - 50.0) * (1.0 + (i as f64 * 0.01).sin()))
            .collect();
        let mut planner = FftPlanner::new();
        let seg = &sig[1000..2000];
        // The segment sits at 1000 in `sig`, so relative to start 1000 its lag is 0; search
        // a window that does not include 0 by making the recording shifted by 37.
        let mut shifted = vec![0.0; 37];
        shifted.extend(&sig);
        let (lag, corr) = best_local_lag(&mut planner, seg, &shifted, 1000, -100, 100);
        assert_eq!(lag, 37);
        assert!(corr > 0.999_999);
    }
}
