//! What the engine keeps of a device it opened, whichever way the audio flows.

use std::sync::Arc;
use std::time::Duration;

use super::device_handle::DeviceHandle;
use super::error::AudioError;
use super::health::StreamHealth;
use super::levels::Levels;
use voicecall_core::pump_schedule::DeviceTiming;

/// A running device: its name and rate, and the fault counters and levels its audio
/// thread publishes. Dropping it stops the device.
pub struct OpenDevice {
    handle: DeviceHandle,
    name: String,
    rate: u32,
    health: Arc<StreamHealth>,
    levels: Arc<Levels>,
}

impl OpenDevice {
    /// Gives the audio thread's end (made by `thread_end` from the counters it will share
    /// with this one) to `start`, which opens the device around it.
    pub(crate) fn start<End>(
        rate: u32,
        levels: Arc<Levels>,
        thread_end: impl FnOnce(Arc<StreamHealth>, Arc<Levels>) -> End,
        start: impl FnOnce(End) -> Result<(DeviceHandle, String), AudioError>,
    ) -> Result<Self, AudioError> {
        let health = Arc::new(StreamHealth::default());
        let (handle, name) = start(thread_end(Arc::clone(&health), Arc::clone(&levels)))?;
        Ok(Self {
            handle,
            name,
            rate,
            health,
            levels,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The rate the hardware runs at; the engine's side of the ring converts to 48 kHz.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    pub fn levels(&self) -> &Arc<Levels> {
        &self.levels
    }

    /// Errors the device reported while running.
    pub fn errors(&self) -> u64 {
        self.health.device_errors()
    }

    /// True once the device reported it is gone (unplugged, invalidated); reopen it.
    pub fn is_lost(&self) -> bool {
        self.health.device_lost()
    }

    pub(crate) fn health(&self) -> &StreamHealth {
        &self.health
    }

    /// Stops the device now and reports any problem doing so (for a WAV output: whether
    /// the file was written and finalised).
    pub(crate) fn finish(self) -> Result<(), AudioError> {
        self.handle.finish()
    }
}

/// A device's last callback and its period (the largest it has run), once it has run.
pub(crate) fn device_timing(device: &OpenDevice) -> Option<DeviceTiming> {
    let frames = device.health.largest_period();
    let last = device.health.last_period_at()?;
    if frames == 0 || device.rate == 0 {
        return None;
    }
    let period = Duration::from_nanos(frames * 1_000_000_000 / u64::from(device.rate));
    Some(DeviceTiming { last, period })
}

impl std::fmt::Debug for OpenDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenDevice")
            .field("name", &self.name)
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}
