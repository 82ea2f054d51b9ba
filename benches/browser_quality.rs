//! voicecall beside Chromium, in the same run: calls between the native client and the web
//! client at `/` in Debian's headless chromium (puppeteer-core, fake microphone playing a
//! WAV once, the far end recorded with WebAudio), and each kind with its own kind as the
//! baseline. Every call is relay-only through the same coturn, with `voicecall-netem`
//! impairing each client's RTP on its way to TURN, and carries the quality benchmark's two
//! espeak-ng passages (the caller speaks the first, the callee the second), scored with the
//! same wideband PESQ (`support::pesq`). Rows:
//!
//! - voicecall → Chromium and Chromium → voicecall (one mixed call gives both; who calls
//!   alternates from one repetition to the next, so each row hears both passages);
//! - Chromium → Chromium (two chromium instances) and voicecall → voicecall.
//!
//! The three kinds of call take turns within each repetition, so the machine's load falls
//! on every row alike. Each row prints its median, its spread (min–max) and the sender's
//! kb/s; setup is the caller's Call → first audio heard, for rows whose receiver called.
//!
//!   benches/browser_quality.sh [--repeat N] [--conditions 0,5r,10r,20r,5b,jit] [--kinds mixed,chromium,native]
//!                              [--native-variants ';--no-dtx;--no-noise-suppression']
//!
//! `--native-variants` makes every call with a native end once per set of extra `voicecall`
//! arguments (the empty set: the defaults), each set a row of its own. Under each score
//! the sender's pacing is printed as the relay received its packets (bursts, delay beyond
//! the fastest packet of the last 2 s), beside the receiver's counters; each end's
//! once-a-second stats are kept in `target/browser-quality-bench/<call>/*-stats.jsonl`.
//!
//! The whole benchmark runs in a network namespace of its own with only loopback
//! (`support::netns::isolate_loopback_only`): chromium offers every interface it sees.

mod common;

use common::conditions::{Condition, condition};
use voicecall_lab::host::{self, CpuTimes};
use voicecall_lab::netem::{Pacing, RelayThread, pacing_by_ssrc};
use voicecall_lab::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use serde_json::Value;
use support::pesq::{Pesq, Speech, align_for_pesq};
use support::turn::{Coturn, free_port};
use support::{Browser, BrowserBuilder, Client, Server};

const LOOPBACK: &str = "127.0.0.1";
/// Chromium's fake microphone starts at Call/Accept, before media flows: more silence in
/// front keeps a slow connection from cutting the first words.
const BROWSER_LEAD_SECONDS: f64 = 1.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
enum Kind {
    /// voicecall and chromium call each other.
    Mixed,
    /// Two chromium instances.
    Chromium,
    /// Two voicecall clients.
    Native,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum End {
    /// voicecall with the extra arguments of `--native-variants` entry `n` (0: as given first).
    Voicecall(usize),
    Chromium,
}

impl End {
    fn name(self, variants: &[Vec<String>]) -> String {
        match self {
            End::Voicecall(v) => match variants.get(v) {
                Some(args) if !args.is_empty() => format!("voicecall [{}]", args.join(" ")),
                _ => "voicecall".to_owned(),
            },
            End::Chromium => "Chromium".to_owned(),
        }
    }
}

/// One direction of one call.
struct Sample {
    pesq: f64,
    kbps: Option<f64>,
    /// Call → first audio, when the receiver of this direction placed the call.
    setup_ms: Option<f64>,
    /// What the receiver's own counters said (concealment, time-stretching, skips).
    receiver: String,
    /// How the sender paced its packets, as the relay received them (when its SSRC is
    /// known: a stream to or from chromium).
    pacing: Option<Pacing>,
}

/// voicecall beside Chromium on the same lines.
#[derive(Parser)]
struct Args {
    /// Network conditions, by key (0, 5r, 10r, 20r, 5b, jit).
    #[arg(long, value_delimiter = ',', value_parser = condition, default_value = "0,10r")]
    conditions: Vec<&'static Condition>,
    /// Kinds of call.
    #[arg(
        long,
        value_delimiter = ',',
        value_enum,
        default_value = "mixed,chromium,native"
    )]
    kinds: Vec<Kind>,
    /// Repetitions of every kind of call on every line.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Extra `voicecall` arguments, one set per variant of the native end, separated by `;`:
    /// every call with a native end is made once per variant, so a setting is compared in
    /// the same run (the empty set: the defaults).
    #[arg(long = "native-variants", value_parser = variants, default_value = "")]
    variants: Variants,
    /// Every chromium page says `usedtx=1` in its Opus fmtp, so its peer (chromium, or a
    /// voicecall that honours it) sends it DTX; with `--native-variants '--ask-usedtx'`
    /// chromium sends DTX to voicecall too.
    #[arg(long)]
    chromium_asks_dtx: bool,
    /// Passed by `cargo bench` to every benchmark.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Clone)]
