//! Sample-rate conversion between device rates and the engine's 48 kHz, all done off the
//! audio thread: devices only move raw device-rate samples through the rings.
//!
//! - [`CaptureResampler`]: device rate to 48 kHz inside `CaptureStream::read_frame`, fixed
//!   output of one 20 ms frame per call so the engine always gets whole frames.
//! - [`PlaybackResampler`]: 48 kHz to device rate inside `PlaybackStream::write`, in
//!   fixed 5 ms input chunks (rubato needs a constant chunk size).
//! - [`resample_offline`]: whole-buffer conversion for WAV files, done once at open.
//!
//! The streaming ones allocate everything in `new` and nothing per call.

use ringbuf::traits::{Consumer, Producer};
use rubato::{
    Resampler, SincFixedIn, SincFixedOut, SincInterpolationParameters, SincInterpolationType,
    WindowFunction, calculate_cutoff,
};

use super::error::AudioError;
use voicecall_core::format::{FRAME_SAMPLES, SAMPLE_RATE};

/// Streaming filters trade a little stop-band depth for latency: a sinc resampler holds
/// back about this many input samples (~2.7 ms at 48 kHz).
const STREAM_SINC_LEN: usize = 128;
/// Offline conversion has no latency budget, so it uses the long filter.
const OFFLINE_SINC_LEN: usize = 256;
/// Engine audio is converted for playback in 5 ms pieces: the 10 and 20 ms frames the
/// engine writes are multiples of it, so normally nothing waits in
/// `PlaybackResampler::pending`.
const PLAYBACK_CHUNK: usize = FRAME_SAMPLES / 4;
const OFFLINE_CHUNK: usize = 4096;

fn sinc_parameters(sinc_len: usize) -> SincInterpolationParameters {
    let window = WindowFunction::BlackmanHarris2;
    SincInterpolationParameters {
        sinc_len,
        f_cutoff: calculate_cutoff(sinc_len, window),
        oversampling_factor: sinc_len,
        interpolation: SincInterpolationType::Linear,
        window,
    }
}

/// A converter from `from` to `to` Hz taking `chunk` input samples per call.
fn fixed_in(
    from: u32,
    to: u32,
    sinc_len: usize,
    chunk: usize,
) -> Result<SincFixedIn<f32>, AudioError> {
    let ratio = f64::from(to) / f64::from(from);
    SincFixedIn::<f32>::new(ratio, 1.0, sinc_parameters(sinc_len), chunk, 1)
        .map_err(|e| construction_error(from, to, e))
}

fn construction_error(from: u32, to: u32, error: impl std::fmt::Display) -> AudioError {
    AudioError::Resample {
        from,
        to,
        detail: error.to_string(),
    }
}

pub(crate) fn i16_to_f32(s: i16) -> f32 {
    f32::from(s) / 32768.0
}

pub(crate) fn f32_to_i16(x: f32) -> i16 {
    // `as` saturates, which is the clipping we want for overs from the filter's ripple.
    (x * 32768.0).round() as i16
}

/// Turns device-rate samples from the capture ring into 48 kHz frames.
pub(crate) struct CaptureResampler {
    inner: SincFixedOut<f32>,
    device_rate: u32,
    popped: Vec<i16>,
    input: Vec<f32>,
    output: Vec<f32>,
}

impl CaptureResampler {
    pub(crate) fn new(device_rate: u32) -> Result<Self, AudioError> {
        let ratio = f64::from(SAMPLE_RATE) / f64::from(device_rate);
        let inner = SincFixedOut::<f32>::new(
            ratio,
            1.0,
            sinc_parameters(STREAM_SINC_LEN),
            FRAME_SAMPLES,
            1,
        )
        .map_err(|e| construction_error(device_rate, SAMPLE_RATE, e))?;
        let max_in = inner.input_frames_max();
        Ok(Self {
            inner,
            device_rate,
            popped: vec![0; max_in],
            input: vec![0.0; max_in],
            output: vec![0.0; FRAME_SAMPLES],
        })
    }

    /// Device samples the next frame needs.
    pub(crate) fn input_needed(&self) -> usize {
        self.inner.input_frames_next()
    }

    /// Whole frames that `available` device samples would yield, give or take one.
    pub(crate) fn frames_from(&self, available: usize) -> usize {
        let needed = self.input_needed();
        if available < needed {
            return 0;
        }
        let spare_at_48k =
            (available - needed) as u64 * u64::from(SAMPLE_RATE) / u64::from(self.device_rate);
        1 + (spare_at_48k / FRAME_SAMPLES as u64) as usize
    }

