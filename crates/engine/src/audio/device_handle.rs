//! What keeps a device running: a cpal stream, or a thread standing in for one.
//! Dropping the handle stops the device; `finish` also reports how the stop went.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use super::error::AudioError;

pub(crate) enum DeviceHandle {
    /// cpal stops calling back once its stream is dropped.
    Cpal(cpal::Stream),
    Thread(DeviceThread),
}

impl DeviceHandle {
    pub(crate) fn finish(self) -> Result<(), AudioError> {
        match self {
            DeviceHandle::Cpal(stream) => {
                drop(stream);
                Ok(())
            }
            DeviceHandle::Thread(thread) => thread.finish(),
        }
    }
}

/// A device thread that runs until asked to stop, then returns how its shutdown went
/// (for the WAV output: whether the file was finalised).
pub(crate) struct DeviceThread {
    name: &'static str,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Result<(), AudioError>>>,
}

impl DeviceThread {
    pub(crate) fn spawn(
        name: &'static str,
        body: impl FnOnce(&AtomicBool) -> Result<(), AudioError> + Send + 'static,
    ) -> Result<Self, AudioError> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_seen_by_thread = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                // A stand-in paces audio as a sound card's callback thread would.
                super::priority::raise_current_thread();
                body(&stop_seen_by_thread)
            })
            .map_err(|source| AudioError::Thread { name, source })?;
        Ok(Self {
            name,
            stop,
            handle: Some(handle),
        })
    }

    pub(crate) fn finish(mut self) -> Result<(), AudioError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), AudioError> {
        self.stop.store(true, Ordering::Release);
        match self.handle.take() {
            Some(handle) => handle
                .join()
                .unwrap_or(Err(AudioError::ThreadPanicked { name: self.name })),
            None => Ok(()),
        }
    }
}

impl Drop for DeviceThread {
    fn drop(&mut self) {
        if let Err(error) = self.stop_and_join() {
            tracing::error!(%error, "audio device did not shut down cleanly");
        }
    }
}

pub(crate) fn should_stop(stop: &AtomicBool) -> bool {
    stop.load(Ordering::Acquire)
}