struct Variants(Vec<Vec<String>>);

fn variants(list: &str) -> Result<Variants, String> {
    Ok(Variants(
        list.split(';')
            .map(|v| v.split_whitespace().map(str::to_owned).collect())
            .collect(),
    ))
}

fn main() {
    // `cargo test --all-targets` runs bench targets too; this one takes many minutes.
    if !std::env::args().any(|a| a == "--bench") {
        println!("browser_quality: a benchmark; run it with benches/browser_quality.sh");
        return;
    }
    if let Some(why) = Browser::unavailable() {
        println!("browser_quality: skipped: {why}");
        return;
    }
    support::netns::isolate_loopback_only();
    let args = Args::parse();
    let dir = support::repo().join("target/browser-quality-bench");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let load = host::load_average();
    let cpu_at_start = CpuTimes::now();
    let started = Instant::now();
    let pesq = Pesq::from_env();
    let speech = Speech::prepare(&dir);
    let browser_input = [
        speech[0].with_lead(BROWSER_LEAD_SECONDS),
        speech[1].with_lead(BROWSER_LEAD_SECONDS),
    ];

    let turn = Coturn::on_loopback();
    let relay_port = free_port();
    let server = Server::builder()
        .for_benchmarks()
        .envs(turn.server_env_via(LOOPBACK, &format!("{LOOPBACK}:{relay_port}")))
        .start();

    let mut rows: BTreeMap<(usize, End, End), Vec<Sample>> = BTreeMap::new();
    for (ci, condition) in args.conditions.iter().enumerate() {
        for rep in 0..args.repeat {
            let relay = start_relay(relay_port, turn.port, condition, 11 + rep as u64);
            let calls = args.kinds.iter().flat_map(|&kind| {
                // Calls with a native end once per native variant.
                let variants = if kind != Kind::Chromium {
                    args.variants.0.len()
                } else {
                    1
                };
                (0..variants).map(move |v| (kind, v))
            });
            for (kind, v) in calls {
                let name = format!("{}-{kind:?}-{v}-{rep}", condition.key);
                let call_dir = dir.join(&name);
                let _ = std::fs::remove_dir_all(&call_dir);
                std::fs::create_dir_all(&call_dir).expect("call dir");
                let native = End::Voicecall(v);
                let ends = match kind {
                    Kind::Mixed if rep % 2 == 0 => [native, End::Chromium],
                    Kind::Mixed => [End::Chromium, native],
                    Kind::Chromium => [End::Chromium, End::Chromium],
                    Kind::Native => [native, native],
                };
                let call = Call {
                    server: &server,
                    speech: &speech,
                    browser_input: &browser_input,
                    dir: &call_dir,
                    pesq: &pesq,
                    variants: &args.variants.0,
                    relay: &relay,
                    chromium_asks_dtx: args.chromium_asks_dtx,
                };
                // A peer that fails to start (chromium is slow to come up on a loaded
                // machine) costs that call, not the run.
                let cpu = CpuTimes::now();
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call.run(ends)))
                        .unwrap_or_else(|_| {
                            Err("a peer failed to start (see the panic above)".into())
                        });
                match outcome {
                    Ok(samples) => {
                        let steal = host::fmt_steal(cpu.and_then(CpuTimes::steal_percent));
                        for (from, to, sample) in samples {
                            println!(
                                "{:<18} {:<9} → {:<9} PESQ {:.2}  {} kb/s  setup {}  steal {steal}  [{}]\n{:>21}sent: {}",
                                condition.label,
                                from.name(&args.variants.0),
                                to.name(&args.variants.0),
                                sample.pesq,
                                fmt_opt(sample.kbps, 1),
                                fmt_opt(sample.setup_ms, 0),
                                sample.receiver,
                                "",
                                sample
                                    .pacing
                                    .map_or_else(|| "–".to_owned(), |p| p.to_string()),
                            );
                            rows.entry((ci, from, to)).or_default().push(sample);
                        }
                    }
                    Err(err) => println!("{} {name}: call failed: {err}", condition.label),
                }
            }
            drop(relay);
        }
    }

    let steal = cpu_at_start.and_then(CpuTimes::steal_percent);
    let table = report(&args, &rows, &load, steal, started.elapsed());
    println!("{table}");
    std::fs::write(dir.join("report.md"), &table).expect("write report");
    common::append_to_bench_out(&table);
}

