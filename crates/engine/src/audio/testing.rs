//! Hooks for tests outside this module (integration tests, the engine's own tests):
//! WAV devices that pretend to run at another rate, so the resampling paths can be
//! exercised without a sound card; devices whose periods a test steps one by one, so
//! what a device did is exact rather than a matter of how long a test slept; devices a
//! test can unplug mid-call; and a probe around the device threads' per-period work.
//! Not part of the supported API.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use super::capture::CaptureStream;
use super::error::AudioError;
use super::levels::Levels;
use super::playback::PlaybackStream;
use super::wav_device::{self, Pace, StandIn};
use voicecall_core::format::SAMPLE_RATE;

pub use super::wav_device::set_period_probe;

/// A WAV input whose "hardware" runs at `device_rate`, so `read_frame` has to resample.
pub fn open_wav_input_at_rate(
    path: &Path,
    repeat: bool,
    device_rate: u32,
) -> Result<CaptureStream, AudioError> {
    wav_device::open_wav_input(path, repeat, device_rate, Arc::new(Levels::new()))
}

/// A WAV output whose "hardware" runs at `device_rate`; the file is written at that rate.
pub fn open_wav_output_at_rate(
    path: &Path,
    device_rate: u32,
) -> Result<PlaybackStream, AudioError> {
    wav_device::open_wav_output(path, device_rate, Arc::new(Levels::new()))
}

/// The plug of a stand-in device.
#[derive(Debug, Clone, Default)]
pub struct Plug(Arc<AtomicBool>);

impl Plug {
    /// The device goes away as an unplugged headset does: it reports itself lost (as cpal's
    /// `DeviceNotAvailable` does) and exchanges no more audio.
    pub fn pull(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs a stepped device's periods (10 ms of audio each) when the test says so.
pub struct DeviceControl {
    steps: mpsc::Sender<u32>,
    done: mpsc::Receiver<()>,
    plug: Plug,
}

/// A step that has not finished by then means the device thread is stuck.
const STEP_LIMIT: Duration = Duration::from_secs(10);

impl DeviceControl {
    fn new() -> (Self, StandIn) {
        let (steps_tx, steps) = mpsc::channel();
        let (done, done_rx) = mpsc::channel();
        let plug = Plug::default();
        let stand_in = StandIn {
            pace: Pace::Stepped { steps, done },
            unplugged: Some(Arc::clone(&plug.0)),
        };
        let control = Self {
            steps: steps_tx,
            done: done_rx,
            plug,
        };
        (control, stand_in)
    }

    /// Runs `periods` device periods and returns once the device has done them.
    pub fn run_periods(&self, periods: u32) {
        if periods == 0 {
            return;
        }
        self.steps
            .send(periods)
            .expect("the device thread is running");
        self.done
            .recv_timeout(STEP_LIMIT)
            .expect("the device ran its periods");
    }

    /// Unplugs the device; it notices at its next period.
    pub fn plug(&self) -> &Plug {
        &self.plug
    }
}

/// A 48 kHz input that plays `samples` (looped if `repeat`), one period per step.
pub fn stepped_input(samples: Vec<i16>, repeat: bool) -> (CaptureStream, DeviceControl) {
    let (control, stand_in) = DeviceControl::new();
    let capture = wav_device::open_source(
        "stepped input".into(),
        samples,
        repeat,
        SAMPLE_RATE,
        Arc::new(Levels::new()),
        stand_in,
    )
    .expect("a stand-in input opens");
    (capture, control)
}

/// A 48 kHz output that plays one period per step, recording into `record` if given.
pub fn stepped_output(record: Option<&Path>) -> (PlaybackStream, DeviceControl) {
    let (control, stand_in) = DeviceControl::new();
    let levels = Arc::new(Levels::new());
    let playback = match record {
        Some(path) => wav_device::open_wav_output_with(path, SAMPLE_RATE, levels, stand_in),
        None => wav_device::open_sink("stepped output".into(), None, SAMPLE_RATE, levels, stand_in),
    }
    .expect("a stand-in output opens");
    (playback, control)
}

/// A 48 kHz input called `name`, running in real time and playing `samples` in a loop,
/// until its plug is pulled.
pub fn unpluggable_input(
    name: &str,
    samples: Vec<i16>,
    levels: Arc<Levels>,
) -> Result<(CaptureStream, Plug), AudioError> {
    let plug = Plug::default();
    let stand_in = StandIn {
        pace: Pace::wall_clock(),
        unplugged: Some(Arc::clone(&plug.0)),
    };
    let capture =
        wav_device::open_source(name.into(), samples, true, SAMPLE_RATE, levels, stand_in)?;
    Ok((capture, plug))
}

/// A 48 kHz output called `name` that discards in real time until its plug is pulled.
pub fn unpluggable_output(
    name: &str,
    levels: Arc<Levels>,
) -> Result<(PlaybackStream, Plug), AudioError> {
    let plug = Plug::default();
    let stand_in = StandIn {
        pace: Pace::wall_clock(),
        unplugged: Some(Arc::clone(&plug.0)),
    };
    let playback = wav_device::open_sink(name.into(), None, SAMPLE_RATE, levels, stand_in)?;
    Ok((playback, plug))
}
