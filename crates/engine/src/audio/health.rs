//! Glitch and fault counters written by the audio thread and read by the engine.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub(crate) struct StreamHealth {
    /// Periods in which the ring could not take (capture) or supply (playback) everything.
    xruns: AtomicU64,
    /// Samples lost (capture) or replaced by silence (playback) in those periods.
    xrun_samples: AtomicU64,
    device_errors: AtomicU64,
    device_lost: AtomicBool,
    /// The most frames one callback has asked for (playback) or handed over (capture).
    largest_period: AtomicU64,
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

    pub(crate) fn record_period(&self, frames: usize) {
        self.largest_period
            .fetch_max(frames as u64, Ordering::Relaxed);
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
