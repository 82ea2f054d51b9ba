//! Speech quality through the whole pipeline: two real `voicecall` clients, DTLS-SRTP,
//! relay-only through coturn, with `voicecall-netem` impairing every client's media on its
//! way to the TURN server (one loss/delay process per client, RTP only). Each call sends
//! a different espeak-ng passage each way; both recordings are aligned to what the other
//! side played (`voicecall_lab::analysis`), resampled to 16 kHz and scored with wideband PESQ
//! (Python `pesq`). The same network carries our design and a naive receive path in the
//! same run. Run through `benches/quality.sh`, which prepares the PESQ venv.

mod common;

use common::conditions::{Condition, condition};
use voicecall_lab::host::{self, CpuTimes};
use voicecall_lab::netem::RelayThread;
use voicecall_lab::support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::Value;
use support::pesq::{Pesq, Speech, align_for_pesq};
use support::turn::{Coturn, free_port};
use support::{Client, Server};
use voicecall_core::format::{FRAME_SAMPLES, MAX_DECODED_SAMPLES};
use voicecall_engine::codec::{
    DEFAULT_DECODER_COMPLEXITY, Decoder, Encoder, EncoderSettings, MAX_PACKET_BYTES,
};
use voicecall_engine::media::{CaptureProcessor, ProcessingConfig};

const LOOPBACK: &str = "127.0.0.1";

struct Mode {
    key: &'static str,
    label: &'static str,
    flags: &'static [&'static str],
}

const MODES: [Mode; 20] = [
    Mode {
        key: "speech7",
        label: "ours, speech encoded at complexity 7 (before 8)",
        flags: &["--high-rate-complexity", "7"],
    },
    Mode {
        key: "classic",
        label: "ours, decoder complexity 0 (classic PLC, no enhancement)",
        flags: &["--decoder-complexity", "0"],
    },
    Mode {
        key: "plc",
        label: "ours, decoder complexity 5 (deep PLC)",
        flags: &["--decoder-complexity", "5"],
    },
    Mode {
        key: "lace",
        label: "ours, decoder complexity 6 (deep PLC, LACE)",
        flags: &["--decoder-complexity", "6"],
    },
    Mode {
        key: "nolace",
        label: "ours, decoder complexity 7 (deep PLC, NoLACE)",
        flags: &["--decoder-complexity", "7"],
    },
    Mode {
        key: "redalways",
        label: "ours, RED always",
        flags: &["--red-always"],
    },
    Mode {
        key: "nons",
        label: "ours without NS/AEC",
        flags: &["--no-noise-suppression", "--no-echo-cancellation"],
    },
    Mode {
        key: "dtxoff",
        label: "ours without DTX",
        flags: &["--no-dtx"],
    },
    Mode {
        key: "nodtx",
        label: "ours without NS/AEC/DTX",
        flags: &[
            "--no-noise-suppression",
            "--no-echo-cancellation",
            "--no-dtx",
        ],
    },
    Mode {
        key: "ours",
        label: "ours",
        flags: &[],
    },
    Mode {
        key: "naive",
        label: "naive",
        flags: &[
            "--receive-mode",
            "naive",
            "--no-red",
            "--no-dtx",
            "--fixed-fec",
            "--no-noise-suppression",
            "--no-echo-cancellation",
        ],
    },
    Mode {
        key: "before17",
        label: "ours before issue 17/10: RNNoise without floor or DTX hangover, Opus complexity 9",
        flags: &[
            "--noise-floor-db",
            "0",
            "--dtx-hangover-ms",
            "0",
            "--no-cpu-savings",
        ],
    },
    Mode {
        key: "nofloor",
        label: "ours, RNNoise without floor",
        flags: &["--noise-floor-db", "0"],
    },
    Mode {
        key: "nohangover",
        label: "ours, no DTX hangover",
        flags: &["--dtx-hangover-ms", "0"],
    },
    Mode {
        key: "fulleffort",
        label: "ours, Opus complexity 9 on every frame",
        flags: &["--no-cpu-savings"],
    },
    Mode {
        key: "ticks",
        label: "ours, audio pump on a fixed 5 ms tick",
        flags: &["--pump-ticks"],
    },
    Mode {
        key: "baseline",
        label: "ours as built by --baseline-bin",
        flags: &[],
    },
    Mode {
        key: "nostretch",
        label: "ours, whole-frame jitter buffer (no time-stretching)",
        flags: &["--no-time-stretch"],
    },
    Mode {
        key: "nored",
        label: "ours without RED",
        flags: &["--no-red"],
    },
    Mode {
        key: "red2",
        label: "ours, RED distance 2",
        flags: &["--red-distance", "2"],
    },
];

