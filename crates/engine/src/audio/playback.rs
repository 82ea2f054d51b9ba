//! The speaker side: the engine's [`PlaybackStream`] converts 48 kHz audio to the device rate
//! and queues it in a lock-free ring; the audio thread's [`PlaybackReader`] plays it out,
//! filling with silence when the queue runs dry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::device_handle::DeviceHandle;
use super::error::AudioError;
use super::health::StreamHealth;
use super::levels::{Levels, PeriodLevel};
use super::open_device::{OpenDevice, device_timing};
use super::resample::PlaybackResampler;
use voicecall_core::format::SAMPLE_RATE;
use voicecall_core::pump_schedule::DeviceTiming;

/// Frames handled per stack buffer on the audio thread; bounds stack use only.
const MONO_CHUNK: usize = 256;
const DRAIN_POLL: Duration = Duration::from_millis(2);

/// The engine's end of an output device.
pub struct PlaybackStream {
    // Declared first so it drops first: the device stops (and a WAV file is finalised)
    // before the ring goes away.
    device: OpenDevice,
    ring: HeapProd<i16>,
    resampler: Option<PlaybackResampler>,
}

/// The audio thread's end of an output device.
pub(crate) struct PlaybackReader {
    ring: HeapCons<i16>,
    health: Arc<StreamHealth>,
    levels: Arc<Levels>,
}

impl PlaybackStream {
    /// Builds the ring for a device running at `device_rate`, then lets `start` open the
    /// device around the reader end.
    pub(crate) fn build(
        device_rate: u32,
        ring_capacity: usize,
        levels: Arc<Levels>,
        start: impl FnOnce(PlaybackReader) -> Result<(DeviceHandle, String), AudioError>,
    ) -> Result<Self, AudioError> {
        let resampler = if device_rate == SAMPLE_RATE {
            None
        } else {
            Some(PlaybackResampler::new(device_rate)?)
        };
        let (producer, consumer) = HeapRb::<i16>::new(ring_capacity.max(1)).split();
        levels.set_playback_rate(device_rate);
        let thread_end = |health, levels| PlaybackReader {
            ring: consumer,
            health,
            levels,
        };
        Ok(Self {
            device: OpenDevice::start(device_rate, levels, thread_end, start)?,
            ring: producer,
            resampler,
        })
    }

    /// Queues 48 kHz mono audio. Non-blocking: returns how many samples were taken, fewer
    /// than `pcm.len()` when the queue is full (the caller decides whether to retry or drop).
    pub fn write(&mut self, pcm: &[i16]) -> usize {
        match &mut self.resampler {
            Some(resampler) => resampler.convert(pcm, &mut self.ring),
            None => self.ring.push_slice(pcm),
        }
    }

    /// Audio queued but not yet played, in 48 kHz samples, so the engine can hold a small
    /// target fill whatever the device rate.
    pub fn queued_samples(&self) -> usize {
        let waiting_for_resampler = self
            .resampler
            .as_ref()
            .map_or(0, PlaybackResampler::pending);
        self.to_engine_samples(self.ring.occupied_len()) + waiting_for_resampler
    }

    /// The device's period (the most audio one callback has taken), in 48 kHz samples;
    /// `None` until the device first asked for audio.
    pub fn period_samples(&self) -> Option<usize> {
        match self.device.health().largest_period() {
            0 => None,
            frames => Some(self.to_engine_samples(frames as usize)),
        }
    }

    /// When the device last took a period and how long one is; `None` until it has.
    pub fn timing(&self) -> Option<DeviceTiming> {
        device_timing(&self.device)
    }

    /// Most the queue can hold, in 48 kHz samples.
    pub fn capacity_samples(&self) -> usize {
        self.to_engine_samples(self.ring.capacity().get())
    }

    fn to_engine_samples(&self, device_samples: usize) -> usize {
        (device_samples as u64 * u64::from(SAMPLE_RATE) / u64::from(self.device.rate())) as usize
    }

    /// Blocks (sleeping, never spinning) until everything queued for the device has been
    /// played or `timeout` passes; returns whether the queue emptied. (A resampling device
    /// may still hold back under 5 ms that completes its next chunk.) For shutdown and
    /// tests, not for the engine's media loop.
    pub fn drain(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.ring.is_empty() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(DRAIN_POLL);
        }
    }

    /// Device periods in which the queue ran dry and silence was played instead.
    pub fn underruns(&self) -> u64 {
        self.device.health().xruns()
    }

    /// Device-rate samples of silence played in those periods.
    pub fn silence_samples(&self) -> u64 {
        self.device.health().xrun_samples()
    }

    pub fn device(&self) -> &OpenDevice {
        &self.device
    }

    /// Stops the device now; for a WAV output, reports whether the file was written and
    /// finalised. Audio still queued is not played. Dropping does the same but can only
    /// log a failure.
    pub fn finish(self) -> Result<(), AudioError> {
        self.device.finish()
    }
}

impl std::fmt::Debug for PlaybackStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PlaybackStream").field(&self.device).finish()
    }
}

impl PlaybackReader {
    /// Fills one device period of interleaved samples, the same mono sample on every
    /// channel. Runs on the audio thread: stack buffers, ring copies and atomics only.
    pub(crate) fn read_period<T: Copy>(
        &mut self,
        data: &mut [T],
        channels: usize,
        from_mono: impl Fn(i16) -> T,
    ) {
        let channels = channels.max(1);
        let mut mono = [0i16; MONO_CHUNK];
        let mut level = PeriodLevel::default();
        let mut missing = 0;
        let mut played = 0;
        for block in data.chunks_mut(channels * MONO_CHUNK) {
            let frames = block.len() / channels;
            let got = self.ring.pop_slice(&mut mono[..frames]);
            mono[got..frames].fill(0);
            missing += frames - got;
            played += got;
            level.add(&mono[..frames]);
            let mut out_frames = block.chunks_exact_mut(channels);
            for (frame, &m) in (&mut out_frames).zip(&mono[..frames]) {
                frame.fill(from_mono(m));
            }
            out_frames.into_remainder().fill(from_mono(0));
        }
        if missing > 0 {
            self.health.record_xrun(missing);
        }
        self.health.record_period(data.len() / channels);
        self.levels.publish_output(&level, played as u64);
    }

    pub(crate) fn read_mono(&mut self, out: &mut [i16]) {
        self.read_period(out, 1, |s| s);
    }

    pub(crate) fn levels(&self) -> &Levels {
        &self.levels
    }

    pub(crate) fn health(&self) -> &Arc<StreamHealth> {
        &self.health
    }
}
