//! Glitch and fault counters written by the audio thread and read by the engine.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct StreamHealth {
    /// Periods in which the ring could not take (capture) or supply (playback) everything.
    xruns: AtomicU64,
    /// Samples lost (capture) or replaced by silence (playback) in those periods.
    xrun_samples: AtomicU64,
    device_errors: AtomicU64,
    device_lost: AtomicBool,
    /// The most frames one callback has asked for (playback) or handed over (capture).
    largest_period: AtomicU64,
    /// When the last callback ran, in nanoseconds after `epoch` plus one (0: never), so the
    /// engine can wake just before (playback) or after (capture) the next one.
    last_period: AtomicU64,
    epoch: Instant,
}

impl Default for StreamHealth {
    fn default() -> Self {
        Self {
            xruns: AtomicU64::new(0),
            xrun_samples: AtomicU64::new(0),
            device_errors: AtomicU64::new(0),
            device_lost: AtomicBool::new(false),
            largest_period: AtomicU64::new(0),
            last_period: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }
}

impl StreamHealth {
    pub(crate) fn record_xrun(&self, samples: usize) {
        self.xruns.fetch_add(1, Ordering::Relaxed);
        self.xrun_samples
            .fetch_add(samples as u64, Ordering::Relaxed);
    }

    /// Called from cpal's error callback, which may run on the audio thread: so no logging
    /// here, the owner of the stream reports it.
    pub(crate) fn record_device_error(&self, error: &cpal::Error) {
        self.record_fault(matches!(
            error.kind(),
            cpal::ErrorKind::DeviceNotAvailable | cpal::ErrorKind::StreamInvalidated
        ));
    }

    /// `lost`: the device will not recover by itself and must be reopened.
    pub(crate) fn record_fault(&self, lost: bool) {
        self.device_errors.fetch_add(1, Ordering::Relaxed);
        if lost {
            self.device_lost.store(true, Ordering::Relaxed);
        }
    }

    /// Reading the monotonic clock is a vDSO call: no lock, no allocation.
    pub(crate) fn record_period(&self, frames: usize) {
        self.largest_period
            .fetch_max(frames as u64, Ordering::Relaxed);
        let since = self.epoch.elapsed().as_nanos();
        self.last_period.store(
            u64::try_from(since).unwrap_or(u64::MAX - 1) + 1,
            Ordering::Relaxed,
        );
    }

    /// When the last callback ran; `None` before the first.
    pub(crate) fn last_period_at(&self) -> Option<Instant> {
        match self.last_period.load(Ordering::Relaxed) {
            0 => None,
            n => Some(self.epoch + Duration::from_nanos(n - 1)),
        }
    }

    /// Frames of the largest period so far; 0 before the first.
    pub(crate) fn largest_period(&self) -> u64 {
        self.largest_period.load(Ordering::Relaxed)
    }

    pub(crate) fn xruns(&self) -> u64 {
        self.xruns.load(Ordering::Relaxed)
    }

    pub(crate) fn xrun_samples(&self) -> u64 {
        self.xrun_samples.load(Ordering::Relaxed)
    }

    pub(crate) fn device_errors(&self) -> u64 {
        self.device_errors.load(Ordering::Relaxed)
    }

    pub(crate) fn device_lost(&self) -> bool {
        self.device_lost.load(Ordering::Relaxed)
    }
}
