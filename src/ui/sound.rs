//! Sounds the app plays itself, each on a speaker stream of its own (the call's audio is
//! the engine's business): the ringtone and ringback, and the settings screen's test tone
//! and microphone meter.
//!
//! Every stream lives on a small thread that owns the device and stops when its handle is
//! dropped, so the window never waits for an audio device.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use voicecall_core::call::Tone;
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_core::format::FRAME_SAMPLES;
use voicecall_engine::audio::embedded::decode_wav_48k_mono;
use voicecall_engine::audio::{
    AudioError, CaptureStream, Levels, ToneGenerator, open_input, open_output,
};

static RINGTONE_WAV: &[u8] = include_bytes!("../../assets/sounds/ringtone.wav");
static RINGBACK_WAV: &[u8] = include_bytes!("../../assets/sounds/ringback.wav");

/// How much audio the feeding thread keeps queued ahead of the speaker.
const QUEUE_AHEAD: usize = FRAME_SAMPLES * 5;
const FEED_INTERVAL: Duration = Duration::from_millis(10);

/// The decoded call-progress tones, decoded once.
fn decoded(tone: Tone) -> Result<Arc<[i16]>, String> {
    static RINGTONE: OnceLock<Result<Arc<[i16]>, String>> = OnceLock::new();
    static RINGBACK: OnceLock<Result<Arc<[i16]>, String>> = OnceLock::new();
    let (cell, bytes, name) = match tone {
        Tone::Ringtone => (&RINGTONE, RINGTONE_WAV, "ringtone.wav"),
        Tone::Ringback => (&RINGBACK, RINGBACK_WAV, "ringback.wav"),
    };
    cell.get_or_init(|| {
        decode_wav_48k_mono(bytes, name)
            .map(Arc::from)
            .map_err(|e| e.to_string())
    })
    .clone()
}

/// Where samples for a speaker stream come from.
enum Source {
    /// A sound played over and over.
    Loop {
        samples: Arc<[i16]>,
        position: usize,
    },
    /// A generated tone, for a limited time.
    Generator {
        tone: Box<ToneGenerator>,
        left: usize,
    },
}

impl Source {
    /// The next frame, or `None` when the sound is over.
    fn next_frame(&mut self) -> Option<[i16; FRAME_SAMPLES]> {
        let mut frame = [0i16; FRAME_SAMPLES];
        match self {
            Source::Loop { samples, position } => {
                if samples.is_empty() {
                    return None;
                }
                for sample in &mut frame {
                    *sample = samples[*position];
                    *position = (*position + 1) % samples.len();
                }
            }
            Source::Generator { tone, left } => {
                if *left == 0 {
                    return None;
                }
                tone.fill(&mut frame);
                *left = left.saturating_sub(FRAME_SAMPLES);
            }
        }
        Some(frame)
    }
}

/// A speaker stream on its own thread; dropping it stops the sound.
pub struct Playing {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The first message is whether the device opened.
    opened: mpsc::Receiver<Result<(), String>>,
}

impl Playing {
    fn start(spec: OutputSpec, mut source: Source) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (opened_tx, opened) = mpsc::channel();
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("voicecall-sound".into())
            .spawn(move || {
                let mut stream = match open_output(&spec) {
                    Ok(stream) => {
                        let _ = opened_tx.send(Ok(()));
                        stream
                    }
                    Err(err) => {
                        let _ = opened_tx.send(Err(err.to_string()));
                        return;
                    }
                };
                let mut pending: Option<[i16; FRAME_SAMPLES]> = None;
                while !flag.load(Ordering::Relaxed) {
                    while stream.queued_samples() < QUEUE_AHEAD {
                        let frame = match pending.take().or_else(|| source.next_frame()) {
                            Some(frame) => frame,
                            None => {
                                stream.drain(Duration::from_secs(1));
                                return;
                            }
                        };
                        let taken = stream.write(&frame);
                        if taken < frame.len() {
                            // Full after all: keep the rest for the next round.
                            let mut rest = [0i16; FRAME_SAMPLES];
                            rest[..frame.len() - taken].copy_from_slice(&frame[taken..]);
                            pending = Some(rest);
                            break;
                        }
                    }
                    std::thread::sleep(FEED_INTERVAL);
                }
            });
        let thread = match thread {
            Ok(thread) => Some(thread),
            Err(err) => {
                // The receiver learns about it: the sender went away with the closure.
                tracing::warn!(%err, "cannot start a sound thread");
                None
            }
        };
        Self {
            stop,
            thread,
            opened,
        }
    }

    /// `Some` once the device opened or failed (asked again: `None`).
    pub fn opened(&self) -> Option<Result<(), String>> {
        match self.opened.try_recv() {
            Ok(result) => Some(result),
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => None,
        }
    }

    /// Waits up to `limit` for the device to open.
    #[cfg(test)]
    pub fn wait_opened(&self, limit: Duration) -> Option<Result<(), String>> {
        self.opened.recv_timeout(limit).ok()
    }

    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }
}

