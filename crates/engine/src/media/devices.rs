//! A call's microphone or speaker going away mid-call (a headset unplugged). The pump
//! asks on every tick whether a device reported itself lost; the default device is then
//! opened off the pump's task, swapped in, and the switch reported, so the call goes on.
//! With nothing to switch to, that is reported once and the watch keeps trying.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::audio::{
    AudioBackend, AudioError, CaptureStream, Direction, Levels, OpenDevice, PlaybackStream,
};
use voicecall_core::device::{InputSpec, OutputSpec};

/// How long after a failed reopen the next try comes.
const RETRY: Duration = Duration::from_secs(1);

/// A device of the call went away, and what took its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSwitch {
    pub direction: Direction,
    /// The device that went away.
    pub lost: String,
    /// What the call uses now; `None` while no device could be opened (the call goes
    /// on, the engine keeps trying and reports again when one opens).
    pub to: Option<String>,
}

/// Replaces lost devices for the pump.
pub(super) struct DeviceWatch {
    backend: Arc<dyn AudioBackend>,
    levels: Arc<Levels>,
    input: Side<InputSpec, CaptureStream>,
    output: Side<OutputSpec, PlaybackStream>,
    reports: mpsc::UnboundedSender<DeviceSwitch>,
}

/// How to open a replacement, borrowed until one is needed.
type Opener<'a, Spec, Stream> = (
    &'a Arc<dyn AudioBackend>,
    &'a Arc<Levels>,
    fn(&dyn AudioBackend, &Spec, Arc<Levels>) -> Result<Stream, AudioError>,
);

/// One direction's replacement, if its device can be replaced at all.
struct Side<Spec, Stream> {
    replacement: Option<Spec>,
    reopening: Option<oneshot::Receiver<Result<Stream, AudioError>>>,
    /// The lost device's name, from the loss until a replacement runs.
    lost: Option<String>,
    /// A failed reopen was reported (once per loss).
    reported_missing: bool,
    retry_at: Option<Instant>,
}

impl<Spec: Clone + Send + 'static, Stream: Send + 'static> Side<Spec, Stream> {
    fn new(replacement: Option<Spec>) -> Self {
        Self {
            replacement,
            reopening: None,
            lost: None,
            reported_missing: false,
            retry_at: None,
        }
    }

    /// Checks `current`; returns a switch to report, if any.
    fn check(
        &mut self,
        direction: Direction,
        current: &mut Stream,
        device: impl Fn(&Stream) -> &OpenDevice,
        open: Opener<'_, Spec, Stream>,
        now: Instant,
    ) -> Option<DeviceSwitch> {
        let spec = self.replacement.clone()?;
        if let Some(reopening) = &mut self.reopening {
            let result = match reopening.try_recv() {
                Err(oneshot::error::TryRecvError::Empty) => return None,
                Ok(result) => result,
                Err(oneshot::error::TryRecvError::Closed) => Err(AudioError::ThreadPanicked {
                    name: "device reopen",
                }),
            };
            self.reopening = None;
            let lost = self.lost.clone().unwrap_or_default();
            return match result {
                Ok(stream) => {
                    let to = device(&stream).name().to_owned();
                    // The lost device is closed off the pump: a driver whose hardware is
                    // gone may take its time.
                    let old = std::mem::replace(current, stream);
                    tokio::task::spawn_blocking(move || drop(old));
                    self.lost = None;
                    self.reported_missing = false;
                    tracing::info!(%direction, %lost, %to, "audio device lost; switched");
                    Some(DeviceSwitch {
                        direction,
                        lost,
                        to: Some(to),
                    })
                }
                Err(err) => {
                    self.retry_at = Some(now + RETRY);
                    if std::mem::replace(&mut self.reported_missing, true) {
                        return None;
                    }
                    tracing::warn!(%direction, %lost, error = %err, "audio device lost; none to switch to");
                    Some(DeviceSwitch {
                        direction,
                        lost,
                        to: None,
                    })
                }
            };
        }
        if !device(current).is_lost() || self.retry_at.is_some_and(|at| now < at) {
            return None;
        }
        if self.lost.is_none() {
            self.lost = Some(device(current).name().to_owned());
        }
        let (tx, rx) = oneshot::channel();
        let (backend, levels, open) = (Arc::clone(open.0), Arc::clone(open.1), open.2);
        tokio::task::spawn_blocking(move || {
            // A stream nobody waits for any more (the call ended) is dropped here.
            let _ = tx.send(open(backend.as_ref(), &spec, levels));
        });
        self.reopening = Some(rx);
        None
    }
}

impl DeviceWatch {
    pub(super) fn new(
        backend: Arc<dyn AudioBackend>,
        levels: Arc<Levels>,
        input: &InputSpec,
        output: &OutputSpec,
    ) -> (Self, mpsc::UnboundedReceiver<DeviceSwitch>) {
        let (reports, switches) = mpsc::unbounded_channel();
        let watch = Self {
            backend,
            levels,
            input: Side::new(input.replacement()),
            output: Side::new(output.replacement()),
            reports,
        };
        (watch, switches)
    }

    /// Called on every pump tick: cheap unless a device is lost.
    pub(super) fn check(
        &mut self,
        capture: &mut CaptureStream,
        playback: &mut PlaybackStream,
        now: Instant,
    ) {
        let switched = self.input.check(
            Direction::Input,
            capture,
            CaptureStream::device,
            (&self.backend, &self.levels, |backend, spec, levels| {
                backend.open_input(spec, levels)
            }),
            now,
        );
        self.report(switched);
        let switched = self.output.check(
            Direction::Output,
            playback,
            PlaybackStream::device,
            (&self.backend, &self.levels, |backend, spec, levels| {
                backend.open_output(spec, levels)
            }),
            now,
        );
        self.report(switched);
    }

    fn report(&self, switch: Option<DeviceSwitch>) {
        if let Some(switch) = switch {
            let _ = self.reports.send(switch);
        }
    }
}
