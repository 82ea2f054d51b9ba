//! The audio path does no allocation and no logging per frame.
//!
//! A real `MediaSession` runs on this thread (a current-thread runtime) with WAV files as
//! devices and a real (unconnected) WebRTC track to write to; this test feeds it Opus
//! packets at 20 ms pace. The pump's per-frame steps are bracketed by the frame probe
//! (`voicecall_engine::media::testing`), the WAV device threads' periods by the period probe, and
//! a counting global allocator and a counting `tracing` layer count what happens inside
//! those brackets, per thread. After a warm-up the counts must be zero, except for the one
//! `Bytes::copy_from_slice` per sent frame that webrtc-rs's `write_sample` API requires
//! (it takes an owned `Bytes`): that step is counted apart and must allocate exactly once
//! per frame. What webrtc-rs does inside `write_sample` (packetising, SRTP) and on its own
//! tasks is upstream code outside these brackets.
//!
//! Locks are not counted (std offers no hook); by construction the steps touch only
//! lock-free rings, atomics and the codec state they own.

use voicecall_lab::support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_core::format::FRAME_SAMPLES;
use voicecall_engine::codec::{Encoder, EncoderSettings};
use voicecall_engine::media::testing::{FrameStep, set_frame_probe};
use voicecall_engine::media::{MediaConfig, MediaSession};
use voicecall_engine::rtc::{RemoteRtp, RtcConfig, RtcPeer};

// Where this thread is, as an index into the counters; NONE outside every bracket.
/// What `register_default_codecs` gives Opus; the session decodes it as plain Opus.
const OPUS_PAYLOAD_TYPE: u8 = 111;
const ENCODE: usize = 0;
const COPY_OUT: usize = 1;
const RECEIVE: usize = 2;
const PLAYOUT: usize = 3;
const DEVICE_PERIOD: usize = 4;
const STEPS: usize = 5;
const NONE: usize = usize::MAX;
const NAMES: [&str; STEPS] = [
    "capture read + encode",
    "copy into webrtc-rs's Bytes",
    "receive push",
    "pull + decode + playback write",
    "WAV device period",
];

thread_local! {
    // const-initialised and without a destructor: safe to touch from the allocator.
    static STEP: Cell<usize> = const { Cell::new(NONE) };
}

static ARMED: AtomicBool = AtomicBool::new(false);
static ENTRIES: [AtomicU64; STEPS] = [const { AtomicU64::new(0) }; STEPS];
static ALLOCATIONS: [AtomicU64; STEPS] = [const { AtomicU64::new(0) }; STEPS];
static FREES: [AtomicU64; STEPS] = [const { AtomicU64::new(0) }; STEPS];
static LOG_EVENTS: [AtomicU64; STEPS] = [const { AtomicU64::new(0) }; STEPS];

// Whether a bracket counts is decided once, on entry: a bracket that straddles the
// moment the test arms or disarms is counted whole or not at all.
fn current_step() -> Option<usize> {
    let step = STEP.try_with(Cell::get).unwrap_or(NONE);
    (step != NONE).then_some(step)
}

fn count(counters: &[AtomicU64; STEPS]) {
    if let Some(step) = current_step() {
        counters[step].fetch_add(1, Ordering::Relaxed);
    }
}

struct CountingAllocator;

// SAFETY: defers every call to the system allocator unchanged; counting only touches
// atomics and a const thread-local, neither of which allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(&ALLOCATIONS);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(&ALLOCATIONS);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(&ALLOCATIONS);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(&FREES);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn frame_probe(step: FrameStep, entering: bool) {
    let index = match step {
        FrameStep::Encode => ENCODE,
        FrameStep::CopyOut => COPY_OUT,
        FrameStep::Receive => RECEIVE,
        FrameStep::Playout => PLAYOUT,
    };
    bracket(index, entering);
}

fn period_probe(entering: bool) {
    bracket(DEVICE_PERIOD, entering);
}

fn bracket(index: usize, entering: bool) {
    if entering {
        if ARMED.load(Ordering::SeqCst) {
            STEP.with(|s| s.set(index));
            count(&ENTRIES);
        }
    } else {
        STEP.with(|s| s.set(NONE));
    }
}

/// Counts every `tracing` event (any level) emitted inside a bracket.
struct CountingLayer;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountingLayer {
    fn on_event(
        &self,
        _event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        count(&LOG_EVENTS);
    }
}

const WARMUP_FRAMES: u32 = 100;
const MEASURED_FRAMES: u32 = 300;

