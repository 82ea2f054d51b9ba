//! The echo canceller (WebRTC AEC3 as ported to Rust by `sonora`, in
//! crates/engine/src/media/processing.rs): how much echo it removes and what it costs,
//! against no canceller, measured in the same run.
//!
//! The far end talks (speech-a, looped) through a simulated room: the speaker's sound
//! reaches the microphone after a delay, with a few decaying reflections. For the first
//! 10 s only the far end talks; for the next 10 s the near end (speech-b) talks over it
//! (double talk), at about the echo's level. A -60 dBFS noise floor sits under both.
//!
//! - ERLE, far end alone (5–10 s, converged): 10·log10(E[mic²] / E[out²]).
//! - Near end kept (12–20 s): the output's least-squares gain on the near-end talker,
//!   g = <out, near> / <near, near>, as 20·log10(g); 0 dB is untouched. The canceller's
//!   band-splitting filters delay its output a little, so `near` is first shifted by the
//!   lag (up to 10 ms) at which it correlates best with the output.
//! - ERLE, double talk (12–20 s): 10·log10(E[echo²] / E[(out − g·near)²]): everything in the
//!   output that is not the (scaled) near-end talker counts as echo, so distortion of the
//!   talker lowers it too.
//! - CPU: wall time of the canceller's work per 20 ms frame (two 10 ms calls: render and
//!   capture), single-threaded, release build; RNNoise on the same frames for scale.
//!
//! The `webrtc-audio-processing` crate (C++ AEC3) is not compared: its `bundled` build needs
//! abseil-cpp 20240722 or newer, which Debian 12 does not ship (meson would download it).
//!
//! `cargo bench --bench echo`

mod common;

use std::time::{Duration, Instant};

use common::{Report, invoked_as_benchmark, machine};
use voicecall_core::format::{FRAME_SAMPLES, SAMPLE_RATE};
use voicecall_engine::media::{CaptureProcessor, ProcessingConfig};
use voicecall_lab::signals::{TestRng, speech_48k};

const SECONDS: usize = 20;
const DOUBLE_TALK_FROM: usize = 10;
/// The most the canceller's output may lag its input, in samples (10 ms).
const MAX_LAG: usize = 480;

/// A room: the speaker-to-microphone delay and gain, and how long its reflections last.
struct Room {
    name: &'static str,
    delay_ms: f64,
    gain: f64,
    reflections: usize,
    tail_ms: f64,
}

const ROOMS: [Room; 2] = [
    Room {
        name: "laptop: 40 ms, -6 dB, 20 reflections over 100 ms",
        delay_ms: 40.0,
        gain: 0.5,
        reflections: 20,
        tail_ms: 100.0,
    },
    Room {
        name: "loud speaker: 120 ms, 0 dB, 40 reflections over 200 ms",
        delay_ms: 120.0,
        gain: 1.0,
        reflections: 40,
        tail_ms: 200.0,
    },
];

/// The echo path as sparse taps (sample offset, gain): a direct path, then reflections
/// whose level falls 60 dB over the tail.
fn impulse_response(room: &Room, seed: u64) -> Vec<(usize, f64)> {
    let per_ms = SAMPLE_RATE as f64 / 1000.0;
    let direct = (room.delay_ms * per_ms) as usize;
    let mut rng = TestRng::new(seed);
    let mut taps = vec![(direct, room.gain)];
    for _ in 0..room.reflections {
        let after_ms = rng.unit() * room.tail_ms;
        let level = room.gain * 0.5 * 10f64.powf(-3.0 * after_ms / room.tail_ms);
        let sign = if rng.unit() < 0.5 { -1.0 } else { 1.0 };
        taps.push((direct + 1 + (after_ms * per_ms) as usize, sign * level));
    }
    taps
}

fn looped(speech: &[i16], len: usize) -> Vec<f64> {
    speech
        .iter()
        .cycle()
        .take(len)
        .map(|&s| f64::from(s))
        .collect()
}

struct Signals {
    far: Vec<i16>,
    echo: Vec<f64>,
    near: Vec<f64>,
    mic: Vec<i16>,
}

fn signals(room: &Room) -> Signals {
    let len = SECONDS * SAMPLE_RATE as usize;
    let far = looped(&speech_48k("speech-a.wav"), len);
    let taps = impulse_response(room, 7);
    let mut echo = vec![0.0; len];
    for (offset, gain) in &taps {
        for (i, out) in echo.iter_mut().enumerate().skip(*offset) {
            *out += far[i - offset] * gain;
        }
    }
    let start = DOUBLE_TALK_FROM * SAMPLE_RATE as usize;
    let near_speech = looped(&speech_48k("speech-b.wav"), len - start);
    // The near-end talker at the echo's level (both as RMS over the double talk).
    let scale = (energy(&echo[start..]) / energy(&near_speech)).sqrt();
    let mut near = vec![0.0; len];
    for (out, s) in near[start..].iter_mut().zip(&near_speech) {
        *out = s * scale;
    }
    let mut rng = TestRng::new(3);
    let floor = 32_768.0 * 1e-3; // -60 dBFS
    let mic = echo
        .iter()
        .zip(&near)
        .map(|(e, n)| (e + n + (rng.unit() * 2.0 - 1.0) * floor).clamp(-32_768.0, 32_767.0) as i16)
        .collect();
    let far = far.iter().map(|&s| s as i16).collect();
    Signals {
        far,
        echo,
        near,
        mic,
    }
}