fn start_relay(listen: u16, turn: u16, condition: &Condition, seed: u64) -> RelayThread {
    let mut args: Vec<String> = [
        "--listen",
        &format!("{LOOPBACK}:{listen}"),
        "--upstream",
        &format!("{LOOPBACK}:{turn}"),
        "--direction",
        "up",
        "--media-only",
        "--seed",
        &seed.to_string(),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(condition.netem.iter().map(|arg| (*arg).to_owned()));
    RelayThread::from_args(args).expect("start the netem relay")
}

struct Call<'a> {
    server: &'a Server,
    speech: &'a [Speech; 2],
    browser_input: &'a [PathBuf; 2],
    dir: &'a Path,
    pesq: &'a Pesq,
    variants: &'a [Vec<String>],
    relay: &'a RelayThread,
    chromium_asks_dtx: bool,
}

impl Call<'_> {
    /// What every chromium end of the run shares.
    fn browser(&self, page: BrowserBuilder) -> BrowserBuilder {
        let page = page.relay_only();
        if self.chromium_asks_dtx {
            page.ask_for_dtx()
        } else {
            page
        }
    }

    /// One call, `ends[0]` calling `ends[1]`; the caller speaks passage 0, the callee
    /// passage 1. Returns (from, to, sample) for both directions.
    fn run(&self, ends: [End; 2]) -> Result<Vec<(End, End, Sample)>, String> {
        let longest = self.speech.iter().map(Speech::seconds).fold(0.0, f64::max);
        // Room for the browser's longer lead and the jitter buffers' delay.
        let duration = Duration::from_secs_f64(longest + BROWSER_LEAD_SECONDS + 2.5);
        let heard = [
            self.dir.join("callee-heard.wav"),
            self.dir.join("caller-heard.wav"),
        ];
        let mut callee = match ends[1] {
            End::Voicecall(v) => Client::listen(self.server)
                .args(&self.variants[v])
                .auto_accept()
                .once()
                .relay_only()
                .input(&self.speech[1].wav48)
                .output(&heard[0])
                .spawn(),
            End::Chromium => self
                .browser(Browser::listen(self.server))
                .input(&self.browser_input[1])
                .output(&heard[0])
                .spawn(),
        };
        let mut caller = match ends[0] {
            End::Voicecall(v) => Client::call(self.server, &callee.id)
                .args(&self.variants[v])
                .hang_up_after(duration)
                .relay_only()
                .input(&self.speech[0].wav48)
                .output(&heard[1])
                .spawn(),
            End::Chromium => self
                .browser(Browser::call(self.server, &callee.id))
                .hang_up_after(duration)
                .input(&self.browser_input[0])
                .output(&heard[1])
                .spawn(),
        };
        self.relay.stats.arrivals.start();
        let limit = duration + Duration::from_secs(60);
        let caller_status = caller.wait_exit(limit);
        let callee_status = callee.wait_exit(Duration::from_secs(30));
        if !caller_status.success() || !callee_status.success() {
            return Err(format!(
                "caller {caller_status}, callee {callee_status}\ncaller stderr:\n{}\ncallee stderr:\n{}",
                caller.stderr(),
                callee.stderr()
            ));
        }
        // Passage i was heard by the callee (i = 0) or the caller (i = 1).
        let mut pairs = Vec::new();
        for (i, rec) in heard.iter().enumerate() {
            let deg = self.dir.join(format!("aligned{i}-16k.wav"));
            align_for_pesq(&self.speech[i].samples48, rec, &deg);
            pairs.push((self.speech[i].wav16.clone(), deg));
        }
        let scores = self.pesq.score(&pairs);
        let pacing = pacing_by_ssrc(&self.relay.stats.arrivals.take());
        let parties = [(&caller, ends[0]), (&callee, ends[1])];
        for (party, role) in [(&caller, "caller"), (&callee, "callee")] {
            let lines: Vec<String> = party.events_named("stats").map(Value::to_string).collect();
            let _ = std::fs::write(
                self.dir.join(format!("{role}-stats.jsonl")),
                lines.join("\n"),
            );
        }
        let mut out = Vec::new();
        // Direction 0: caller → callee; direction 1: callee → caller.
        for (i, score) in scores.into_iter().enumerate() {
            let (sender, from) = parties[i];
            let (receiver, to) = parties[1 - i];
            let Some(pesq) = score else {
                return Err(format!("PESQ could not score {}", pairs[i].1.display()));
            };
            out.push((
                from,
                to,
                Sample {
                    pesq,
                    kbps: sent_kbps(sender, from),
                    // The receiver of direction 1 is the caller.
                    setup_ms: (i == 1).then(|| setup_ms(receiver)).flatten(),
                    receiver: receiver_summary(receiver, to),
                    pacing: stream_ssrc(sender, from, receiver, to)
                        .and_then(|ssrc| pacing.get(&ssrc).copied()),
                },
            ));
        }
        Ok(out)
    }
}

