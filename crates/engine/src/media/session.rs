use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use tokio::time::MissedTickBehavior;

use super::devices::{DeviceSwitch, DeviceWatch};
use super::playout_queue::{DEFAULT_PERIOD_SAMPLES, PlayoutSlack, QuietTally};
use super::processing::{CaptureProcessor, ProcessingConfig};
use super::send::{ProtectionMode, SendConfig, SendPath};
use super::summary::MediaCounters;
use super::testing::{FrameStep, StepGuard};
use super::wake::wake;
use crate::audio::{
    self, AudioBackend, AudioError, CaptureStream, Levels, PlaybackStream, SystemAudio,
};
use crate::codec::{CodecError, EncoderSettings};
use crate::jitter::{FrameSource, JitterConfig, NaiveReceivePath, ReceivePath};
use crate::rtc::{AudioTrackWriter, RemoteRtp};
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_core::format::{FRAME_SAMPLES, MAX_DECODED_SAMPLES, SAMPLE_RATE};
use voicecall_core::protection::{PeerReport, PolicyConfig, ProtectionPolicy};
use voicecall_core::pump_schedule::{Fill, PumpSchedule};
use voicecall_core::quality::MediaSummary;

/// How often the pipeline looks for captured frames and playout room. Short enough that
/// neither side waits noticeably; the work per wake-up is a few hundred microseconds.
const PUMP_INTERVAL: Duration = Duration::from_millis(5);

/// When the audio pump wakes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PumpTiming {
    /// Just after the microphone's callbacks and just before the speaker's
    /// (`voicecall_core::pump_schedule`): a finished frame leaves at once, and decoded audio
    /// waits a margin in the playout queue instead of a tick plus a period of slack.
    #[default]
    DeviceAligned,
    /// Comparison baseline: `DeviceAligned` with the speaker's next callback due one period
    /// after its last, however late that one ran (`PumpSchedule::from_last_callback`).
    DeviceAlignedToLastCallback,
    /// Comparison baseline: `DeviceAligned` with the margin widened by its step alone after
    /// a dry period (`PumpSchedule::with_step_margin`).
    DeviceAlignedStepMargin,
    /// Benchmark baseline: a fixed 5 ms tick, the playout queue kept above one device period
    /// plus a tick of slack.
    Ticks,
}

/// How received audio becomes sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReceiveMode {
    /// Adaptive jitter buffer, RED recovery, in-band FEC, concealment, comfort noise.
    #[default]
    Adaptive,
    /// Benchmark baseline: decode whatever arrives, in arrival order, and nothing else.
    Naive,
}

#[derive(Debug, Clone)]
pub struct MediaConfig {
    pub input: InputSpec,
    pub output: OutputSpec,
    pub encoder: EncoderSettings,
    pub jitter: JitterConfig,
    pub receive_mode: ReceiveMode,
    /// The adaptive receive path adjusts its delay by time-stretching decoded speech;
    /// off, it skips and holds whole frames (a benchmark comparison).
    pub time_stretch: bool,
    /// RED, FEC and bitrate from the peer's reports, or fixed (benchmark baselines).
    pub protection: ProtectionMode,
    pub processing: ProcessingConfig,
    /// Frames after speech before Opus may use DTX again (`SendConfig`).
    pub dtx_hangover_frames: u16,
    /// DTX (when `encoder.dtx`) even to a peer whose fmtp did not ask for it, as before
    /// RFC 7587's `usedtx` was followed: the comparison baseline. False: only when asked.
    pub dtx_whatever_the_peer_asks: bool,
    /// Opus complexity by bitrate and silence (`SendConfig`).
    pub adaptive_complexity: bool,
    /// The cap on speech's complexity at high bitrates (`SendConfig`).
    pub high_rate_complexity: u8,
    /// When the pump wakes: by the devices' callbacks, or a fixed tick (benchmarks).
    pub pump_timing: PumpTiming,
    /// Where the devices come from (tests put unpluggable stand-ins here).
    pub audio: Arc<dyn AudioBackend>,
}

impl Default for MediaConfig {
    fn default() -> Self {
        let send = SendConfig::default();
        Self {
            input: InputSpec::default(),
            output: OutputSpec::default(),
            encoder: send.encoder,
            jitter: JitterConfig::default(),
            receive_mode: ReceiveMode::default(),
            time_stretch: true,
            protection: send.protection,
            processing: ProcessingConfig::default(),
            dtx_hangover_frames: send.dtx_hangover_frames,
            dtx_whatever_the_peer_asks: false,
            adaptive_complexity: send.adaptive_complexity,
            high_rate_complexity: send.high_rate_complexity,
            pump_timing: PumpTiming::default(),
            audio: Arc::new(SystemAudio),
        }
    }
}

