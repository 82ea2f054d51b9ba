//! Offline replay of received RTP streams through the real `ReceivePath` (issue 17,
//! Chromium → voicecall): each trace (`VOICECALL_RX_TRACE=<dir>` on a `voicecall` process,
//! `jitter::trace`) is played three times, pulled by a simulated 10 ms audio device on a
//! fake clock — (a) with the arrival times as recorded, (a') the same with a lasting step
//! in the sender's delay read as spread (`JitterConfig::follow_delay_steps` off, the
//! baseline), (b) with every packet arriving on its RTP timestamp (ideal 20 ms pacing) —
//! and each is scored with the quality benchmark's
//! wideband PESQ against whichever passage the trace carries. No network, no clock of the
//! machine: the same trace gives the same numbers, so receiver changes can be compared
//! on real streams.
//!
//!   benches/rx_replay.sh TRACE.bin... [--min-delay-ms 20,40] [--decoder-complexity 0,5,7]
//!
//! `--min-delay-ms` replays every trace once per floor of the playout delay
//! (`JitterConfig::min_delay`; the first is the default config's), `--decoder-complexity`
//! once per Opus decoder complexity (`JitterConfig::decoder_complexity`: 5 and up conceal
//! with libopus' neural PLC). Prints per trace and
//! variant: PESQ-WB, the receiver's counters, and the passage.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use voicecall_core::format::FRAME_SAMPLES;
use voicecall_engine::jitter::replay::{self, Arrivals};
use voicecall_engine::jitter::trace;
use voicecall_engine::jitter::{JitterConfig, ReceivePath};
use voicecall_lab::assets::repo;
use voicecall_lab::support::pesq::{Pesq, Speech, align_for_pesq};

fn main() {
    if !common::invoked_as_benchmark("rx_replay") {
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let floors: Vec<u64> = list_arg(&args, "--min-delay-ms")
        .unwrap_or_else(|| vec![JitterConfig::default().min_delay.as_millis() as u64]);
    let complexities: Vec<u8> = list_arg(&args, "--decoder-complexity")
        .unwrap_or_else(|| vec![JitterConfig::default().decoder_complexity]);
    let traces: Vec<PathBuf> = args
        .iter()
        .filter(|a| a.ends_with(".bin"))
        .map(PathBuf::from)
        .collect();
    let dir = repo().join("target/rx-replay");
    std::fs::create_dir_all(&dir).expect("create target/rx-replay");
    let speech = Speech::prepare(&dir);
    let pesq = Pesq::from_env();
    let mut pairs = Vec::new();
    let mut rows = Vec::new();
    for (t, path) in traces.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let packets = trace::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Recorded arrivals with and without following delay steps (the baseline), and
        // ideal ones.
        let variants = floors.iter().flat_map(|&floor| {
            complexities.iter().flat_map(move |&complexity| {
                [
                    (Arrivals::Recorded, true),
                    (Arrivals::Recorded, false),
                    (Arrivals::Ideal, true),
                ]
                .map(|(arrivals, steps)| (floor, complexity, arrivals, steps))
            })
        });
        for (v, (floor, complexity, arrivals, follow_delay_steps)) in variants.enumerate() {
            let config = JitterConfig {
                min_delay: Duration::from_millis(floor),
                follow_delay_steps,
                decoder_complexity: complexity,
                ..JitterConfig::default()
            };
            let rx = ReceivePath::new(config).expect("the Opus decoder opens");
            let started = Instant::now();
            let (audio, stats) = replay::play_with(&packets, arrivals, rx);
            // The receive path's CPU per 20 ms of output (decoding dominates it).
            let cost_us =
                started.elapsed().as_secs_f64() * 1e6 / (audio.len() as f64 / FRAME_SAMPLES as f64);
            let wav = dir.join(format!("t{t}-v{v}.wav"));
            write_wav(&wav, &audio);
            let passage = best_passage(&speech, &wav);
            let deg = dir.join(format!("t{t}-v{v}-16k.wav"));
            align_for_pesq(&speech[passage].samples48, &wav, &deg);
            pairs.push((speech[passage].wav16.clone(), deg));
            rows.push((
                path.clone(),
                floor,
                complexity,
                arrivals,
                follow_delay_steps,
                passage,
                stats,
                cost_us,
            ));
        }
    }
    let scores = pesq.score(&pairs);
    println!(
        "| trace | min delay | decoder complexity | arrivals | delay steps | passage | PESQ-WB | FEC | concealed | held | skipped | accelerated ms | expanded ms | stalls | µs per 20 ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for ((path, floor, complexity, arrivals, steps, passage, s, cost_us), score) in
        rows.iter().zip(scores)
    {
        println!(
            "| {} | {floor} ms | {complexity} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {cost_us:.0} |",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            match arrivals {
                Arrivals::Recorded => "recorded",
                Arrivals::Ideal => "ideal 20 ms",
            },
            if *steps { "followed" } else { "as spread" },
            passage,
            score.map_or("–".into(), |s| format!("{s:.2}")),
            s.fec_recovered,
            s.concealed,
            s.underruns,
            s.skipped,
            s.accelerated_samples / 48,
            s.expanded_samples / 48,
            s.stalls,
        );
    }
}

/// The comma-separated numbers after `name`, if it is given.
fn list_arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<Vec<T>> {
    let list = args.get(args.iter().position(|a| a == name)? + 1)?;
    Some(
        list.split(',')
            .map(|n| {
                n.parse()
                    .unwrap_or_else(|_| panic!("{name} takes numbers, not {n:?}"))
            })
            .collect(),
    )
}

fn write_wav(path: &Path, audio: &[i16]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for &s in audio {
        w.write_sample(s).expect("write wav");
    }
    w.finalize().expect("finalize wav");
}

/// The passage the recording carries: the one it correlates with best.
fn best_passage(speech: &[Speech; 2], wav: &Path) -> usize {
    let rec = voicecall_engine::audio::load_wav_48k_mono(wav).expect("replayed wav");
    let fraction = |i: usize| {
        voicecall_lab::analysis::compare(&speech[i].samples48, &rec, 48_000).matched_fraction
    };
    if fraction(1) > fraction(0) { 1 } else { 0 }
}
