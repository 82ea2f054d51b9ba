//! WAV files (and silence) as stand-ins for sound cards, for headless runs and tests.
//!
//! Each is a thread that behaves like a device's callback: every 10 ms of wall-clock time
//! it moves one period of samples between its file buffer and the ring, never blocking on
//! the engine. Deadlines are absolute (start + n periods) so timing error never adds up,
//! and a late wake-up is caught up at once as a real device would.
//!
//! Per-period work follows the audio-thread rules: no locks, no allocation, no logging.
//! Buffers are allocated before the loop; file errors are held and reported at shutdown.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::{Duration, Instant};

use super::capture::{CaptureStream, CaptureWriter};
use super::device_handle::{DeviceHandle, DeviceThread, should_stop};
use super::error::AudioError;
use super::health::StreamHealth;
use super::levels::Levels;
use super::playback::{PlaybackReader, PlaybackStream};
use super::wav_file::load_wav_mono_at;

const PERIODS_PER_SECOND: u64 = 100;
/// How often a recording's header is rewritten with the sizes so far.
const CHECKPOINT_PERIODS: u64 = PERIODS_PER_SECOND;
const PERIOD_NANOS: u64 = 1_000_000_000 / PERIODS_PER_SECOND;
/// Small, so a reader that falls behind loses old audio instead of building up delay.
const CAPTURE_RING: Duration = Duration::from_millis(100);
/// Room for the engine's target fill plus a burst of late packets.
const PLAYBACK_RING: Duration = Duration::from_millis(200);

const INPUT_THREAD: &str = "voicecall-wav-in";
const OUTPUT_THREAD: &str = "voicecall-wav-out";

type WavFileWriter = hound::WavWriter<BufWriter<File>>;

pub(crate) fn ring_samples(length: Duration, rate: u32) -> usize {
    (length.as_secs_f64() * f64::from(rate)).ceil() as usize
}

static PERIOD_PROBE: OnceLock<fn(bool)> = OnceLock::new();

/// Test instrumentation: `probe(true)` is called on the device thread just before each
/// period's work and `probe(false)` just after, so a test's allocator can watch exactly
/// that code. Takes effect for devices opened afterwards; can be set once per process.
#[doc(hidden)]
pub fn set_period_probe(probe: fn(bool)) -> bool {
    PERIOD_PROBE.set(probe).is_ok()
}

/// How a stand-in device runs: paced by the wall clock like hardware (or by a test's
/// steps), and unplugged when a test says so.
pub(crate) struct StandIn {
    pub(crate) pace: Pace,
    /// Once set, the device behaves as an unplugged one: it reports itself lost and
    /// stops exchanging audio.
    pub(crate) unplugged: Option<Arc<AtomicBool>>,
}

impl StandIn {
    pub(crate) fn real_time() -> Self {
        Self {
            pace: Pace::wall_clock(),
            unplugged: None,
        }
    }
}

/// What paces a stand-in device's periods.
pub(crate) enum Pace {
    /// Time, like hardware: the wall clock ([`Pace::wall_clock`]) or a test's, which moves
    /// only when the test says so.
    RealTime(Arc<dyn Timer>),
    /// One period per step a test grants (`audio::testing::DeviceControl`), nothing in
    /// between: a test sees exactly the periods it asked for, however loaded the machine.
    Stepped {
        steps: mpsc::Receiver<u32>,
        done: mpsc::Sender<()>,
    },
}

impl Pace {
    pub(crate) fn wall_clock() -> Self {
        Self::RealTime(Arc::new(WallClock))
    }
}

/// Where a real-time stand-in reads the time and waits for its next period.
pub(crate) trait Timer: Send + Sync {
    fn now(&self) -> Instant;
    /// Returns once `deadline` has passed (at once if it has already), or earlier when
    /// `stop` is set.
    fn sleep_until(&self, deadline: Instant, stop: &AtomicBool);
}

/// The machine's monotonic clock. A wait is at most one period, so `stop` is seen soon
/// enough without polling it.
struct WallClock;

impl Timer for WallClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&self, deadline: Instant, _stop: &AtomicBool) {
        if let Some(wait) = deadline.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}

/// Plays `path` into a capture ring as if a microphone at `device_rate` were hearing it.
pub(crate) fn open_wav_input(
    path: &Path,
    repeat: bool,
    device_rate: u32,
    levels: Arc<Levels>,
) -> Result<CaptureStream, AudioError> {
    let samples = load_wav_mono_at(path, device_rate)?;
    let name = format!("WAV file {}", path.display());
    open_source(
        name,
        samples,
        repeat,
        device_rate,
        levels,
        StandIn::real_time(),
    )
}

pub(crate) fn open_silence(
    device_rate: u32,
    levels: Arc<Levels>,
) -> Result<CaptureStream, AudioError> {
    open_source(
        "silence".to_owned(),
        Vec::new(),
        false,
        device_rate,
        levels,
        StandIn::real_time(),
    )
}