/// Quality through the whole pipeline, our design beside a naive receive path.
#[derive(Parser)]
struct Args {
    /// Receive/send designs to compare, by key (ours, naive, baseline, nostretch, ticks, nored,
    /// red2, redalways, nons, dtxoff, nodtx, before17, nofloor, nohangover, fulleffort; the
    /// decoder's complexity: classic = 0, plc = 5, lace = 6, nolace = 7).
    #[arg(long, value_delimiter = ',', value_parser = mode, default_value = "ours,naive")]
    modes: Vec<&'static Mode>,
    /// Network conditions, by key (0, 5r, 10r, 20r, 5b, jit).
    #[arg(long, value_delimiter = ',', value_parser = condition, default_value = "0,5r,10r,20r,5b,jit")]
    conditions: Vec<&'static Condition>,
    /// Another build of `voicecall` for the `baseline` mode (e.g. main's), so a change is
    /// measured against its base in the same run.
    #[arg(long)]
    baseline_bin: Option<std::path::PathBuf>,
    /// Calls per condition and mode.
    #[arg(long, default_value_t = 1)]
    repeat: u64,
    /// Passed by `cargo bench` to every benchmark.
    #[arg(long, hide = true)]
    bench: bool,
}

fn mode(key: &str) -> Result<&'static Mode, String> {
    MODES.iter().find(|m| m.key == key).ok_or_else(|| {
        let keys: Vec<&str> = MODES.iter().map(|m| m.key).collect();
        format!("unknown mode {key:?}; one of {}", keys.join(", "))
    })
}

fn main() {
    // `cargo test --all-targets` runs bench targets too; this one takes minutes and needs
    // the PESQ venv, so it runs only under `cargo bench` or benches/quality.sh.
    let as_bench = std::env::args().any(|a| a == "--bench");
    if !as_bench && std::env::var_os("VOICECALL_QUALITY_BENCH").is_none() {
        println!("quality: a benchmark; run it with benches/quality.sh");
        return;
    }
    let args = Args::parse();
    let uses_baseline = args.modes.iter().any(|m| m.key == "baseline");
    if uses_baseline && args.baseline_bin.as_ref().is_none_or(|b| !b.is_file()) {
        eprintln!("quality: mode `baseline` needs --baseline-bin PATH to a voicecall binary");
        std::process::exit(2);
    }
    println!("load average at start: {}", host::load_average());
    let cpu_at_start = CpuTimes::now();
    let dir = support::repo().join("target/quality-bench");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let pesq = Pesq::from_env();
    let speech = Speech::prepare(&dir);
    let mut report = String::new();
    report += &cpu_table(&speech[0].samples48);
    println!("{report}");

    let turn = Coturn::on_loopback();
    // Every client reaches TURN through a netem relay, started per condition on this port.
    let relay_port = free_port();
    let server = Server::builder()
        .for_benchmarks()
        .envs(turn.server_env_via(LOOPBACK, &format!("{LOOPBACK}:{relay_port}")))
        .start();

    // condition → mode → results
    let mut results: BTreeMap<(usize, usize), Vec<CallResult>> = BTreeMap::new();
    for (ci, condition) in args.conditions.iter().enumerate() {
        for rep in 0..args.repeat {
            for (mi, mode) in args.modes.iter().enumerate() {
                // A relay per call, each with the rep's seed: the relay draws each client's
                // fates from a process seeded by the order it first saw the client, so the
                // modes of one rep sharing a relay met different losses (the first mode's
                // calls always the same ones, the second's always others).
                let relay = start_relay(relay_port, turn.port, condition, 11 + rep);
                let name = format!("{}-{}-{rep}", condition.key, mode.key);
                let binary = args
                    .baseline_bin
                    .as_deref()
                    .filter(|_| mode.key == "baseline");
                let cpu = CpuTimes::now();
                let result = run_call(&server, &speech, mode, binary, &dir.join(&name), &pesq);
                println!(
                    "{:<48} {:<22} PESQ {:.2} / {:.2}  {:.1} kb/s  steal {}  {}",
                    condition.label,
                    mode.label,
                    result.pesq[0],
                    result.pesq[1],
                    result.kbps,
                    host::fmt_steal(cpu.and_then(CpuTimes::steal_percent)),
                    result.recovery
                );
                results.entry((ci, mi)).or_default().push(result);
                drop(relay);
            }
        }
    }
    println!(
        "load average at end: {}; CPU time stolen by the hypervisor: {}",
        host::load_average(),
        host::fmt_steal(cpu_at_start.and_then(CpuTimes::steal_percent))
    );
    let table = pesq_table(&args, &results);
    println!("{table}");
    report += &table;
    let path = dir.join("report.md");
    std::fs::write(&path, &report).expect("write report");
    common::append_to_bench_out(&report);
    println!("written to {}", path.display());
}