impl MediaConfig {
    pub fn send_config(&self) -> SendConfig {
        SendConfig {
            encoder: self.encoder.clone(),
            protection: self.protection,
            dtx_hangover_frames: self.dtx_hangover_frames,
            adaptive_complexity: self.adaptive_complexity,
            high_rate_complexity: self.high_rate_complexity,
        }
    }
}

/// The receive side, as chosen by `ReceiveMode`.
enum Receiver {
    // Boxed once per call: the jitter ring is kilobytes, the naive path a few words.
    Adaptive(Box<ReceivePath>),
    Naive(NaiveReceivePath),
}

#[derive(Debug, Error)]
pub enum MediaError {
    #[error("{0}")]
    Audio(#[from] AudioError),
    #[error("audio codec: {0}")]
    Codec(#[from] CodecError),
}

/// A running call's audio. Dropping it without `stop` also stops the devices.
pub struct MediaSession {
    muted: Arc<AtomicBool>,
    counters: Arc<MediaCounters>,
    levels: Arc<Levels>,
    stop: Option<oneshot::Sender<()>>,
    pump: Option<PumpThread>,
    first_audio: Option<oneshot::Receiver<Instant>>,
    device_switches: Option<mpsc::UnboundedReceiver<DeviceSwitch>>,
}

impl MediaSession {
    /// Opens the devices and starts pumping. Fails early (and cleanly) when a device or
    /// the codec cannot be opened, so the call can end with a clear reason. `reports` is
    /// the peer's RTCP feedback about our audio, which drives the loss protection.
    pub fn start(
        config: &MediaConfig,
        remote: mpsc::Receiver<RemoteRtp>,
        writer: AudioTrackWriter,
        reports: mpsc::Receiver<PeerReport>,
    ) -> Result<Self, MediaError> {
        let types = writer.payload_types();
        let mut send_config = config.send_config();
        send_config.encoder.dtx &= writer.peer_asks_for_dtx() || config.dtx_whatever_the_peer_asks;
        let mut send = SendPath::new(&send_config, types, rand::random())?;
        let policy = ProtectionPolicy::new(PolicyConfig {
            red_available: types.red.is_some(),
            clean_bitrate_bps: u32::try_from(config.encoder.bitrate_bps).unwrap_or(0),
            start_protected: true,
            ..PolicyConfig::default()
        });
        if send_config.protection == ProtectionMode::Adaptive
            && let Err(err) = send.apply(policy.protection())
        {
            tracing::warn!(error = %err, "applying the starting loss protection");
        }
        let receive = match config.receive_mode {
            ReceiveMode::Adaptive => {
                let mut path = ReceivePath::new(config.jitter.clone())?;
                path.set_red_payload_type(types.red);
                path.set_time_stretch(config.time_stretch);
                Receiver::Adaptive(Box::new(path))
            }
            ReceiveMode::Naive => {
                let mut path = NaiveReceivePath::new()?;
                path.set_red_payload_type(types.red);
                Receiver::Naive(path)
            }
        };
        let mut processing = config.processing;
        processing.echo_cancellation &= audio::has_acoustic_path(&config.input, &config.output);
        let processor = CaptureProcessor::new(processing);
        let devices = audio::open_with(config.audio.as_ref(), &config.input, &config.output)?;
        let levels = Arc::clone(devices.levels());
        let (watch, device_switches) = DeviceWatch::new(
            Arc::clone(&config.audio),
            Arc::clone(&levels),
            &config.input,
            &config.output,
        );
        let (capture, playback) = devices.into_parts();
        let muted = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(MediaCounters::default());
        counters.set_protection(send.protection());
        let (stop_tx, stop_rx) = oneshot::channel();
        let (first_audio_tx, first_audio_rx) = oneshot::channel();
        let pump = Pump {
            capture,
            playback,
            send,
            receive,
            processor,
            writer,
            remote,
            reports: Some(reports),
            policy,
            adaptive: send_config.protection == ProtectionMode::Adaptive,
            muted: Arc::clone(&muted),
            counters: Arc::clone(&counters),
            first_audio: Some(first_audio_tx),
            devices: watch,
            playout: PlayoutSlack::new(),
            schedule: match config.pump_timing {
                PumpTiming::DeviceAligned => Some(PumpSchedule::new()),
                PumpTiming::DeviceAlignedToLastCallback => Some(PumpSchedule::from_last_callback()),
                PumpTiming::DeviceAlignedStepMargin => Some(PumpSchedule::with_step_margin()),
                PumpTiming::Ticks => None,
            },
            quiet: QuietTally::default(),
            xruns_before_audio: None,
            pcm: [0; FRAME_SAMPLES],
            decoded: [0; MAX_DECODED_SAMPLES],
        };
        let pump = PumpThread::spawn(pump, stop_rx)?;
        Ok(Self {
            muted,
            counters,
            levels,
            stop: Some(stop_tx),
            pump: Some(pump),
            first_audio: Some(first_audio_rx),
            device_switches: Some(device_switches),
        })
    }

    /// Reports of a lost microphone or speaker and what replaced it. Can be taken once.
    pub fn take_device_switches(&mut self) -> Option<mpsc::UnboundedReceiver<DeviceSwitch>> {
        self.device_switches.take()
    }

    /// Resolves with the moment the first decoded remote frame was queued for the speaker
    /// (when the call became audible). Can be taken once.
    pub fn take_first_audio(&mut self) -> Option<oneshot::Receiver<Instant>> {
        self.first_audio.take()
    }

    pub fn set_muted(&self, muted: bool) {
        self.muted.store(muted, Ordering::Relaxed);
    }

    pub fn levels(&self) -> &Arc<Levels> {
        &self.levels
    }

    pub fn counters(&self) -> &Arc<MediaCounters> {
        &self.counters
    }

    /// Stops the pump, closes the devices (finalising any WAV recording) and reports.
    pub async fn stop(mut self) -> MediaSummary {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(pump) = self.pump.take() {
            pump.finished().await;
        }
        self.counters.snapshot()
    }
}

impl Drop for MediaSession {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

const PUMP_THREAD: &str = "voicecall-audio";

/// The pump runs on a thread of its own at audio priority (`audio::raise_current_thread`),
/// not on a tokio worker it would share with webrtc-rs and the signaling: on a busy machine
/// a frame must still leave every 20 ms (issue 17, docs/quality.md).
struct PumpThread {
    done: oneshot::Receiver<()>,
    thread: std::thread::JoinHandle<()>,
}

impl PumpThread {
    fn spawn(pump: Pump, stop: oneshot::Receiver<()>) -> Result<Self, MediaError> {
        let thread_error = |source| AudioError::Thread {
            name: PUMP_THREAD,
            source,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(thread_error)?;
        let (done_tx, done) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(PUMP_THREAD.to_owned())
            .spawn(move || {
                let priority = audio::raise_current_thread();
                tracing::debug!(?priority, "audio pump thread");
                runtime.block_on(pump.run(stop));
                // Device handovers still closing finish before the thread reports.
                drop(runtime);
                let _ = done_tx.send(());
            })
            .map_err(thread_error)?;
        Ok(Self { done, thread })
    }

    /// Waits (without blocking the caller's runtime) until the pump has closed its devices.
    async fn finished(self) {
        let _ = self.done.await;
        let _ = self.thread.join();
    }
}

/// Owns everything the audio path touches, with buffers allocated once up front.
struct Pump {
    capture: CaptureStream,
    playback: PlaybackStream,
    send: SendPath,
    receive: Receiver,
    processor: CaptureProcessor,
    writer: AudioTrackWriter,
    remote: mpsc::Receiver<RemoteRtp>,
    /// The peer's feedback; `None` once the peer connection dropped it.
    reports: Option<mpsc::Receiver<PeerReport>>,
    policy: ProtectionPolicy,
    /// The policy's choice is applied (otherwise the protection is fixed).
    adaptive: bool,
    muted: Arc<AtomicBool>,
    counters: Arc<MediaCounters>,
    first_audio: Option<oneshot::Sender<Instant>>,
    devices: DeviceWatch,
    playout: PlayoutSlack,
    /// `None`: the fixed tick (`PumpTiming::Ticks`).
    schedule: Option<PumpSchedule>,
    quiet: QuietTally,
    /// The output device's dry periods and silent samples when the first received audio
    /// was queued: before it, the device plays silence by design.
    xruns_before_audio: Option<(u64, u64)>,
    pcm: [i16; FRAME_SAMPLES],
    decoded: [i16; MAX_DECODED_SAMPLES],
}

impl Pump {
    async fn run(mut self, mut stop: oneshot::Receiver<()>) {
        // Packets queued before the call was up are stale: start from now.
        while self.remote.try_recv().is_ok() {}
        self.capture.discard_backlog();
        let mut tick = tokio::time::interval(PUMP_INTERVAL);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut wake_at = self.schedule.is_some().then(Instant::now);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                packet = self.remote.recv() => match packet {
                    Some(rtp) => self.receive_packet(rtp),
                    None => {
                        // The peer connection is gone; keep the speaker fed until stopped.
                        let _ = (&mut stop).await;
                        break;
                    }
                },
                report = recv_opt(&mut self.reports) => match report {
                    Some(report) => self.on_peer_report(&report),
                    None => self.reports = None,
                },
                _ = wake(&mut tick, wake_at) => {
                    self.devices.check(&mut self.capture, &mut self.playback, Instant::now());
                    // The speaker's callback is a margin away; the packet's send has no
                    // such deadline, and encoding first took from the margin.
                    wake_at = self.fill_due();
                    self.send_captured().await;
                }
            }
        }
        let (capture, playback) = (self.capture, self.playback);
        if let Err(err) = capture.finish().and(playback.finish()) {
            tracing::warn!(error = %err, "closing audio devices");
        }
    }

    /// Feedback about our audio: the policy decides again, and the send path follows.
    fn on_peer_report(&mut self, report: &PeerReport) {
        let now = Instant::now();
        let changed = self.policy.on_report(report, now);
        self.counters.set_peer(&self.policy.summary(now));
        if changed && self.adaptive {
            let protection = self.policy.protection();
            if let Err(err) = self.send.apply(protection) {
                tracing::warn!(error = %err, "applying the loss protection");
            }
            tracing::debug!(?protection, "loss protection");
            self.counters.set_protection(self.send.protection());
        }
    }

    fn receive_packet(&mut self, rtp: RemoteRtp) {
        let _step = StepGuard::enter(FrameStep::Receive);
        MediaCounters::bump(&self.counters.packets_received);
        if rtp.payload.is_empty() {
            MediaCounters::bump(&self.counters.packets_padding);
        }
        match &mut self.receive {
            Receiver::Adaptive(path) => {
                path.push_rtp(
                    rtp.payload_type,
                    rtp.sequence,
                    rtp.timestamp,
                    rtp.marker,
                    &rtp.payload,
                    rtp.arrived,
                );
            }
            Receiver::Naive(path) => {
                let n = path.decode(rtp.payload_type, &rtp.payload, &mut self.decoded);
                if n > 0 {
                    MediaCounters::bump(&self.counters.frames_decoded);
                    if let Some(first) = self.first_audio.take() {
                        let _ = first.send(Instant::now());
                    }
                    self.processor.render(&self.decoded[..n]);
                    self.playback.write(&self.decoded[..n]);
                }
            }
        }
    }

    async fn send_captured(&mut self) {
        loop {
            let encoded = {
                let _step = StepGuard::enter(FrameStep::Encode);
                self.encode_captured()
            };
            let Some((payload_type, timestamp, marker)) = encoded else {
                break;
            };
            // webrtc-rs takes ownership of each payload, so this one copy per frame is the
            // price of its API.
            let frame = {
                let _step = StepGuard::enter(FrameStep::CopyOut);
                Bytes::copy_from_slice(self.send.last_payload())
            };
            if Some(payload_type) == self.writer.payload_types().red {
                MediaCounters::bump(&self.counters.frames_sent_red);
            }
            match self
                .writer
                .write_rtp(payload_type, timestamp, marker, frame)
                .await
            {
                Ok(()) => MediaCounters::bump(&self.counters.frames_sent),
                Err(_) => MediaCounters::bump(&self.counters.send_errors),
            }
        }
    }

    /// Processes and encodes the next captured frame: the packet's payload type, RTP
    /// timestamp and marker (its bytes stay in `send`). DTX frames that need no packet are
    /// counted and skipped.
    fn encode_captured(&mut self) -> Option<(u8, u32, bool)> {
        while self.capture.read_frame(&mut self.pcm) {
            MediaCounters::bump(&self.counters.frames_captured);
            let voice = if self.muted.load(Ordering::Relaxed) {
                self.pcm.fill(0);
                None
            } else {
                self.processor.capture(&mut self.pcm, self.send.is_silent())
            };
            if let Err(err) = self.send.voice(voice) {
                tracing::warn!(error = %err, "setting DTX or complexity");
            }
            match self.send.encode(&self.pcm) {
                Ok(Some(out)) => return Some((out.payload_type, out.timestamp, out.marker)),
                Ok(None) => MediaCounters::bump(&self.counters.frames_unsent_dtx),
                Err(err) => tracing::warn!(error = %err, "encoding a frame"),
            }
        }
        None
    }

    /// Fills the playout queue if it is due: on the fixed tick always, device-aligned when
    /// the speaker's next callback is a margin away. Returns when to wake next (`None`: on
    /// the tick).
    fn fill_due(&mut self) -> Option<Instant> {
        let Some(schedule) = &mut self.schedule else {
            self.fill_playout(FillRule::LowWater);
            return None;
        };
        let now = Instant::now();
        let wake = schedule.wake(now, self.capture.timing(), self.playback.timing());
        match wake.fill {
            Some(Fill::Periods(periods)) => {
                match self.playout.adapt(self.playback.underruns(), now) {
                    Some(true) => schedule.widen(now),
                    Some(false) => schedule.narrow(),
                    None => {}
                }
                self.fill_playout(FillRule::Periods(periods));
                let late = self
                    .schedule
                    .as_mut()
                    .is_some_and(|schedule| schedule.filled(Instant::now()));
                if late && self.xruns_before_audio.is_some() {
                    MediaCounters::bump(&self.counters.late_fills);
                }
            }
            Some(Fill::LowWater) => self.fill_playout(FillRule::LowWater),
            None => {}
        }
        Some(wake.at)
    }

    fn fill_playout(&mut self, rule: FillRule) {
        let _step = StepGuard::enter(FrameStep::Playout);
        let Receiver::Adaptive(receive) = &mut self.receive else {
            return;
        };
        let now = Instant::now();
        let low_water = match rule {
            FillRule::LowWater => self.playout.low_water(
                self.playback.period_samples(),
                self.playback.underruns(),
                now,
            ),
            FillRule::Periods(periods) => {
                periods as usize
                    * self
                        .playback
                        .period_samples()
                        .unwrap_or(DEFAULT_PERIOD_SAMPLES)
            }
        };
        while self.playback.queued_samples() < low_water {
            let (len, source) = match receive.pull(now, &mut self.decoded) {
                Ok(pulled) => pulled,
                Err(err) => {
                    tracing::warn!(error = %err, "decoding");
                    self.decoded[..FRAME_SAMPLES].fill(0);
                    (FRAME_SAMPLES, FrameSource::Silence)
                }
            };
            let counter = match source {
                FrameSource::Decoded => &self.counters.frames_decoded,
                FrameSource::Fec => &self.counters.frames_fec,
                FrameSource::Redundancy => &self.counters.frames_red,
                FrameSource::ComfortNoise => &self.counters.frames_comfort_noise,
                FrameSource::Concealed => &self.counters.frames_concealed,
                FrameSource::Silence => &self.counters.frames_silent,
            };
            if self.quiet.completes_frame(source, len) {
                MediaCounters::bump(counter);
            }
            self.processor.render(&self.decoded[..len]);
            if source == FrameSource::Decoded
                && let Some(first) = self.first_audio.take()
            {
                let _ = first.send(Instant::now());
                self.xruns_before_audio =
                    Some((self.playback.underruns(), self.playback.silence_samples()));
            }
            if len == 0 || self.playback.write(&self.decoded[..len]) == 0 {
                break;
            }
        }
        let jitter = receive.stats();
        let queued_ms = self.playback.queued_samples() as u64 * 1000 / u64::from(SAMPLE_RATE);
        MediaCounters::set(
            &self.counters.jitter_target_ms,
            jitter.target_delay_ms.into(),
        );
        MediaCounters::set(&self.counters.jitter_depth_ms, jitter.depth_ms.into());
        MediaCounters::set(&self.counters.frames_skipped, jitter.skipped);
        MediaCounters::set(&self.counters.frames_held, jitter.underruns);
        MediaCounters::set(
            &self.counters.samples_accelerated,
            jitter.accelerated_samples,
        );
        MediaCounters::set(&self.counters.samples_expanded, jitter.expanded_samples);
        MediaCounters::set(&self.counters.stalls, jitter.stalls);
        MediaCounters::set(&self.counters.playout_queue_ms, queued_ms);
        if let Some((periods, samples)) = self.xruns_before_audio {
            // A replaced device counts from zero again, so this stays a lower bound.
            let silence = self.playback.silence_samples().saturating_sub(samples);
            MediaCounters::set(
                &self.counters.output_underruns,
                self.playback.underruns().saturating_sub(periods),
            );
            MediaCounters::set(
                &self.counters.output_underrun_samples,
                silence * u64::from(SAMPLE_RATE) / u64::from(self.playback.device().rate().max(1)),
            );
        }
    }
}

/// How much the playout queue is filled to.
#[derive(Debug, Clone, Copy)]
enum FillRule {
    /// One device period plus the adaptive slack, checked every tick.
    LowWater,
    /// This many device periods: the callbacks due before the next fill.
    Periods(u32),
}

/// The next item of a channel that may be gone; pending for ever once it is.
async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