    /// Produces one frame if the ring holds enough device samples, else leaves it alone.
    pub(crate) fn next_frame(
        &mut self,
        ring: &mut impl Consumer<Item = i16>,
        out: &mut [i16; FRAME_SAMPLES],
    ) -> bool {
        let needed = self.input_needed();
        if ring.occupied_len() < needed {
            return false;
        }
        let (Some(popped), Some(input)) =
            (self.popped.get_mut(..needed), self.input.get_mut(..needed))
        else {
            return false;
        };
        ring.pop_slice(popped);
        for (x, &s) in input.iter_mut().zip(popped.iter()) {
            *x = i16_to_f32(s);
        }
        let result = self
            .inner
            .process_into_buffer(&[&*input], &mut [&mut self.output[..]], None);
        match result {
            Ok((_, produced)) if produced == FRAME_SAMPLES => {
                for (o, &x) in out.iter_mut().zip(self.output.iter()) {
                    *o = f32_to_i16(x);
                }
                true
            }
            _ => false,
        }
    }
}

/// Turns 48 kHz engine audio into device-rate samples for the playback ring.
///
/// Rubato's fixed-input resampler must always be fed the same chunk size (changing it
/// with `set_chunk_size` corrupts the filter history in 0.16), so input is gathered into
/// `pending` and converted a whole chunk at a time.
pub(crate) struct PlaybackResampler {
    inner: SincFixedIn<f32>,
    pending: Vec<f32>,
    pending_len: usize,
    output: Vec<f32>,
    converted: Vec<i16>,
}

impl PlaybackResampler {
    pub(crate) fn new(device_rate: u32) -> Result<Self, AudioError> {
        let inner = fixed_in(SAMPLE_RATE, device_rate, STREAM_SINC_LEN, PLAYBACK_CHUNK)?;
        let max_out = inner.output_frames_max();
        Ok(Self {
            inner,
            pending: vec![0.0; PLAYBACK_CHUNK],
            pending_len: 0,
            output: vec![0.0; max_out],
            converted: vec![0; max_out],
        })
    }

    /// 48 kHz samples accepted but not yet converted into the ring.
    pub(crate) fn pending(&self) -> usize {
        self.pending_len
    }

    /// Takes as much of `pcm` as can be converted into the ring's free space (plus less
    /// than a chunk held back in `pending`). Returns how many 48 kHz samples were taken;
    /// the rest is the caller's to retry.
    pub(crate) fn convert(&mut self, pcm: &[i16], ring: &mut impl Producer<Item = i16>) -> usize {
        let mut consumed = 0;
        loop {
            if self.pending_len == PLAYBACK_CHUNK {
                // Rubato's bound on this chunk's output; only convert what surely fits so the
                // filter state and the ring never disagree.
                if ring.vacant_len() < self.inner.output_frames_next() {
                    break;
                }
                let result = self.inner.process_into_buffer(
                    &[&self.pending[..]],
                    &mut [&mut self.output[..]],
                    None,
                );
                let Ok((_, produced)) = result else { break };
                for (c, &x) in self.converted.iter_mut().zip(&self.output[..produced]) {
                    *c = f32_to_i16(x);
                }
                ring.push_slice(&self.converted[..produced]);
                self.pending_len = 0;
            }
            if consumed == pcm.len() {
                break;
            }
            let take = (PLAYBACK_CHUNK - self.pending_len).min(pcm.len() - consumed);
            let free = &mut self.pending[self.pending_len..self.pending_len + take];
            for (x, &s) in free.iter_mut().zip(&pcm[consumed..consumed + take]) {
                *x = i16_to_f32(s);
            }
            self.pending_len += take;
            consumed += take;
        }
        consumed
    }
}