#[test]
fn per_frame_audio_work_neither_allocates_nor_logs() {
    use tracing_subscriber::layer::SubscriberExt;
    // Every level enabled, so a log call anywhere in the steps would be seen.
    let subscriber = tracing_subscriber::registry().with(CountingLayer);
    tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
    assert!(set_frame_probe(frame_probe));
    assert!(voicecall_engine::audio::testing::set_period_probe(
        period_probe
    ));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let out = support::output_dir("audio_path_alloc");
    let (sent, unsent, received, decoded) = runtime.block_on(async {
        let (events, _events) = mpsc::unbounded_channel();
        let rtc = RtcConfig {
            bind: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            ..RtcConfig::default()
        };
        let peer = RtcPeer::new(&rtc, events).await.expect("peer connection");
        let writer = peer.audio_writer().await.expect("track writer");
        let media = MediaConfig {
            input: InputSpec::Wav {
                path: support::asset("speech-a.wav"),
                repeat: true,
            },
            output: OutputSpec::Wav(out.join("heard.wav")),
            ..MediaConfig::default()
        };
        let (packets, remote) = mpsc::channel(256);
        let (_reports_tx, reports) = mpsc::channel(8);
        let session = MediaSession::start(&media, remote, writer, reports).expect("media session");

        // The far end: speech encoded into Opus packets, one every 20 ms.
        let speech = voicecall_engine::audio::load_wav_48k_mono(&support::asset("speech-b.wav"))
            .expect("speech");
        let mut encoder = Encoder::new(&EncoderSettings::default()).expect("encoder");
        let mut packet = [0u8; 1500];
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let mut before = None;
        for n in 0..WARMUP_FRAMES + MEASURED_FRAMES {
            if n == WARMUP_FRAMES {
                before = Some(session.counters().snapshot());
                ARMED.store(true, Ordering::SeqCst);
            }
            let start = (n as usize * FRAME_SAMPLES) % (speech.len() - FRAME_SAMPLES);
            let len = encoder
                .encode(&speech[start..start + FRAME_SAMPLES], &mut packet)
                .expect("encode");
            let rtp = RemoteRtp {
                payload_type: OPUS_PAYLOAD_TYPE,
                sequence: n as u16,
                timestamp: n * FRAME_SAMPLES as u32,
                marker: n == 0,
                payload: Bytes::copy_from_slice(&packet[..len]),
                arrived: std::time::Instant::now(),
            };
            packets.send(rtp).await.expect("session receives");
            tick.tick().await;
        }
        ARMED.store(false, Ordering::SeqCst);
        let after = session.counters().snapshot();
        let before = before.expect("armed");
        session.stop().await;
        peer.close().await;
        (
            after.frames_sent - before.frames_sent + after.send_errors - before.send_errors,
            after.frames_unsent_dtx - before.frames_unsent_dtx,
            after.packets_received - before.packets_received,
            after.frames_decoded - before.frames_decoded,
        )
    });

    let get = |c: &[AtomicU64; STEPS], i: usize| c[i].load(Ordering::Relaxed);
    for (i, name) in NAMES.iter().enumerate() {
        println!(
            "{name:32} entered {:6}  allocations {:4}  frees {:4}  log events {:3}",
            get(&ENTRIES, i),
            get(&ALLOCATIONS, i),
            get(&FREES, i),
            get(&LOG_EVENTS, i),
        );
    }
    println!(
        "frames sent {sent}, unsent (DTX) {unsent}, packets received {received}, frames decoded {decoded}"
    );

    // The brackets really were around the work (not a vacuous pass).
    let measured = u64::from(MEASURED_FRAMES);
    // DTX leaves the speech's pauses unsent: encoded but not copied out.
    assert!(
        sent + unsent >= measured * 9 / 10,
        "sent {sent}, DTX {unsent}"
    );
    assert!(received >= measured * 9 / 10, "received {received}");
    assert!(decoded >= measured * 8 / 10, "decoded {decoded}");
    // The session's counters are snapshotted by this thread while the pump runs on its
    // own, so at each end of the window one frame may fall on either side.
    let at_the_edges = |brackets: u64, counted: u64| brackets.abs_diff(counted) <= 2;
    assert!(get(&ENTRIES, ENCODE) + 2 >= sent);
    let copied = get(&ENTRIES, COPY_OUT);
    assert!(at_the_edges(copied, sent), "copied {copied}, sent {sent}");
    let pushed = get(&ENTRIES, RECEIVE);
    assert!(
        at_the_edges(pushed, received),
        "pushed {pushed}, received {received}"
    );
    assert!(get(&ENTRIES, PLAYOUT) >= measured);
    assert!(get(&ENTRIES, DEVICE_PERIOD) >= measured);

    for step in [ENCODE, RECEIVE, PLAYOUT, DEVICE_PERIOD] {
        assert_eq!(get(&ALLOCATIONS, step), 0, "{} allocated", NAMES[step]);
        assert_eq!(get(&FREES, step), 0, "{} freed memory", NAMES[step]);
    }
    for (step, name) in NAMES.iter().enumerate() {
        assert_eq!(get(&LOG_EVENTS, step), 0, "{name} logged");
    }
    // The known exception, isolated: exactly one allocation per sent frame.
    assert_eq!(get(&ALLOCATIONS, COPY_OUT), copied);
}
