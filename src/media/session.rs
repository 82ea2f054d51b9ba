use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::summary::{MediaCounters, MediaSummary};
use super::testing::{FrameStep, StepGuard};
use crate::audio::{
    self, AudioError, CaptureStream, InputSpec, Levels, OutputSpec, PlaybackStream,
};
use crate::codec::{CodecError, Encoder, EncoderSettings};
use crate::format::{FRAME_SAMPLES, MAX_DECODED_SAMPLES, SAMPLE_RATE};
use crate::jitter::{FrameSource, JitterConfig, ReceivePath};
use crate::rtc::{AudioTrackWriter, RemoteRtp};

/// How often the pipeline looks for captured frames and playout room. Short enough that
/// neither side waits noticeably; the work per wake-up is a few hundred microseconds.
const PUMP_INTERVAL: Duration = Duration::from_millis(5);
/// Keep at least this much decoded audio queued for the speaker, so a late wake-up
/// never starves it. More only adds latency.
const PLAYOUT_LOW_WATER: usize = FRAME_SAMPLES + FRAME_SAMPLES / 4;
/// Largest Opus packet we produce (a 20 ms voice frame is ~100–150 bytes at 40 kb/s).
const MAX_PACKET: usize = 1_500;

#[derive(Debug, Clone, Default)]
pub struct MediaConfig {
    pub input: InputSpec,
    pub output: OutputSpec,
    pub encoder: EncoderSettings,
    pub jitter: JitterConfig,
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
    task: Option<JoinHandle<()>>,
    first_audio: Option<oneshot::Receiver<Instant>>,
}

impl MediaSession {
    /// Opens the devices and starts pumping. Fails early (and cleanly) when a device or
    /// the codec cannot be opened, so the call can end with a clear reason.
    pub fn start(
        config: &MediaConfig,
        remote: mpsc::Receiver<RemoteRtp>,
        writer: AudioTrackWriter,
    ) -> Result<Self, MediaError> {
        let encoder = Encoder::new(&config.encoder)?;
        let receive = ReceivePath::new(config.jitter.clone())?;
        let devices = audio::open(&config.input, &config.output)?;
        let levels = Arc::clone(devices.levels());
        let (capture, playback) = devices.into_parts();
        let muted = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(MediaCounters::default());
        let (stop_tx, stop_rx) = oneshot::channel();
        let (first_audio_tx, first_audio_rx) = oneshot::channel();
        let pump = Pump {
            capture,
            playback,
            encoder,
            receive,
            writer,
            remote,
            muted: Arc::clone(&muted),
            counters: Arc::clone(&counters),
            first_audio: Some(first_audio_tx),
            pcm: [0; FRAME_SAMPLES],
            packet: [0; MAX_PACKET],
            decoded: [0; MAX_DECODED_SAMPLES],
        };
        let task = tokio::spawn(pump.run(stop_rx));
        Ok(Self {
            muted,
            counters,
            levels,
            stop: Some(stop_tx),
            task: Some(task),
            first_audio: Some(first_audio_rx),
        })
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
        if let Some(task) = self.task.take() {
            let _ = task.await;
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

/// Owns everything the audio path touches, with buffers allocated once up front.
struct Pump {
    capture: CaptureStream,
    playback: PlaybackStream,
    encoder: Encoder,
    receive: ReceivePath,
    writer: AudioTrackWriter,
    remote: mpsc::Receiver<RemoteRtp>,
    muted: Arc<AtomicBool>,
    counters: Arc<MediaCounters>,
    first_audio: Option<oneshot::Sender<Instant>>,
    pcm: [i16; FRAME_SAMPLES],
    packet: [u8; MAX_PACKET],
    decoded: [i16; MAX_DECODED_SAMPLES],
}

impl Pump {
    async fn run(mut self, mut stop: oneshot::Receiver<()>) {
        // Packets queued before the call was up are stale: start from now.
        while self.remote.try_recv().is_ok() {}
        self.capture.discard_backlog();
        let mut tick = tokio::time::interval(PUMP_INTERVAL);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
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
                _ = tick.tick() => {
                    self.send_captured().await;
                    self.fill_playout();
                }
            }
        }
        let (capture, playback) = (self.capture, self.playback);
        if let Err(err) = capture.finish().and(playback.finish()) {
            tracing::warn!(error = %err, "closing audio devices");
        }
    }

    fn receive_packet(&mut self, rtp: RemoteRtp) {
        let _step = StepGuard::enter(FrameStep::Receive);
        MediaCounters::bump(&self.counters.packets_received);
        self.receive
            .push(rtp.sequence, rtp.timestamp, &rtp.payload, Instant::now());
    }

    async fn send_captured(&mut self) {
        loop {
            let encoded = {
                let _step = StepGuard::enter(FrameStep::Encode);
                self.encode_captured()
            };
            let Some((len, captured_at)) = encoded else {
                break;
            };
            // webrtc-rs takes ownership of each payload, so this one copy per frame is the
            // price of its API.
            let frame = {
                let _step = StepGuard::enter(FrameStep::CopyOut);
                Bytes::copy_from_slice(&self.packet[..len])
            };
            match self.writer.write(frame, captured_at).await {
                Ok(()) => MediaCounters::bump(&self.counters.frames_sent),
                Err(_) => MediaCounters::bump(&self.counters.send_errors),
            }
        }
    }

    /// Encodes the next captured frame into `packet`: its length and capture time.
    fn encode_captured(&mut self) -> Option<(usize, Instant)> {
        while self.capture.read_frame(&mut self.pcm) {
            let captured_at = Instant::now();
            MediaCounters::bump(&self.counters.frames_captured);
            if self.muted.load(Ordering::Relaxed) {
                self.pcm.fill(0);
            }
            match self.encoder.encode(&self.pcm, &mut self.packet) {
                Ok(len) => return Some((len, captured_at)),
                Err(err) => tracing::warn!(error = %err, "encoding a frame"),
            }
        }
        None
    }

    fn fill_playout(&mut self) {
        let _step = StepGuard::enter(FrameStep::Playout);
        while self.playback.queued_samples() < PLAYOUT_LOW_WATER {
            let (len, source) = match self.receive.pull(Instant::now(), &mut self.decoded) {
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
                FrameSource::Concealed => &self.counters.frames_concealed,
                FrameSource::Silence => &self.counters.frames_silent,
            };
            MediaCounters::bump(counter);
            if source == FrameSource::Decoded
                && let Some(first) = self.first_audio.take()
            {
                let _ = first.send(Instant::now());
            }
            if len == 0 || self.playback.write(&self.decoded[..len]) == 0 {
                break;
            }
        }
        let jitter = self.receive.stats();
        let queued_ms = self.playback.queued_samples() as u64 * 1000 / u64::from(SAMPLE_RATE);
        MediaCounters::set(
            &self.counters.jitter_target_ms,
            jitter.target_delay_ms.into(),
        );
        MediaCounters::set(&self.counters.jitter_depth_ms, jitter.depth_ms.into());
        MediaCounters::set(&self.counters.playout_queue_ms, queued_ms);
    }
}