/// Mean send rate over the call (silences included), from the sender's own stats taken
/// each second: `outbound-rtp.bytesSent` for chromium, `bytes_sent` for voicecall.
fn sent_kbps(client: &Client, end: End) -> Option<f64> {
    match end {
        End::Chromium => {
            // The page's last report may come after its stream has gone (no outbound-rtp).
            let bytes = |s: &Value| s["outbound"]["bytesSent"].as_f64();
            let stats: Vec<&Value> = client
                .events_named("stats")
                .filter(|s| bytes(s).is_some())
                .collect();
            let (first, last) = (stats.first()?, stats.last()?);
            let ms = last["at"].as_f64()? - first["at"].as_f64()?;
            let sent = bytes(last)? - bytes(first)?;
            (ms > 0.0).then(|| sent * 8.0 / ms)
        }
        End::Voicecall(_) => {
            // One stats event a second while the call lasts.
            let bytes: Vec<f64> = client
                .events_named("stats")
                .filter_map(|e| e["rtc"]["bytes_sent"].as_f64())
                .collect();
            let seconds = bytes.len().checked_sub(1)? as f64;
            (seconds > 0.0).then(|| (bytes[bytes.len() - 1] - bytes[0]) * 8.0 / seconds / 1000.0)
        }
    }
}

/// The SSRC of the stream `sender` sent to `receiver`, from chromium's stats at either end.
fn stream_ssrc(sender: &Client, from: End, receiver: &Client, to: End) -> Option<u32> {
    let last = |c: &Client, key: &str| {
        c.events_named("stats")
            .filter_map(|e| e[key]["ssrc"].as_u64())
            .last()
    };
    let ssrc = match (from, to) {
        (End::Chromium, _) => last(sender, "outbound"),
        (_, End::Chromium) => last(receiver, "inbound"),
        _ => None,
    }?;
    u32::try_from(ssrc).ok()
}

fn setup_ms(client: &Client) -> Option<f64> {
    client.event("first_audio")?["setup_ms"].as_f64()
}

