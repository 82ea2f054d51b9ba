//! Pipeline latency, capture to playout: microphone ring → Opus → SRTP → UDP (loopback) →
//! jitter buffer → decoder → speaker ring, measured with clicks.
//!
//! Both engines run in this process with WAV files as devices. Each side's input file has
//! short clicks at known sample positions; each side records what it hears. A WAV device is
//! a thread with its own sample clock, and `Levels::capture_clock` / `playback_clock` say
//! when each clock started (sample `n` of an input file is "captured" at start + n/48 kHz;
//! sample `n` of an output file is "played" at start + n/48 kHz + one 10 ms device period,
//! when a sound card with one period of buffering would play it). A click found at output
//! sample `j` that was at input sample `i` on the other side therefore took
//! `(out_start + j/48k + 10 ms) − (in_start + i/48k)`: the two devices' start offsets are
//! measured, not assumed. The same onset detector runs on both files, so its bias cancels.
//!
//! The engines report their buffer gauges (`MediaSummary::jitter_*`, `playout_queue_ms`)
//! every ~100 ms; their means make the breakdown.
//!
//! `--modes ours,ticks,rtcshared` alternates calls between the audio pump's wake-up rules
//! (`PumpTiming`) and where webrtc-rs' driver runs, and reports each: `ours`, woken by the
//! devices' callbacks, as shipped; `ticks`, a fixed 5 ms tick as before; `rtcshared`, ours
//! with the connection driver on the bench's runtime instead of the raised `voicecall-rtc`
//! thread (`RtcConfig::driver_thread`); `stepmargin`, ours with the speaker's margin
//! widened by its step alone after a dry period, not past the stall behind it; `floor20`,
//! ours with the jitter buffer's old 20 ms least delay instead of 40 ms. The default is
//! `ours` alone.
//!
//! `cargo bench --bench latency [-- --calls N --seconds S --modes ours,ticks,stepmargin]`

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::support::Server;
use common::{Peer, Report, Summary, arg, engine_config, invoked_as_benchmark, machine, runtime};
use voicecall_core::call::Phase;
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_core::quality::MediaSummary;
use voicecall_engine::controller::{EngineEvent, Meters, UserCommand};
use voicecall_engine::media::PumpTiming;
use voicecall_lab::host;

const RATE: u32 = 48_000;
/// One WAV device period (src/audio/wav_device.rs): output is played one period after the
/// device thread takes it.
const DEVICE_PERIOD_S: f64 = 0.010;
const FIRST_CLICK_S: f64 = 2.0;
const CLICK_SPACING_S: f64 = 0.3;
/// Clicks are shifted by a varying fraction of a frame so they land at every phase of the
/// 20 ms Opus frame and the 10 ms device period.
const PHASE_STEP_S: f64 = 0.0073;
const CLICK_LEN: usize = 144; // 3 ms
const CLICK_HZ: f64 = 3_000.0;
const CLICK_AMPLITUDE: f64 = 16_000.0;
const ONSET_THRESHOLD: i32 = 3_000;
/// Quiet needed before an onset counts (the clicks are 300 ms apart).
const QUIET_BEFORE: usize = (RATE as usize) / 10;

fn click_positions(seconds: f64) -> Vec<usize> {
    let mut out = Vec::new();
    let mut k = 0;
    loop {
        let t = FIRST_CLICK_S + k as f64 * CLICK_SPACING_S + (k as f64 * PHASE_STEP_S) % 0.02;
        if t > seconds - 1.0 {
            return out;
        }
        out.push((t * f64::from(RATE)) as usize);
        k += 1;
    }
}

fn write_click_track(path: &Path, seconds: f64) {
    let mut samples = vec![0i16; (seconds * f64::from(RATE)) as usize];
    for start in click_positions(seconds) {
        for n in 0..CLICK_LEN {
            let window =
                0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / CLICK_LEN as f64).cos();
            let phase = 2.0 * std::f64::consts::PI * CLICK_HZ * n as f64 / f64::from(RATE);
            samples[start + n] = (CLICK_AMPLITUDE * window * phase.sin()) as i16;
        }
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = match hound::WavWriter::create(path, spec) {
        Ok(writer) => writer,
        Err(err) => panic!("create {}: {err}", path.display()),
    };
    for s in samples {
        if let Err(err) = writer.write_sample(s) {
            panic!("write {}: {err}", path.display());
        }
    }
    if let Err(err) = writer.finalize() {
        panic!("finalise {}: {err}", path.display());
    }
}

