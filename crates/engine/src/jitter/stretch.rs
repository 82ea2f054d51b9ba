//! Time-stretching of decoded speech by whole pitch periods, as WebRTC's NetEq does with
//! "accelerate" and "preemptive expand" (a WSOLA-style overlap-add): find the lag at which
//! the frame repeats itself best, then cross-fade one period out or in. Removing or
//! repeating exactly one period keeps the pitch and the timbre; only the duration changes,
//! by 2.5–10 ms per 20 ms frame. Where the frame does not repeat (unvoiced sounds,
//! transients) nothing is done unless the frame is quiet enough for any cut to pass
//! unheard.
//!
//! Runs on the media pump once per frame: fixed buffers, no allocation.

/// Shortest period considered: 2.5 ms (400 Hz).
pub const MIN_LAG: usize = 120;
/// Longest period considered: 10 ms (100 Hz). A 20 ms frame holds two of them, which the
/// cross-fade needs.
pub const MAX_LAG: usize = 480;
/// Frames longer than this (40 ms) are left alone: a peer sending long packets is rare.
const MAX_FRAME: usize = 1_920;
/// The lag search runs on a 12 kHz copy: pitch lives well below 6 kHz.
const DECIMATION: usize = 4;
/// Normalised correlation at the chosen lag above which the frame counts as periodic.
const PERIODIC: f32 = 0.85;
/// Below this RMS (about −54 dBFS) a frame is silence or comfort noise: cut anywhere.
const QUIET_RMS: f32 = 65.0;
/// A refined lag is searched this many samples either side of the decimated estimate.
const REFINE: usize = DECIMATION;

/// What the jitter buffer asks of the next decoded frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stretch {
    #[default]
    None,
    /// Play it shorter: the buffer holds more delay than it needs.
    Shorten,
    /// Play it longer: the buffer is short of its target.
    Lengthen,
}

#[derive(Debug)]
pub struct TimeStretcher {
    decimated: [f32; MAX_FRAME / DECIMATION],
}

impl Default for TimeStretcher {
    fn default() -> Self {
        Self::new()
    }
}

impl TimeStretcher {
    pub fn new() -> Self {
        Self {
            decimated: [0.0; MAX_FRAME / DECIMATION],
        }
    }

    /// Removes one period from `pcm[..len]` in place and returns the new length; returns
    /// `len` when the frame is neither periodic nor quiet.
    pub fn shorten(&mut self, pcm: &mut [i16], len: usize) -> usize {
        let Some(lag) = self.lag(pcm, len) else {
            return len;
        };
        // out[0..lag] fades from x[0..lag] into x[lag..2lag], then x[2lag..] follows.
        for j in 0..lag {
            let w = fade_in(j, lag);
            pcm[j] = mix(pcm[j], pcm[j + lag], w);
        }
        pcm.copy_within(2 * lag..len, lag);
        len - lag
    }

    /// Repeats one period of `pcm[..len]` in place and returns the new length; `pcm` needs
    /// room for `len + MAX_LAG` samples, or nothing is done. Returns `len` when the frame is
    /// neither periodic nor quiet.
    pub fn lengthen(&mut self, pcm: &mut [i16], len: usize) -> usize {
        if pcm.len() < len + MAX_LAG {
            return len;
        }
        let Some(lag) = self.lag(pcm, len) else {
            return len;
        };
        // x[0..lag], then x[lag..2lag] fading into x[0..lag] again, then x[lag..].
        pcm.copy_within(lag..len, 2 * lag);
        for j in 0..lag {
            let w = fade_in(j, lag);
            pcm[lag + j] = mix(pcm[2 * lag + j], pcm[j], w);
        }
        len + lag
    }

    /// The period to cut or repeat: the best-correlated lag when the frame is periodic,
    /// the longest one when it is quiet, `None` otherwise.
    fn lag(&mut self, pcm: &[i16], len: usize) -> Option<usize> {
        if len > MAX_FRAME || len > pcm.len() {
            return None;
        }
        let max_lag = MAX_LAG.min(len / 2);
        if max_lag < MIN_LAG {
            return None;
        }
        let span = &pcm[..2 * max_lag];
        let energy: f64 = span.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        if (energy / span.len() as f64).sqrt() < f64::from(QUIET_RMS) {
            return Some(max_lag);
        }
        let n = len / DECIMATION;
        for (i, d) in self.decimated[..n].iter_mut().enumerate() {
            let chunk = &pcm[i * DECIMATION..(i + 1) * DECIMATION];
            *d = chunk.iter().map(|&s| f32::from(s)).sum::<f32>() / DECIMATION as f32;
        }
        // The same window for every lag, so correlations compare fairly.
        let window = (len - max_lag) / DECIMATION;
        let coarse = best_lag(
            &self.decimated[..n],
            MIN_LAG / DECIMATION,
            max_lag / DECIMATION,
            window,
        )?;
        let centre = coarse.0 * DECIMATION;
        let lo = centre.saturating_sub(REFINE).max(MIN_LAG);
        let hi = (centre + REFINE).min(max_lag);
        let (lag, corr) = best_lag_i16(&pcm[..len], lo, hi, len - max_lag)?;
        (corr >= PERIODIC).then_some(lag)
    }
}

