//! The microphone side: the audio thread's [`CaptureWriter`] pushes device-rate mono into a
//! lock-free ring, and the engine's [`CaptureStream`] pulls 48 kHz frames out of it.

use std::sync::Arc;

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::device_handle::DeviceHandle;
use super::error::AudioError;
use super::health::StreamHealth;
use super::levels::{Levels, PeriodLevel};
use super::open_device::{OpenDevice, device_timing};
use super::resample::CaptureResampler;
use voicecall_core::format::{FRAME_SAMPLES, SAMPLE_RATE};
use voicecall_core::pump_schedule::DeviceTiming;

/// Frames converted per stack buffer on the audio thread; any callback size works, this
/// only bounds the stack use.
const MONO_CHUNK: usize = 256;

/// The engine's end of an input device.
pub struct CaptureStream {
    // Declared first so it drops first: the device stops before the ring goes away.
    device: OpenDevice,
    ring: HeapCons<i16>,
    resampler: Option<CaptureResampler>,
}

/// The audio thread's end of an input device.
pub(crate) struct CaptureWriter {
    ring: HeapProd<i16>,
    health: Arc<StreamHealth>,
    levels: Arc<Levels>,
}

impl CaptureStream {
    /// Builds the ring for a device running at `device_rate`, then lets `start` open the
    /// device around the writer end.
    pub(crate) fn build(
        device_rate: u32,
        ring_capacity: usize,
        levels: Arc<Levels>,
        start: impl FnOnce(CaptureWriter) -> Result<(DeviceHandle, String), AudioError>,
    ) -> Result<Self, AudioError> {
        let resampler = if device_rate == SAMPLE_RATE {
            None
        } else {
            Some(CaptureResampler::new(device_rate)?)
        };
        // The resampler may need more than a frame's worth at once; the ring must hold it.
        let needed = resampler
            .as_ref()
            .map_or(FRAME_SAMPLES, CaptureResampler::input_needed);
        let (producer, consumer) = HeapRb::<i16>::new(ring_capacity.max(2 * needed)).split();
        levels.set_capture_rate(device_rate);
        let thread_end = |health, levels| CaptureWriter {
            ring: producer,
            health,
            levels,
        };
        Ok(Self {
            device: OpenDevice::start(device_rate, levels, thread_end, start)?,
            ring: consumer,
            resampler,
        })
    }

    /// Non-blocking. If a whole 20 ms frame is available, writes it (48 kHz mono) to the
    /// first [`FRAME_SAMPLES`] samples of `out` and returns true; otherwise returns false
    /// and leaves `out` alone. Also returns false if `out` is shorter than a frame.
    pub fn read_frame(&mut self, out: &mut [i16]) -> bool {
        let Some(frame) = out.first_chunk_mut::<FRAME_SAMPLES>() else {
            return false;
        };
        match &mut self.resampler {
            Some(resampler) => resampler.next_frame(&mut self.ring, frame),
            None if self.ring.occupied_len() >= FRAME_SAMPLES => {
                self.ring.pop_slice(frame);
                true
            }
            None => false,
        }
    }

    /// Whole frames `read_frame` can deliver right now (exact at 48 kHz; may be one off for
    /// resampled devices).
    pub fn available_frames(&self) -> usize {
        let queued = self.ring.occupied_len();
        match &self.resampler {
            Some(resampler) => resampler.frames_from(queued),
            None => queued / FRAME_SAMPLES,
        }
    }

    /// When the device last handed over a period and how long one is; `None` until it has.
    pub fn timing(&self) -> Option<DeviceTiming> {
        device_timing(&self.device)
    }

    /// Throws away everything captured so far, e.g. when a call starts, so the first frame
    /// sent is fresh rather than up to a ring's worth old.
    pub fn discard_backlog(&mut self) {
        self.ring.clear();
    }

    /// Device periods in which the ring was full and captured audio had to be dropped
    /// (the engine did not read fast enough).
    pub fn overruns(&self) -> u64 {
        self.device.health().xruns()
    }

    /// Device-rate samples dropped in those periods.
    pub fn dropped_samples(&self) -> u64 {
        self.device.health().xrun_samples()
    }

    pub fn device(&self) -> &OpenDevice {
        &self.device
    }

    /// Stops the device now and reports any problem doing so.
    pub fn finish(self) -> Result<(), AudioError> {
        self.device.finish()
    }
}

impl std::fmt::Debug for CaptureStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CaptureStream").field(&self.device).finish()
    }
}

impl CaptureWriter {
    /// One device period of interleaved samples. Runs on the audio thread: stack buffers,
    /// ring copies and atomics only.
    pub(crate) fn write_period<T: Copy>(
        &mut self,
        data: &[T],
        channels: usize,
        to_mono: impl Fn(&[T]) -> i16,
    ) {
        let channels = channels.max(1);
        let mut mono = [0i16; MONO_CHUNK];
        let mut level = PeriodLevel::default();
        let mut dropped = 0;
        for block in data.chunks(channels * MONO_CHUNK) {
            let mut frames = 0;
            for (m, frame) in mono.iter_mut().zip(block.chunks_exact(channels)) {
                *m = to_mono(frame);
                frames += 1;
            }
            level.add(&mono[..frames]);
            dropped += frames - self.ring.push_slice(&mono[..frames]);
        }
        if dropped > 0 {
            self.health.record_xrun(dropped);
        }
        self.health.record_period(data.len() / channels);
        self.levels.publish_input(&level);
    }

    pub(crate) fn write_mono(&mut self, samples: &[i16]) {
        self.write_period(samples, 1, |frame| frame[0]);
    }

    pub(crate) fn levels(&self) -> &Levels {
        &self.levels
    }

    pub(crate) fn health(&self) -> &Arc<StreamHealth> {
        &self.health
    }
}