/// Records what a speaker at `device_rate` would play into a 16-bit mono WAV file.
pub(crate) fn open_wav_output(
    path: &Path,
    device_rate: u32,
    levels: Arc<Levels>,
) -> Result<PlaybackStream, AudioError> {
    open_wav_output_with(path, device_rate, levels, StandIn::real_time())
}

pub(crate) fn open_wav_output_with(
    path: &Path,
    device_rate: u32,
    levels: Arc<Levels>,
    stand_in: StandIn,
) -> Result<PlaybackStream, AudioError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: device_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let writer = hound::WavWriter::create(path, spec).map_err(|source| AudioError::WavCreate {
        path: path.to_path_buf(),
        source,
    })?;
    let name = format!("WAV file {}", path.display());
    open_sink(
        name,
        Some((writer, path.to_path_buf())),
        device_rate,
        levels,
        stand_in,
    )
}

/// Consumes audio at real-time pace and throws it away.
pub(crate) fn open_discard(
    device_rate: u32,
    levels: Arc<Levels>,
) -> Result<PlaybackStream, AudioError> {
    open_sink(
        "discard".to_owned(),
        None,
        device_rate,
        levels,
        StandIn::real_time(),
    )
}

pub(crate) fn open_source(
    name: String,
    samples: Vec<i16>,
    repeat: bool,
    device_rate: u32,
    levels: Arc<Levels>,
    stand_in: StandIn,
) -> Result<CaptureStream, AudioError> {
    let capacity = ring_samples(CAPTURE_RING, device_rate);
    CaptureStream::build(device_rate, capacity, levels, move |writer| {
        let thread = DeviceThread::spawn(INPUT_THREAD, move |stop| {
            run_source(stop, writer, &samples, repeat, device_rate, stand_in);
            Ok(())
        })?;
        Ok((DeviceHandle::Thread(thread), name))
    })
}

pub(crate) fn open_sink(
    name: String,
    file: Option<(WavFileWriter, PathBuf)>,
    device_rate: u32,
    levels: Arc<Levels>,
    stand_in: StandIn,
) -> Result<PlaybackStream, AudioError> {
    let capacity = ring_samples(PLAYBACK_RING, device_rate);
    PlaybackStream::build(device_rate, capacity, levels, move |reader| {
        let thread = DeviceThread::spawn(OUTPUT_THREAD, move |stop| {
            run_sink(stop, reader, file, device_rate, stand_in)
        })?;
        Ok((DeviceHandle::Thread(thread), name))
    })
}

fn run_source(
    stop: &AtomicBool,
    mut writer: CaptureWriter,
    source: &[i16],
    repeat: bool,
    rate: u32,
    stand_in: StandIn,
) {
    let clock = PeriodClock::new(rate, stand_in.pace);
    writer.levels().start_capture_clock(clock.start);
    let health = Arc::clone(writer.health());
    let mut position = 0;
    run_periods(stop, clock, &health, stand_in.unplugged, |out| {
        fill_from_source(source, &mut position, repeat, out);
        writer.write_mono(out);
    });
}

/// Calls `period` with each device period's buffer until told to stop, bracketed by the
/// test probe. An unplugged device reports itself lost once and does nothing more.
fn run_periods(
    stop: &AtomicBool,
    mut clock: PeriodClock,
    health: &StreamHealth,
    unplugged: Option<Arc<AtomicBool>>,
    mut period: impl FnMut(&mut [i16]),
) {
    let probe = PERIOD_PROBE.get().copied();
    let mut buffer = vec![0i16; clock.max_period_samples()];
    let mut lost = false;
    while let Some(n) = clock.wait_for_next_period(stop) {
        if !lost
            && unplugged
                .as_ref()
                .is_some_and(|u| u.load(Ordering::Relaxed))
        {
            lost = true;
            health.record_fault(true);
        }
        if !lost {
            if let Some(probe) = probe {
                probe(true);
            }
            period(&mut buffer[..n]);
            if let Some(probe) = probe {
                probe(false);
            }
        }
        clock.period_done();
    }
}

/// Copies the next samples of `source`; past its end, loops or pads with silence.
fn fill_from_source(source: &[i16], position: &mut usize, repeat: bool, out: &mut [i16]) {
    let mut filled = 0;
    while filled < out.len() {
        if *position >= source.len() {
            if repeat && !source.is_empty() {
                *position = 0;
            } else {
                out[filled..].fill(0);
                return;
            }
        }
        let take = (out.len() - filled).min(source.len() - *position);
        out[filled..filled + take].copy_from_slice(&source[*position..*position + take]);
        filled += take;
        *position += take;
    }
}