fn fade_in(j: usize, lag: usize) -> f32 {
    (j as f32 + 0.5) / lag as f32
}

fn mix(from: i16, to: i16, w: f32) -> i16 {
    let v = f32::from(from) * (1.0 - w) + f32::from(to) * w;
    v.round().clamp(-32_768.0, 32_767.0) as i16
}

/// Lag in `lo..=hi` maximising the normalised correlation of `x[..window]` with
/// `x[lag..lag + window]`, and that correlation.
fn best_lag(x: &[f32], lo: usize, hi: usize, window: usize) -> Option<(usize, f32)> {
    let mut best: Option<(usize, f32)> = None;
    let e0: f32 = x[..window].iter().map(|v| v * v).sum();
    for lag in lo..=hi {
        let other = x.get(lag..lag + window)?;
        let (mut dot, mut e1) = (0.0f32, 0.0f32);
        for (a, b) in x[..window].iter().zip(other) {
            dot += a * b;
            e1 += b * b;
        }
        let corr = if e0 > 0.0 && e1 > 0.0 {
            dot / (e0 * e1).sqrt()
        } else {
            0.0
        };
        if best.is_none_or(|(_, c)| corr > c) {
            best = Some((lag, corr));
        }
    }
    best
}

fn best_lag_i16(x: &[i16], lo: usize, hi: usize, window: usize) -> Option<(usize, f32)> {
    let mut best: Option<(usize, f32)> = None;
    let e0: f64 = x[..window].iter().map(|&v| f64::from(v).powi(2)).sum();
    for lag in lo..=hi {
        let other = x.get(lag..lag + window)?;
        let (mut dot, mut e1) = (0.0f64, 0.0f64);
        for (&a, &b) in x[..window].iter().zip(other) {
            dot += f64::from(a) * f64::from(b);
            e1 += f64::from(b) * f64::from(b);
        }
        let corr = if e0 > 0.0 && e1 > 0.0 {
            (dot / (e0 * e1).sqrt()) as f32
        } else {
            0.0
        };
        if best.is_none_or(|(_, c)| corr > c) {
            best = Some((lag, corr));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use voicecall_core::format::FRAME_SAMPLES;

    /// A voiced-like sound: harmonics of `f0` with falling amplitude, from sample `start`.
    fn voiced(f0: f64, start: usize, len: usize) -> Vec<i16> {
        (start..start + len)
            .map(|n| {
                let t = n as f64 / 48_000.0;
                let v: f64 = (1..=8)
                    .map(|h| (2.0 * std::f64::consts::PI * f0 * h as f64 * t).sin() / h as f64)
                    .sum();
                (v * 6_000.0) as i16
            })
            .collect()
    }

    /// The period (in samples) with the strongest autocorrelation in 2.5–12.5 ms.
    fn period(x: &[i16]) -> usize {
        let xf: Vec<f32> = x.iter().map(|&s| f32::from(s)).collect();
        best_lag(&xf, 120, 600, xf.len() - 600).unwrap().0
    }

    fn frame_with_room(x: &[i16]) -> Vec<i16> {
        let mut buf = vec![0i16; x.len() + MAX_LAG];
        buf[..x.len()].copy_from_slice(x);
        buf
    }

    #[test]
    fn shortening_removes_whole_periods_and_keeps_the_pitch() {
        for f0 in [110.0, 150.0, 220.0, 310.0] {
            let x = voiced(f0, 0, FRAME_SAMPLES);
            let mut buf = frame_with_room(&x);
            let mut stretcher = TimeStretcher::new();
            let n = stretcher.shorten(&mut buf, FRAME_SAMPLES);
            let removed = FRAME_SAMPLES - n;
            let p = 48_000.0 / f0;
            assert!((MIN_LAG..=MAX_LAG).contains(&removed), "{f0} Hz: {removed}");
            // A whole number of periods, to within a sample or two.
            let periods = removed as f64 / p;
            assert!(
                (periods - periods.round()).abs() * p < 2.0,
                "{f0} Hz: removed {removed}, period {p:.1}"
            );
            // The result continues the same waveform: the tail is the original's tail (the
            // last samples of the cross-fade are almost all the later period already).
            let off = buf[n - 100..n]
                .iter()
                .zip(&x[FRAME_SAMPLES - 100..])
                .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
                .max()
                .unwrap();
            assert!(off < 300, "{f0} Hz: tail off by {off}");
            // And the pitch of the stretched frame followed by the next one is unchanged.
            let mut joined = buf[..n].to_vec();
            joined.extend(voiced(f0, FRAME_SAMPLES, FRAME_SAMPLES));
            let measured = period(&joined) as f64;
            let harmonic = (measured / p).round().max(1.0);
            assert!(
                (measured / harmonic - p).abs() < 2.0,
                "{f0} Hz: period {measured} vs {p:.1}"
            );
        }
    }

    #[test]
    fn lengthening_repeats_a_period_without_a_seam() {
        for f0 in [110.0, 150.0, 220.0] {
            let x = voiced(f0, 0, FRAME_SAMPLES);
            let mut buf = frame_with_room(&x);
            let mut stretcher = TimeStretcher::new();
            let n = stretcher.lengthen(&mut buf, FRAME_SAMPLES);
            let added = n - FRAME_SAMPLES;
            let p = 48_000.0 / f0;
            assert!((MIN_LAG..=MAX_LAG).contains(&added), "{f0} Hz: {added}");
            let periods = added as f64 / p;
            assert!(
                (periods - periods.round()).abs() * p < 2.0,
                "{f0} Hz: added {added}, period {p:.1}"
            );
            // Start and end are untouched, so it joins its neighbours seamlessly.
            assert_eq!(&buf[..10], &x[..10]);
            assert_eq!(&buf[n - 100..n], &x[FRAME_SAMPLES - 100..]);
            // Sample to sample, the stretched frame moves no more than the original does:
            // no click where the copies meet.
            let max_step = |s: &[i16]| {
                s.windows(2)
                    .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
                    .max()
                    .unwrap()
            };
            assert!(
                max_step(&buf[..n]) <= max_step(&x) + max_step(&x) / 10,
                "{f0} Hz"
            );
            let mut joined = buf[..n].to_vec();
            joined.extend(voiced(f0, FRAME_SAMPLES, FRAME_SAMPLES));
            let measured = period(&joined) as f64;
            let harmonic = (measured / p).round().max(1.0);
            assert!((measured / harmonic - p).abs() < 2.0, "{f0} Hz: {measured}");
        }
    }

    #[test]
    fn noise_is_left_alone_and_silence_is_cut_freely() {
        let noise = voicecall_lab::signals::white_noise(FRAME_SAMPLES, 8_000.0, 5);
        let mut buf = frame_with_room(&noise);
        let mut stretcher = TimeStretcher::new();
        assert_eq!(stretcher.shorten(&mut buf, FRAME_SAMPLES), FRAME_SAMPLES);
        assert_eq!(stretcher.lengthen(&mut buf, FRAME_SAMPLES), FRAME_SAMPLES);
        assert_eq!(&buf[..FRAME_SAMPLES], &noise[..]);

        let hush = voicecall_lab::signals::white_noise(FRAME_SAMPLES, 40.0, 6);
        let mut buf = frame_with_room(&hush);
        assert_eq!(
            stretcher.shorten(&mut buf, FRAME_SAMPLES),
            FRAME_SAMPLES - MAX_LAG
        );
        let mut buf = frame_with_room(&hush);
        assert_eq!(
            stretcher.lengthen(&mut buf, FRAME_SAMPLES),
            FRAME_SAMPLES + MAX_LAG
        );
    }

    #[test]
    fn short_or_oversized_frames_and_small_buffers_are_left_alone() {
        let mut stretcher = TimeStretcher::new();
        let x = voiced(150.0, 0, 200);
        let mut buf = frame_with_room(&x);
        assert_eq!(stretcher.shorten(&mut buf, 200), 200);
        let long = voiced(150.0, 0, MAX_FRAME + 120);
        let mut buf = frame_with_room(&long);
        assert_eq!(stretcher.shorten(&mut buf, long.len()), long.len());
        let mut tight = voiced(150.0, 0, FRAME_SAMPLES);
        assert_eq!(stretcher.lengthen(&mut tight, FRAME_SAMPLES), FRAME_SAMPLES);
        // 10 ms frames: only periods up to 5 ms fit twice.
        let x = voiced(250.0, 0, 480);
        let mut buf = frame_with_room(&x);
        let n = stretcher.shorten(&mut buf, 480);
        assert!(n < 480 && 480 - n <= 240, "{n}");
    }
}