impl Drop for Playing {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Not joined: a device that hangs on close must not hang the window.
        drop(self.thread.take());
    }
}

/// Plays the ringtone and ringback the engine asks for.
pub struct TonePlayer {
    enabled: bool,
    output: OutputSpec,
    current: Option<(Tone, Playing)>,
    logged_missing_speaker: bool,
}

impl TonePlayer {
    /// `enabled = false` keeps the player silent (unit tests).
    pub fn new(enabled: bool, output: OutputSpec) -> Self {
        Self {
            enabled,
            output,
            current: None,
            logged_missing_speaker: false,
        }
    }

    pub fn set_output(&mut self, output: OutputSpec) {
        self.output = output;
        self.current = None;
    }

    pub fn current(&self) -> Option<Tone> {
        self.current.as_ref().map(|(tone, _)| *tone)
    }

    /// Starts `tone` (or stops any with `None`). A missing speaker is logged once; the
    /// window shows the call's state either way.
    pub fn play(&mut self, tone: Option<Tone>) {
        if self.current() == tone {
            return;
        }
        self.current = None;
        let Some(tone) = tone else { return };
        if !self.enabled {
            return;
        }
        if self.output.is_headless() {
            // A WAV output records the call; tones must not write into (or over) it.
            tracing::debug!(?tone, "not playing a tone into a headless output");
            return;
        }
        let samples = match decoded(tone) {
            Ok(samples) => samples,
            Err(err) => {
                tracing::warn!(%err, "cannot decode the built-in {tone:?}");
                return;
            }
        };
        let playing = Playing::start(
            self.output.clone(),
            Source::Loop {
                samples,
                position: 0,
            },
        );
        self.current = Some((tone, playing));
    }

    /// Checks whether the speaker opened; logs once if it did not.
    pub fn poll(&mut self) {
        let Some((_, playing)) = &self.current else {
            return;
        };
        if let Some(Err(err)) = playing.opened()
            && !self.logged_missing_speaker
        {
            self.logged_missing_speaker = true;
            tracing::warn!(%err, "no speaker for the ringtone; showing the call visually only");
        }
    }
}

/// The settings screen's "play a test tone".
pub fn speaker_test(output: OutputSpec) -> Playing {
    Playing::start(
        output,
        Source::Generator {
            tone: Box::new(ToneGenerator::speaker_test()),
            left: 48_000 * 3 / 2,
        },
    )
}

/// How long the microphone may take to open before the test gives up on it.
const MIC_OPEN_LIMIT: Duration = Duration::from_secs(2);

/// The settings screen's microphone meter: a capture stream opened and drained on its own
/// thread, so the window never waits for the device (some take seconds, or never answer).
pub struct MicTest {
    opened: mpsc::Receiver<Result<Arc<Levels>, String>>,
    levels: Option<Arc<Levels>>,
    /// When the device must have answered by; set at the first `poll`.
    deadline: Option<Instant>,
    stop: Arc<AtomicBool>,
}

impl MicTest {
    /// Starts opening the microphone; `poll` says when it has.
    pub fn start(input: InputSpec) -> Self {
        Self::start_with(move || open_input(&input))
    }

    /// Starts with `open` as the way to the device.
    pub fn start_with(
        open: impl FnOnce() -> Result<CaptureStream, AudioError> + Send + 'static,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let (tx, opened) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("voicecall-mic-test".into())
            .spawn({
                let tx = tx.clone();
                move || {
                    let mut capture = match open() {
                        Ok(capture) => {
                            let _ = tx.send(Ok(Arc::clone(capture.device().levels())));
                            capture
                        }
                        Err(err) => {
                            let _ = tx.send(Err(err.to_string()));
                            return;
                        }
                    };
                    let mut frame = [0i16; FRAME_SAMPLES];
                    while !flag.load(Ordering::Relaxed) {
                        while capture.read_frame(&mut frame) {}
                        std::thread::sleep(FEED_INTERVAL);
                    }
                }
            });
        if let Err(err) = spawned {
            let _ = tx.send(Err(format!("cannot start the microphone test: {err}")));
        }
        Self {
            opened,
            levels: None,
            deadline: None,
            stop,
        }
    }