fn read_wav(path: &Path) -> Vec<i16> {
    let mut reader = match hound::WavReader::open(path) {
        Ok(reader) => reader,
        Err(err) => panic!("open {}: {err}", path.display()),
    };
    assert_eq!(reader.spec().sample_rate, RATE, "{}", path.display());
    reader.samples::<i16>().map_while(Result::ok).collect()
}

/// Sample positions where the signal first exceeds the threshold after a quiet stretch.
fn onsets(samples: &[i16]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut quiet = QUIET_BEFORE;
    for (i, &s) in samples.iter().enumerate() {
        if i32::from(s).abs() >= ONSET_THRESHOLD {
            if quiet >= QUIET_BEFORE {
                out.push(i);
            }
            quiet = 0;
        } else {
            quiet += 1;
        }
    }
    out
}

/// One direction of one call: talker's input clicks, listener's recording, their clocks.
struct Direction {
    input_clicks: Vec<usize>,
    input_clock: Instant,
    heard: PathBuf,
    output_clock: Instant,
}

/// Latencies (ms) of every click heard, and how many clicks went unheard.
fn measure(d: &Direction) -> (Vec<f64>, usize) {
    let recording = read_wav(&d.heard);
    let heard = onsets(&recording);
    let offset_s = d
        .output_clock
        .checked_duration_since(d.input_clock)
        .map_or_else(
            || -d.input_clock.duration_since(d.output_clock).as_secs_f64(),
            |x| x.as_secs_f64(),
        );
    let mut latencies = Vec::new();
    let mut missed = 0;
    let mut heard_iter = heard.iter().peekable();
    // The track runs on past the hang-up; a click the recording ended before it could be
    // heard (within 400 ms) was never sent, so it is not counted either way.
    let recorded_until_s = offset_s + recording.len() as f64 / f64::from(RATE);
    for &click in &d.input_clicks {
        let captured_s = click as f64 / f64::from(RATE);
        if captured_s + 0.4 > recorded_until_s {
            break;
        }
        // The first onset that was played after this click was captured, within 400 ms.
        let found = loop {
            match heard_iter.peek() {
                None => break None,
                Some(&&j) => {
                    let played_s = offset_s + j as f64 / f64::from(RATE) + DEVICE_PERIOD_S;
                    let latency = played_s - captured_s;
                    if latency < 0.0 {
                        heard_iter.next();
                        continue;
                    }
                    if latency < 0.4 {
                        heard_iter.next();
                        break Some(latency * 1000.0);
                    }
                    break None;
                }
            }
        };
        match found {
            Some(ms) => latencies.push(ms),
            None => missed += 1,
        }
    }
    (latencies, missed)
}

#[derive(Default)]
struct Gauges {
    target: Vec<f64>,
    depth: Vec<f64>,
    queue: Vec<f64>,
}

impl Gauges {
    fn add(&mut self, m: &MediaSummary) {
        self.target.push(m.jitter_target_ms as f64);
        self.depth.push(m.jitter_depth_ms as f64);
        self.queue.push(m.playout_queue_ms as f64);
    }
}