/// The receiving end's own view: chromium's NetEq counters, or our jitter buffer's.
fn receiver_summary(client: &Client, end: End) -> String {
    match end {
        End::Chromium => {
            // The callee's page may close before its last poll: then its last stats event.
            let from_end = client
                .event("ended")
                .map(|e| &e["stats"]["inbound"])
                .filter(|s| !s.is_null());
            let Some(s) = from_end.or_else(|| {
                client
                    .events_named("stats")
                    .map(|e| &e["inbound"])
                    .filter(|s| !s.is_null())
                    .last()
            }) else {
                return String::new();
            };
            let f = |k: &str| s[k].as_f64().unwrap_or(f64::NAN);
            let emitted = f("jitterBufferEmittedCount");
            format!(
                "packets {} lost {} jitter {:.1} ms concealed {:.0} ms (silent {:.0} ms, {} events) inserted {:.0} ms removed {:.0} ms jb {:.0} ms",
                s["packetsReceived"],
                s["packetsLost"],
                1000.0 * f("jitter"),
                f("concealedSamples") / 48.0,
                f("silentConcealedSamples") / 48.0,
                s["concealmentEvents"],
                f("insertedSamplesForDeceleration") / 48.0,
                f("removedSamplesForAcceleration") / 48.0,
                1000.0 * f("jitterBufferDelay") / emitted,
            )
        }
        End::Voicecall(_) => {
            let media = client
                .event("ended")
                .map(|e| e["media"].clone())
                .unwrap_or_default();
            let g = |k: &str| media[k].as_u64().unwrap_or(0);
            format!(
                "decoded {} red {} fec {} plc {} cn {} skipped {} held {} padding {} jb {} ms underruns {} late fills {}",
                g("frames_decoded"),
                g("frames_red"),
                g("frames_fec"),
                g("frames_concealed"),
                g("frames_comfort_noise"),
                g("frames_skipped"),
                g("frames_held"),
                g("packets_padding"),
                g("jitter_depth_ms"),
                g("output_underruns"),
                g("late_fills"),
            )
        }
    }
}

fn fmt_opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.decimals$}"))
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn report(
    args: &Args,
    rows: &BTreeMap<(usize, End, End), Vec<Sample>>,
    load_at_start: &str,
    steal: Option<f64>,
    took: Duration,
) -> String {
    let mut out = format!(
        "\n### voicecall beside Chromium (PESQ-WB, relay-only through coturn)\n\n\
         load average {load_at_start} at start, {} at the end; CPU time stolen by the \
         hypervisor {}; {:.0} min; {} repetitions{}\n\n\
         | network | direction | calls | median | min–max | spread | kb/s (sender) | setup ms (median) |\n\
         |---|---|---:|---:|---|---:|---:|---:|\n",
        host::load_average(),
        host::fmt_steal(steal),
        took.as_secs_f64() / 60.0,
        args.repeat,
        if args.chromium_asks_dtx {
            "; chromium pages ask for DTX (usedtx=1)"
        } else {
            ""
        },
    );
    let mut order = Vec::new();
    for v in 0..args.variants.0.len() {
        order.push((End::Voicecall(v), End::Chromium));
        order.push((End::Chromium, End::Voicecall(v)));
    }
    order.push((End::Chromium, End::Chromium));
    for v in 0..args.variants.0.len() {
        order.push((End::Voicecall(v), End::Voicecall(v)));
    }
    for (ci, condition) in args.conditions.iter().enumerate() {
        for &(from, to) in &order {
            let Some(samples) = rows.get(&(ci, from, to)) else {
                continue;
            };
            let mut scores: Vec<f64> = samples.iter().map(|s| s.pesq).collect();
            scores.sort_by(f64::total_cmp);
            let mut kbps: Vec<f64> = samples.iter().filter_map(|s| s.kbps).collect();
            kbps.sort_by(f64::total_cmp);
            let mut setup: Vec<f64> = samples.iter().filter_map(|s| s.setup_ms).collect();
            setup.sort_by(f64::total_cmp);
            let (lo, hi) = (scores[0], scores[scores.len() - 1]);
            out += &format!(
                "| {} | {} → {} | {} | {:.2} | {lo:.2}–{hi:.2} | {:.2} | {} | {} |\n",
                condition.label,
                from.name(&args.variants.0),
                to.name(&args.variants.0),
                scores.len(),
                median(&scores),
                hi - lo,
                if kbps.is_empty() {
                    "–".to_owned()
                } else {
                    format!("{:.0}", median(&kbps))
                },
                if setup.is_empty() {
                    "–".to_owned()
                } else {
                    format!("{:.0}", median(&setup))
                },
            );
        }
    }
    out += "\nEach call carries two passages (12–14 s of speech each), one each way; a mixed \
            call counts once in each of its two rows. Spread is max − min.\n";
    out
}