    /// `Some` once the microphone opened (`Ok`) or failed or did not answer in time
    /// (`Err`, once); `None` while it is still opening or after it has opened.
    pub fn poll(&mut self, now: Instant) -> Option<Result<(), String>> {
        if self.levels.is_some() {
            return None;
        }
        let deadline = *self.deadline.get_or_insert(now + MIC_OPEN_LIMIT);
        match self.opened.try_recv() {
            Ok(Ok(levels)) => {
                self.levels = Some(levels);
                Some(Ok(()))
            }
            Ok(Err(err)) => Some(Err(err)),
            Err(mpsc::TryRecvError::Empty) if now < deadline => None,
            Err(mpsc::TryRecvError::Empty) => {
                self.stop.store(true, Ordering::Relaxed);
                Some(Err(format!(
                    "the microphone did not answer within {} s",
                    MIC_OPEN_LIMIT.as_secs()
                )))
            }
            Err(mpsc::TryRecvError::Disconnected) => {
                Some(Err("the microphone test stopped".into()))
            }
        }
    }

    /// The microphone's recent level in dBFS (the floor until it has opened).
    pub fn level_dbfs(&self) -> f32 {
        self.levels
            .as_ref()
            .map_or(-96.0, |levels| levels.input().rms_dbfs())
    }
}

impl Drop for MicTest {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for MicTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicTest").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_tones_decode_to_a_few_seconds_of_sound() {
        for tone in [Tone::Ringtone, Tone::Ringback] {
            let samples = decoded(tone).expect("embedded tone decodes");
            let seconds = samples.len() as f32 / 48_000.0;
            assert!((2.0..6.0).contains(&seconds), "{tone:?}: {seconds} s");
            let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
            assert!(peak > 3000, "{tone:?} is audible: peak {peak}");
        }
    }

    #[test]
    fn tones_are_played_into_a_discard_stream_and_stopped() {
        // `discard` is headless: the player refuses it, which is the WAV-safety rule.
        let mut player = TonePlayer::new(true, OutputSpec::Discard);
        player.play(Some(Tone::Ringtone));
        assert_eq!(player.current(), None);
        // Directly on a stream: the loop source feeds frames until stopped.
        let samples = decoded(Tone::Ringback).expect("decode");
        let playing = Playing::start(
            OutputSpec::Discard,
            Source::Loop {
                samples,
                position: 0,
            },
        );
        assert_eq!(playing.wait_opened(Duration::from_secs(2)), Some(Ok(())));
        assert!(!playing.is_finished());
        drop(playing);
    }

    /// Polls as the window's ticks would, until the test says how opening went.
    fn opening(mic: &mut MicTest, start: Instant) -> Result<(), String> {
        let mut now = start;
        loop {
            if let Some(result) = mic.poll(now) {
                return result;
            }
            std::thread::sleep(Duration::from_millis(5));
            now += Duration::from_millis(5);
        }
    }

    #[test]
    fn a_missing_microphone_file_is_a_readable_error() {
        let mut mic = MicTest::start(InputSpec::Wav {
            path: "/nonexistent/mic.wav".into(),
            repeat: false,
        });
        let err = opening(&mut mic, Instant::now()).expect_err("no such file");
        assert!(err.contains("/nonexistent/mic.wav"), "{err}");
    }

    #[test]
    fn a_slow_microphone_never_holds_up_the_window() {
        let (release, released) = mpsc::channel::<()>();
        // A device that answers only when the test lets it.
        let mut mic = MicTest::start_with(move || {
            let _ = released.recv();
            open_input(&InputSpec::Silence)
        });
        // `start` returned while the device was still opening.
        let t0 = Instant::now();
        assert_eq!(mic.poll(t0), None);
        assert_eq!(mic.poll(t0 + Duration::from_secs(1)), None);
        release.send(()).expect("the opener waits");
        assert_eq!(opening(&mut mic, t0 + Duration::from_secs(1)), Ok(()));
        assert_eq!(mic.level_dbfs(), -96.0, "silence");
    }

    #[test]
    fn a_microphone_that_never_answers_is_given_up_on() {
        let (_keep, never) = mpsc::channel::<()>();
        let mut mic = MicTest::start_with(move || {
            let _ = never.recv();
            open_input(&InputSpec::Silence)
        });
        let t0 = Instant::now();
        assert_eq!(mic.poll(t0), None);
        let err = mic
            .poll(t0 + MIC_OPEN_LIMIT)
            .expect("an answer at the limit")
            .expect_err("given up");
        assert!(err.contains("did not answer"), "{err}");
    }
}