fn run_sink(
    stop: &AtomicBool,
    mut reader: PlaybackReader,
    mut file: Option<(WavFileWriter, PathBuf)>,
    rate: u32,
    stand_in: StandIn,
) -> Result<(), AudioError> {
    let clock = PeriodClock::new(rate, stand_in.pace);
    reader.levels().start_playback_clock(clock.start);
    let health = Arc::clone(reader.health());
    let mut write_error = None;
    let mut periods = 0u64;
    run_periods(stop, clock, &health, stand_in.unplugged, |out| {
        reader.read_mono(out);
        periods += 1;
        if let Some((writer, _)) = file.as_mut()
            && write_error.is_none()
        {
            // BufWriter makes this a memcpy except for one write(2) every 8 KiB.
            let mut result = out.iter().try_for_each(|&s| writer.write_sample(s));
            // The header's sizes, brought up to date once a second: a process killed
            // without warning still leaves a file that plays up to the last second.
            if result.is_ok() && periods.is_multiple_of(CHECKPOINT_PERIODS) {
                result = writer.flush();
            }
            if let Err(error) = result {
                write_error = Some(error);
                reader.health().record_fault(true);
            }
        }
    });
    let Some((writer, path)) = file else {
        return Ok(());
    };
    let finalized = writer.finalize();
    match write_error.map_or(finalized, Err) {
        Ok(()) => Ok(()),
        Err(source) => Err(AudioError::WavWrite { path, source }),
    }
}

/// Period timing: wall-clock with absolute deadlines, or a test's steps.
struct PeriodClock {
    start: Instant,
    rate: u64,
    periods: u64,
    pace: Pace,
    /// Steps granted and not yet run.
    granted: u32,
}

/// How often a stepped device that waits for a step looks at its stop flag.
const STEP_POLL: Duration = Duration::from_millis(5);

impl PeriodClock {
    fn new(rate: u32, pace: Pace) -> Self {
        let start = match &pace {
            Pace::RealTime(timer) => timer.now(),
            Pace::Stepped { .. } => Instant::now(),
        };
        Self {
            start,
            rate: u64::from(rate),
            periods: 0,
            pace,
            granted: 0,
        }
    }

    /// Rates that are not a multiple of 100 Hz get periods one sample apart.
    fn max_period_samples(&self) -> usize {
        self.rate.div_ceil(PERIODS_PER_SECOND) as usize
    }

    /// Waits until the end of the next period and returns how many samples it spans;
    /// counting from the start keeps the long-run rate exact. `None`: stop.
    fn wait_for_next_period(&mut self, stop: &AtomicBool) -> Option<usize> {
        if should_stop(stop) {
            return None;
        }
        match &self.pace {
            Pace::RealTime(timer) => {
                let deadline = self.start + Duration::from_nanos(PERIOD_NANOS * (self.periods + 1));
                timer.sleep_until(deadline, stop);
                if should_stop(stop) {
                    return None;
                }
            }
            Pace::Stepped { steps, done } => {
                while self.granted == 0 {
                    match steps.recv_timeout(STEP_POLL) {
                        Ok(0) => {
                            let _ = done.send(());
                        }
                        Ok(n) => self.granted = n,
                        Err(mpsc::RecvTimeoutError::Timeout) if !should_stop(stop) => {}
                        Err(_) => return None,
                    }
                }
            }
        }
        let samples_before = self.periods * self.rate / PERIODS_PER_SECOND;
        self.periods += 1;
        let samples_after = self.periods * self.rate / PERIODS_PER_SECOND;
        Some((samples_after - samples_before) as usize)
    }

    /// The period's work is done: a stepped device says so after the last granted one.
    fn period_done(&mut self) {
        if let Pace::Stepped { done, .. } = &self.pace {
            self.granted -= 1;
            if self.granted == 0 {
                let _ = done.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_loops_or_pads_with_silence() {
        let source = [1, 2, 3];
        let mut out = [9i16; 7];
        let mut position = 0;
        fill_from_source(&source, &mut position, true, &mut out);
        assert_eq!(out, [1, 2, 3, 1, 2, 3, 1]);

        let mut position = 1;
        fill_from_source(&source, &mut position, false, &mut out);
        assert_eq!(out, [2, 3, 0, 0, 0, 0, 0]);

        let mut position = 0;
        fill_from_source(&[], &mut position, true, &mut out);
        assert_eq!(
            out, [0; 7],
            "an empty looping source is silence, not a hang"
        );
    }

    #[test]
    fn clock_periods_add_up_to_the_rate() {
        let mut clock = PeriodClock::new(11_025, Pace::wall_clock());
        // Skip the sleeping by starting the clock a second in the past.
        clock.start -= Duration::from_secs(2);
        let running = AtomicBool::new(false);
        let total: usize = (0..100)
            .map(|_| clock.wait_for_next_period(&running).expect("running"))
            .sum();
        assert_eq!(total, 11_025);
        assert_eq!(clock.max_period_samples(), 111);
    }
}