/// One call of `seconds`; returns both directions and the gauges sampled after warm-up.
async fn one_call(
    server: &str,
    dir: &Path,
    call: usize,
    seconds: f64,
    mode: Mode,
    gauges: &mut Gauges,
) -> [Direction; 2] {
    let track = dir.join("clicks.wav");
    let heard = [
        dir.join(format!("call{call}-a-heard.wav")),
        dir.join(format!("call{call}-b-heard.wav")),
    ];
    let config = |heard: &Path| {
        engine_config(
            server,
            InputSpec::Wav {
                path: track.clone(),
                repeat: false,
            },
            OutputSpec::Wav(heard.to_path_buf()),
            // Not a divisor of 20 ms: samples land at every phase of the packet clock.
            |c| {
                c.stats_interval = Duration::from_millis(97);
                c.media.pump_timing = mode.timing;
                c.rtc.driver_thread = mode.driver_thread;
                if let Some(min) = mode.jitter_min {
                    c.media.jitter.min_delay = min;
                }
            },
        )
    };
    let mut a = Peer::start(config(&heard[0])).await;
    let mut b = Peer::start(config(&heard[1])).await;
    a.send(UserCommand::Call(b.id.clone()));
    let mut meters: [Option<Meters>; 2] = [None, None];
    let mut in_call_since: Option<Instant> = None;
    let call_length = Duration::from_secs_f64(seconds);
    let deadline = tokio::time::sleep(call_length + Duration::from_secs(20));
    tokio::pin!(deadline);
    loop {
        let hang_up_at = in_call_since.map(|t| t + call_length);
        tokio::select! {
            event = a.events.recv() => match event {
                Some(EngineEvent::MediaStarted { meters: m }) => {
                    meters[0] = Some(m);
                    in_call_since.get_or_insert_with(Instant::now);
                }
                Some(EngineEvent::Stats { media, .. }) => {
                    if in_call_since.is_some_and(|t| t.elapsed() > Duration::from_secs(2)) {
                        gauges.add(&media);
                    }
                }
                Some(EngineEvent::Ended { reason, .. }) => panic!("call ended early: {reason}"),
                Some(_) => {}
                None => panic!("engine A stopped"),
            },
            event = b.events.recv() => match event {
                Some(EngineEvent::Phase(Phase::Incoming { .. })) => b.send(UserCommand::Accept),
                Some(EngineEvent::MediaStarted { meters: m }) => meters[1] = Some(m),
                Some(EngineEvent::Stats { media, .. }) => {
                    if in_call_since.is_some_and(|t| t.elapsed() > Duration::from_secs(2)) {
                        gauges.add(&media);
                    }
                }
                Some(EngineEvent::Ended { reason, .. }) => panic!("call ended early: {reason}"),
                Some(_) => {}
                None => panic!("engine B stopped"),
            },
            _ = sleep_until_opt(hang_up_at) => break,
            _ = &mut deadline => panic!("the call did not run its course"),
        }
    }
    a.hang_up(&mut b, Duration::from_secs(10)).await;
    a.stop().await;
    b.stop().await;
    let clocks = |m: &Option<Meters>| {
        let levels = &m.as_ref().expect("MediaStarted with meters").0;
        (
            levels.capture_clock().expect("WAV input reports its clock"),
            levels
                .playback_clock()
                .expect("WAV output reports its clock"),
        )
    };
    let (a_in, a_out) = clocks(&meters[0]);
    let (b_in, b_out) = clocks(&meters[1]);
    let input_clicks = onsets(&read_wav(&track));
    [
        Direction {
            input_clicks: input_clicks.clone(),
            input_clock: a_in,
            heard: heard[1].clone(),
            output_clock: b_out,
        },
        Direction {
            input_clicks,
            input_clock: b_in,
            heard: heard[0].clone(),
            output_clock: a_out,
        },
    ]
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// What a mode changes: the pump's wake-up rule and where webrtc-rs' driver runs.
#[derive(Clone, Copy)]
struct Mode {
    timing: PumpTiming,
    driver_thread: bool,
    /// The jitter buffer's least delay; None: the product's default.
    jitter_min: Option<Duration>,
}

/// The `--modes` list: which pump wake-up rules and driver placements to alternate.
fn modes() -> Vec<(&'static str, Mode)> {
    let args: Vec<String> = std::env::args().collect();
    let list = args
        .iter()
        .position(|a| a == "--modes")
        .and_then(|i| args.get(i + 1))
        .map_or("ours", String::as_str);
    list.split(',')
        .map(|name| match name {
            "ours" => ("ours", Mode::OURS),
            "ticks" => (
                "ticks",
                Mode {
                    timing: PumpTiming::Ticks,
                    ..Mode::OURS
                },
            ),
            "rtcshared" => (
                "rtcshared",
                Mode {
                    driver_thread: false,
                    ..Mode::OURS
                },
            ),
            "stepmargin" => (
                "stepmargin",
                Mode {
                    timing: PumpTiming::DeviceAlignedStepMargin,
                    ..Mode::OURS
                },
            ),
            "floor20" => (
                "floor20",
                Mode {
                    jitter_min: Some(Duration::from_millis(20)),
                    ..Mode::OURS
                },
            ),
            other => panic!(
                "--modes: unknown mode {other:?} (ours, ticks, rtcshared, stepmargin, floor20)"
            ),
        })
        .collect()
}

impl Mode {
    const OURS: Mode = Mode {
        timing: PumpTiming::DeviceAligned,
        driver_thread: true,
        jitter_min: None,
    };
}

/// What one mode's calls measured.
#[derive(Default)]
struct ModeResult {
    latencies: [Vec<f64>; 2],
    missed: usize,
    gauges: Gauges,
}

fn main() {
    if !invoked_as_benchmark("latency") {
        return;
    }
    let calls = arg("--calls", 3.0) as usize;
    let seconds = arg("--seconds", 15.0);
    let modes = modes();
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(err) => panic!("tempdir: {err}"),
    };
    // Longer than the call: the input must not end before the hang-up.
    write_click_track(&dir.path().join("clicks.wav"), seconds + 5.0);
    let server = Server::builder().for_benchmarks().start();
    let runtime = runtime();
    let mut report = Report::new();
    let mut results: Vec<ModeResult> = modes.iter().map(|_| ModeResult::default()).collect();
    report.line(format!(
        "\n### Pipeline latency, capture → playout ({calls} calls × {seconds} s per mode, loopback)\n"
    ));
    report.line(format!("machine: {}", machine()));
    runtime.block_on(async {
        // Modes alternate call by call, so drift in the machine's load hits them alike.
        for call in 0..calls {
            for (i, &(_, mode)) in modes.iter().enumerate() {
                let result = &mut results[i];
                let n = call * modes.len() + i;
                let directions = one_call(
                    &server.url,
                    dir.path(),
                    n,
                    seconds,
                    mode,
                    &mut result.gauges,
                )
                .await;
                for (d, direction) in directions.iter().enumerate() {
                    let (l, m) = measure(direction);
                    result.latencies[d].extend(l);
                    result.missed += m;
                }
            }
        }
    });
    report.line(format!("load average at the end: {}\n", host::load_1min()));
    for ((name, _), result) in modes.iter().zip(&results) {
        report_mode(&mut report, name, result);
    }
}