/// Converts a whole signal so output sample `n` lines up with input time `n / to`; the
/// length is `round(len * to / from)`.
pub(crate) fn resample_offline(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    if from == to {
        return Ok(input.to_vec());
    }
    if from == 0 || to == 0 {
        return Err(construction_error(
            from,
            to,
            "sample rate must be above zero",
        ));
    }
    let mut resampler = fixed_in(from, to, OFFLINE_SINC_LEN, OFFLINE_CHUNK)?;
    let ratio = f64::from(to) / f64::from(from);
    let expected = (input.len() as f64 * ratio).round() as usize;

    let mut out = Vec::with_capacity(expected + resampler.output_frames_max());
    let mut chunk = vec![0.0f32; OFFLINE_CHUNK];
    let mut produced = resampler.output_buffer_allocate(true);
    let mut position = 0;
    // Rubato 0.16's sinc resamplers already start aligned (despite what `output_delay`
    // reports) but hold back the last ~sinc_len inputs; zeros past the end flush them out.
    while out.len() < expected {
        let take = input.len().saturating_sub(position).min(OFFLINE_CHUNK);
        chunk[..take].copy_from_slice(&input[position..position + take]);
        chunk[take..].fill(0.0);
        position += take;
        let (_, n) = resampler
            .process_into_buffer(&[&chunk], &mut produced, None)
            .map_err(|e| construction_error(from, to, e))?;
        out.extend_from_slice(&produced[0][..n]);
    }
    out.truncate(expected);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::tests::signal::{rms, sine, zero_crossing_rate};
    use ringbuf::HeapRb;
    use ringbuf::traits::{Observer, Split};

    #[test]
    fn offline_keeps_length_frequency_and_level() {
        for (from, to) in [(16_000, 48_000), (44_100, 48_000), (48_000, 32_000)] {
            let tone = sine(1000.0, 0.5, from, from as usize);
            let tone: Vec<f32> = tone.iter().map(|&s| i16_to_f32(s)).collect();
            let out = resample_offline(&tone, from, to).expect("resample");
            assert_eq!(out.len(), to as usize, "{from}->{to}");
            let out: Vec<i16> = out.iter().map(|&x| f32_to_i16(x)).collect();
            let middle = &out[out.len() / 4..out.len() * 3 / 4];
            let hz = zero_crossing_rate(middle, to) / 2.0;
            assert!((hz - 1000.0).abs() < 5.0, "{from}->{to}: {hz} Hz");
            let level = rms(middle) / 32768.0;
            let want = 0.5 / 2f64.sqrt();
            assert!((level - want).abs() < 0.01, "{from}->{to}: rms {level}");
        }
    }

    #[test]
    fn offline_lines_up_in_time() {
        // An impulse must come out where its time says, not a filter delay later.
        let mut impulse = vec![0.0f32; 16_000];
        impulse[8000] = 1.0;
        let out = resample_offline(&impulse, 16_000, 48_000).expect("resample");
        let (peak_at, _) =
            out.iter().enumerate().fold(
                (0, 0.0f32),
                |best, (i, &x)| if x > best.1 { (i, x) } else { best },
            );
        assert!((peak_at as i64 - 24_000).abs() <= 3, "peak at {peak_at}");
    }

    #[test]
    fn capture_resampler_emits_whole_frames_at_48k() {
        let device_rate = 44_100;
        let tone = sine(1000.0, 0.5, device_rate, device_rate as usize);
        let (mut prod, mut cons) = HeapRb::<i16>::new(tone.len()).split();
        prod.push_slice(&tone);
        let mut resampler = CaptureResampler::new(device_rate).expect("resampler");
        let mut frames = Vec::new();
        let mut frame = [0i16; FRAME_SAMPLES];
        loop {
            let estimate = resampler.frames_from(cons.occupied_len());
            if !resampler.next_frame(&mut cons, &mut frame) {
                assert_eq!(estimate, 0);
                break;
            }
            assert!(estimate >= 1);
            frames.extend_from_slice(&frame);
        }
        // One second in, minus what the filter still holds.
        assert!(frames.len() >= 46 * FRAME_SAMPLES, "{}", frames.len());
        let steady = &frames[4 * FRAME_SAMPLES..];
        let hz = zero_crossing_rate(steady, SAMPLE_RATE) / 2.0;
        assert!((hz - 1000.0).abs() < 5.0, "{hz} Hz");
        assert!((rms(steady) / 32768.0 - 0.5 / 2f64.sqrt()).abs() < 0.01);
    }

    #[test]
    fn playback_resampler_is_continuous_whatever_the_write_sizes() {
        let device_rate = 32_000;
        let tone = sine(440.0, 0.5, SAMPLE_RATE, SAMPLE_RATE as usize);
        let convert_all = |sizes: &[usize]| {
            let mut resampler = PlaybackResampler::new(device_rate).expect("resampler");
            let (mut prod, cons) = HeapRb::<i16>::new(2 * device_rate as usize).split();
            let mut position = 0;
            let mut i = 0;
            while position < tone.len() {
                let n = sizes[i % sizes.len()].min(tone.len() - position);
                let used = resampler.convert(&tone[position..position + n], &mut prod);
                assert_eq!(used, n);
                position += n;
                i += 1;
            }
            cons.iter().copied().collect::<Vec<i16>>()
        };
        let one_size = convert_all(&[960]);
        let ragged = convert_all(&[1, 7, 960, 333, 2000, 5]);
        let n = one_size.len().min(ragged.len());
        assert!(n > 31_000, "{n}");
        assert_eq!(
            one_size[..n],
            ragged[..n],
            "write sizes must not change the signal"
        );
        let hz = zero_crossing_rate(&ragged[4000..n - 4000], device_rate) / 2.0;
        assert!((hz - 440.0).abs() < 3.0, "{hz} Hz");
    }

    #[test]
    fn playback_resampler_respects_ring_room() {
        let mut resampler = PlaybackResampler::new(44_100).expect("resampler");
        let (mut prod, mut cons) = HeapRb::<i16>::new(300).split();
        let used = resampler.convert(&[1000i16; 960], &mut prod);
        assert!(used > 0 && used < 960, "used {used}");
        assert!(resampler.pending() <= PLAYBACK_CHUNK);
        // As the device drains the ring, the rest goes in.
        let mut total = used;
        for _ in 0..4 {
            cons.clear();
            total += resampler.convert(&[1000i16; 960][total..], &mut prod);
        }
        assert_eq!(total, 960);
    }
}