fn energy(x: &[f64]) -> f64 {
    x.iter().map(|s| s * s).sum::<f64>() / x.len().max(1) as f64
}

fn db(ratio: f64) -> f64 {
    10.0 * ratio.max(1e-12).log10()
}

/// The output of the capture path, and the wall time of each frame's work.
fn process(config: ProcessingConfig, s: &Signals) -> (Vec<f64>, Vec<Duration>) {
    let mut p = CaptureProcessor::new(config);
    let mut out = Vec::with_capacity(s.mic.len());
    let mut times = Vec::with_capacity(s.mic.len() / FRAME_SAMPLES);
    for (far, mic) in s
        .far
        .chunks_exact(FRAME_SAMPLES)
        .zip(s.mic.chunks_exact(FRAME_SAMPLES))
    {
        let mut frame = [0i16; FRAME_SAMPLES];
        frame.copy_from_slice(mic);
        let started = Instant::now();
        p.render(far);
        p.capture(&mut frame, false);
        times.push(started.elapsed());
        out.extend(frame.iter().map(|&x| f64::from(x)));
    }
    (out, times)
}

struct Quality {
    erle_alone: f64,
    erle_double_talk: f64,
    near_kept: f64,
}

fn quality(s: &Signals, out: &[f64]) -> Quality {
    let at = |second: usize| second * SAMPLE_RATE as usize;
    let mic: Vec<f64> = s.mic.iter().map(|&x| f64::from(x)).collect();
    let alone = at(5)..at(DOUBLE_TALK_FROM);
    let double = at(DOUBLE_TALK_FROM + 2)..at(SECONDS);
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let lag = (0..=MAX_LAG)
        .max_by(|&a, &b| {
            let at = |lag: usize| {
                dot(
                    &out[double.start + lag..double.end],
                    &s.near[double.clone()],
                )
            };
            at(a).total_cmp(&at(b))
        })
        .unwrap_or(0);
    let double = double.start..double.end - MAX_LAG;
    let (out_dt, near_dt) = (
        &out[double.start + lag..double.end + lag],
        &s.near[double.clone()],
    );
    let gain = dot(out_dt, near_dt) / dot(near_dt, near_dt).max(1.0);
    let residual: Vec<f64> = out_dt
        .iter()
        .zip(near_dt)
        .map(|(o, n)| o - gain * n)
        .collect();
    Quality {
        erle_alone: db(energy(&mic[alone.clone()]) / energy(&out[alone])),
        erle_double_talk: db(
            energy(&s.echo[double.start + lag..double.end + lag]) / energy(&residual)
        ),
        near_kept: 2.0 * db(gain.abs()),
    }
}

/// Mean, median and 95th percentile, in µs.
fn micros(times: &[Duration]) -> (f64, f64, f64) {
    let mut us: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1e6).collect();
    us.sort_by(f64::total_cmp);
    let pick = |q: f64| us[((us.len() as f64 * q).ceil() as usize).clamp(1, us.len()) - 1];
    (
        us.iter().sum::<f64>() / us.len() as f64,
        pick(0.5),
        pick(0.95),
    )
}

fn main() {
    if !invoked_as_benchmark("echo") {
        return;
    }
    let mut report = Report::new();
    report.line(format!(
        "\n### Echo cancellation (AEC3, sonora) against none\n\nmachine: {}\n",
        machine()
    ));
    report.line(
        "| room | canceller | ERLE, far end alone dB | ERLE, double talk dB | near end kept dB |",
    );
    report.line("|---|---|---:|---:|---:|");
    let echo_only = ProcessingConfig {
        noise_suppression: false,
        echo_cancellation: true,
        ..ProcessingConfig::default()
    };
    let none = ProcessingConfig {
        noise_suppression: false,
        echo_cancellation: false,
        ..ProcessingConfig::default()
    };
    let mut aec_times = Vec::new();
    for room in &ROOMS {
        let s = signals(room);
        for (name, config) in [("none", none), ("AEC3 (sonora 0.2)", echo_only)] {
            let (out, times) = process(config, &s);
            let q = quality(&s, &out);
            report.line(format!(
                "| {} | {name} | {:.1} | {:.1} | {:+.1} |",
                room.name, q.erle_alone, q.erle_double_talk, q.near_kept
            ));
            if config.echo_cancellation {
                aec_times.extend(times);
            }
        }
    }

    let s = signals(&ROOMS[0]);
    let (_, ns_times) = process(
        ProcessingConfig {
            noise_suppression: true,
            echo_cancellation: false,
            ..ProcessingConfig::default()
        },
        &s,
    );
    report.line(
        "\nCPU, one core, per 20 ms frame (a 10 ms call is half of it: the canceller works \
         on 10 ms halves):\n",
    );
    report.line("| stage | frames | mean µs / 20 ms | p50 µs | p95 µs | mean µs / 10 ms | share of one core |");
    report.line("|---|---:|---:|---:|---:|---:|---:|");
    for (name, times) in [
        (
            "echo cancellation (AEC3, sonora 0.2), render + capture",
            &aec_times,
        ),
        ("noise suppression (RNNoise), for scale", &ns_times),
    ] {
        let (mean, p50, p95) = micros(times);
        report.line(format!(
            "| {name} | {} | {mean:.0} | {p50:.0} | {p95:.0} | {:.0} | {:.2} % |",
            times.len(),
            mean / 2.0,
            mean / 200.0
        ));
    }
}