fn report_mode(report: &mut Report, mode: &str, result: &ModeResult) {
    let latencies = &result.latencies;
    let gauges = &result.gauges;
    let missed = result.missed;
    let all: Vec<f64> = latencies.iter().flatten().copied().collect();
    report.line(format!("\n#### Mode: {mode}\n"));
    report.line("| direction | clicks | p50 ms | p95 ms | min ms | max ms | mean ms |");
    report.line("|---|---:|---:|---:|---:|---:|---:|");
    for (name, values) in [
        ("caller → callee", &latencies[0]),
        ("callee → caller", &latencies[1]),
        ("both", &all),
    ] {
        if let Some(s) = Summary::of(values) {
            report.line(format!(
                "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
                s.n, s.p50, s.p95, s.min, s.max, s.mean
            ));
        }
    }
    report.line(format!("\nclicks not heard: {missed}"));
    let mean = |v: &[f64]| Summary::of(v).map_or(f64::NAN, |s| s.mean);
    report.line("\nBreakdown (means; buffer gauges sampled every ~100 ms by both engines):\n");
    report.line("| part | ms |");
    report.line("|---|---:|");
    report.line(
        "| frame assembly: a click waits for the rest of its 20 ms frame (uniform phase) | 10.0 |",
    );
    report.line("| output device period (WAV stand-in; a sound card has its own) | 10.0 |");
    report.line(format!(
        "| jitter buffer depth (gauge, whole frames; target {:.1}) | {:.1} |",
        mean(&gauges.target),
        mean(&gauges.depth)
    ));
    report.line(format!(
        "| playout queue (decoded audio waiting for the speaker) | {:.1} |",
        mean(&gauges.queue)
    ));
    if let Some(s) = Summary::of(&all) {
        report.line(format!(
            "| rest: pump wake-ups, Opus look-ahead, encode/decode, SRTP, UDP, partial frames in the gauges | {:.1} |",
            s.mean - 20.0 - mean(&gauges.depth) - mean(&gauges.queue)
        ));
        report.line(format!("| **total (measured mean)** | **{:.1}** |", s.mean));
    }
}