fn start_relay(listen: u16, turn: u16, condition: &Condition, seed: u64) -> RelayThread {
    let mut args = vec![
        "--listen".to_owned(),
        format!("{LOOPBACK}:{listen}"),
        "--upstream".to_owned(),
        format!("{LOOPBACK}:{turn}"),
        "--direction".to_owned(),
        "up".to_owned(),
        "--media-only".to_owned(),
        "--seed".to_owned(),
        seed.to_string(),
    ];
    args.extend(condition.netem.iter().map(|arg| (*arg).to_owned()));
    RelayThread::from_args(args).expect("start the netem relay")
}

struct CallResult {
    /// PESQ of what the callee heard (speech 0) and what the caller heard (speech 1).
    pesq: [f64; 2],
    /// Mean audio bitrate the caller sent (RTP payload).
    kbps: f64,
    recovery: String,
}

fn run_call(
    server: &Server,
    speech: &[Speech; 2],
    mode: &Mode,
    binary: Option<&Path>,
    dir: &Path,
    pesq: &Pesq,
) -> CallResult {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("call dir");
    let heard = [dir.join("callee-heard.wav"), dir.join("caller-heard.wav")];
    let longest = speech.iter().map(|s| s.samples48.len()).max().unwrap_or(0);
    // Room for call setup and the jitter buffer's delay, or the last words are cut off.
    let duration = Duration::from_millis(longest as u64 / 48 + 4_000);
    let with_binary = |b: support::ClientBuilder| match binary {
        Some(path) => b.binary(path),
        None => b,
    };
    let mut callee = with_binary(Client::listen(server))
        .auto_accept()
        .once()
        .relay_only()
        .input(&speech[1].wav48)
        .output(&heard[0])
        .args(mode.flags)
        .spawn();
    let mut caller = with_binary(Client::call(server, &callee.id))
        .hang_up_after(duration)
        .relay_only()
        .input(&speech[0].wav48)
        .output(&heard[1])
        .args(mode.flags)
        .spawn();
    caller.wait_media_started(Duration::from_secs(30));
    let t0 = Instant::now();
    caller.expect_exit_ok(duration + Duration::from_secs(30));
    let elapsed = t0.elapsed().as_secs_f64().max(1.0);
    callee.expect_exit_ok(Duration::from_secs(20));
    let bytes_sent = caller
        .events
        .iter()
        .filter(|e| e["event"] == "stats")
        .filter_map(|e| e["rtc"]["bytes_sent"].as_u64())
        .max()
        .unwrap_or(0);
    let kbps = bytes_sent as f64 * 8.0 / elapsed / 1000.0;
    let recovery = callee
        .events
        .iter()
        .rev()
        .find(|e| e["event"] == "ended" || e["event"] == "stats")
        .map(|e| summarise_media(&e["media"]))
        .unwrap_or_default();
    // The callee heard speech 0 (the caller's), the caller heard speech 1.
    let mut pairs = Vec::new();
    for (i, rec) in heard.iter().enumerate() {
        let deg = dir.join(format!("aligned{i}-16k.wav"));
        align_for_pesq(&speech[i].samples48, rec, &deg);
        pairs.push((speech[i].wav16.clone(), deg));
    }
    let scores: Vec<f64> = pesq
        .score(&pairs)
        .into_iter()
        .map(|s| s.expect("PESQ failed"))
        .collect();
    CallResult {
        pesq: [scores[0], scores[1]],
        kbps,
        recovery,
    }
}

fn summarise_media(media: &Value) -> String {
    let get = |k: &str| media[k].as_u64().unwrap_or(0);
    format!(
        "decoded {} red {} fec {} plc {} cn {} skip {} acc {} exp {} ms",
        get("frames_decoded"),
        get("frames_red"),
        get("frames_fec"),
        get("frames_concealed"),
        get("frames_comfort_noise"),
        get("frames_skipped"),
        get("samples_accelerated") / 48,
        get("samples_expanded") / 48
    )
}

fn mean(x: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = x.collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn pesq_table(args: &Args, results: &BTreeMap<(usize, usize), Vec<CallResult>>) -> String {
    let mut out = String::from("\n### PESQ (wideband, MOS-LQO)\n\n| network |");
    for mode in &args.modes {
        out += &format!(" {} |", mode.label);
    }
    if args.modes.len() >= 2 {
        out += &format!(" {} − {} |", args.modes[0].label, args.modes[1].label);
    }
    for mode in &args.modes {
        out += &format!(" {} kb/s |", mode.label);
    }
    out += "\n|---|";
    for _ in 0..(2 * args.modes.len() + usize::from(args.modes.len() >= 2)) {
        out += "---|";
    }
    out += "\n";
    for (ci, condition) in args.conditions.iter().enumerate() {
        out += &format!("| {} |", condition.label);
        let score = |mi: usize| {
            results
                .get(&(ci, mi))
                .map(|r| mean(r.iter().flat_map(|c| c.pesq)))
                .unwrap_or(f64::NAN)
        };
        for mi in 0..args.modes.len() {
            out += &format!(" {:.2} |", score(mi));
        }
        if args.modes.len() >= 2 {
            out += &format!(" {:+.2} |", score(0) - score(1));
        }
        for mi in 0..args.modes.len() {
            let kbps = results
                .get(&(ci, mi))
                .map(|r| mean(r.iter().map(|c| c.kbps)))
                .unwrap_or(f64::NAN);
            out += &format!(" {kbps:.0} |");
        }
        out += "\n";
    }
    out += &format!(
        "\nEach cell: mean of both directions of {} call(s) (two different passages, \
         12–14 s each).\n",
        args.repeat
    );
    out
}

/// µs per 20 ms frame of each capture stage, with Opus for scale.
fn cpu_table(speech: &[i16]) -> String {
    let frames: Vec<[i16; FRAME_SAMPLES]> = speech
        .chunks_exact(FRAME_SAMPLES)
        .map(|c| {
            let mut f = [0i16; FRAME_SAMPLES];
            f.copy_from_slice(c);
            f
        })
        .collect();
    let per_frame = |total: Duration, n: usize| total.as_secs_f64() * 1e6 / n.max(1) as f64;
    let processing = |config: ProcessingConfig| {
        let mut p = CaptureProcessor::new(config);
        let started = Instant::now();
        for (i, f) in frames.iter().enumerate() {
            let mut frame = *f;
            // Feed the speech as far-end too (shifted), as a call would.
            p.render(&frames[(i + 7) % frames.len()]);
            p.capture(&mut frame, false);
        }
        (per_frame(started.elapsed(), frames.len()), p.cost())
    };
    let (_, ns_cost) = processing(ProcessingConfig {
        noise_suppression: true,
        echo_cancellation: false,
        ..ProcessingConfig::default()
    });
    let (_, aec_cost) = processing(ProcessingConfig {
        noise_suppression: false,
        echo_cancellation: true,
        ..ProcessingConfig::default()
    });
    let (both, _) = processing(ProcessingConfig::default());
    let mut decoders: Vec<(u8, Decoder, Duration)> = [0, DEFAULT_DECODER_COMPLEXITY]
        .into_iter()
        .map(|c| {
            (
                c,
                Decoder::with_complexity(c).expect("decoder"),
                Duration::ZERO,
            )
        })
        .collect();
    let mut packet = [0u8; MAX_PACKET_BYTES];
    let mut pcm = [0i16; MAX_DECODED_SAMPLES];
    // Interleaved rounds, so a busy moment on the shared machine falls on every complexity.
    let mut encodes: Vec<(u8, Encoder, Duration)> = [9, 8, 7, 5, 3]
        .into_iter()
        .map(|complexity| {
            let settings = EncoderSettings {
                complexity,
                ..EncoderSettings::default()
            };
            let enc = Encoder::new(&settings).expect("encoder");
            (complexity, enc, Duration::ZERO)
        })
        .collect();
    let rounds = 3;
    for round in 0..rounds {
        for (complexity, enc, encode) in &mut encodes {
            for f in &frames {
                let t = Instant::now();
                let n = enc.encode(f, &mut packet).expect("encode");
                *encode += t.elapsed();
                if *complexity == 9 && round == 0 {
                    for (_, dec, decode) in &mut decoders {
                        let t = Instant::now();
                        let _ = dec.decode(&packet[..n], &mut pcm);
                        *decode += t.elapsed();
                    }
                }
            }
        }
    }
    let row = |name: &str, us: f64| format!("| {name} | {us:.0} | {:.2} % |\n", us / 200.0);
    let mut out = String::from(
        "\n### CPU per 20 ms frame (one core of this machine, release build)\n\n\
         | stage | µs / frame | share of one core |\n|---|---|---|\n",
    );
    out += &row(
        "noise suppression (RNNoise, nnnoiseless)",
        per_frame(ns_cost.noise, ns_cost.frames as usize),
    );
    out += &row(
        "echo cancellation (WebRTC AEC3, sonora 0.2)",
        per_frame(aec_cost.echo, aec_cost.frames as usize),
    );
    out += &row("both, with conversions", both);
    for (complexity, _, encode) in encodes {
        out += &row(
            &format!("Opus encode, 40 kb/s, complexity {complexity}"),
            per_frame(encode, rounds * frames.len()),
        );
    }
    for (complexity, _, decode) in decoders {
        out += &row(
            &format!("Opus decode, complexity {complexity}"),
            per_frame(decode, frames.len()),
        );
    }
    out
}
