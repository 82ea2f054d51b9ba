//! Shared by the benchmarks: the real signaling server and coturn (the test support code),
//! two engines in this process, and number formatting.
//!
//! Benchmarks print numbers; they never fail on a threshold. Each run measures its own
//! baseline, so numbers are only compared within one run.
#![allow(dead_code)] // each bench uses a different part of this module

pub mod conditions;

#[allow(unused_imports)] // benchmarks that start no servers or clients (echo) leave it unused
pub use voicecall_lab::support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_core::id::PeerId;
use voicecall_engine::controller::{Engine, EngineConfig, EngineEvent, EngineHandle, UserCommand};
use voicecall_engine::signaling::SignalingConfig;

pub const LOOPBACK: &str = "127.0.0.1";

/// Appends a bench's report to the file named by `VOICECALL_BENCH_OUT`, if set:
/// benches/run-all.sh collects every bench's tables into one file.
pub fn append_to_bench_out(report: &str) {
    use std::io::Write;
    if let Ok(all) = std::env::var("VOICECALL_BENCH_OUT") {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&all)
            .expect("open VOICECALL_BENCH_OUT");
        file.write_all(report.as_bytes()).expect("append report");
    }
}

/// `cargo bench` passes `--bench`; `cargo test --all-targets` runs bench targets without
/// it, and a benchmark must not run as a test. Returns false (after saying so) then.
pub fn invoked_as_benchmark(name: &str) -> bool {
    if std::env::args().any(|a| a == "--bench") {
        return true;
    }
    println!("{name}: a benchmark; run it with `cargo bench --bench {name}` or benches/run-all.sh");
    false
}

/// The number after `name` on the command line (`--calls 5`), or `default`.
pub fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// A multi-threaded tokio runtime for the engines in this process.
pub fn runtime() -> tokio::runtime::Runtime {
    // `RUST_LOG=voicecall_engine=debug` shows where a benchmark's time goes.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => panic!("tokio runtime: {err}"),
    }
}

/// Prints to stdout and appends to `$VOICECALL_BENCH_OUT` (run-all.sh collects the tables there).
pub struct Report {
    file: Option<std::fs::File>,
}

impl Report {
    pub fn new() -> Self {
        let file = std::env::var_os("VOICECALL_BENCH_OUT").and_then(|path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
        });
        Self { file }
    }

    pub fn line(&mut self, text: impl AsRef<str>) {
        use std::io::Write;
        let text = text.as_ref();
        println!("{text}");
        if let Some(file) = self.file.as_mut() {
            let _ = writeln!(file, "{text}");
        }
    }
}

/// Nearest-rank percentiles of a sample, in the sample's unit.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub n: usize,
    pub min: f64,
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
    pub mean: f64,
}

impl Summary {
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let idx = (p * sorted.len() as f64).ceil() as usize;
            sorted[idx.clamp(1, sorted.len()) - 1]
        };
        Some(Self {
            n: sorted.len(),
            min: sorted[0],
            p50: rank(0.5),
            p95: rank(0.95),
            max: sorted[sorted.len() - 1],
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
        })
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The machine, for the report header.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!(
        "{cpus} cores ({model}), load average {} at start",
        voicecall_lab::host::load_1min()
    )
}

/// One engine running in this process.
pub struct Peer {
    pub handle: EngineHandle,
    pub events: mpsc::UnboundedReceiver<EngineEvent>,
    pub id: PeerId,
    pub task: tokio::task::JoinHandle<()>,
}

/// An engine bound to loopback, with `input`/`output` as its devices.
pub fn engine_config(
    server: &str,
    input: InputSpec,
    output: OutputSpec,
    configure: impl FnOnce(&mut EngineConfig),
) -> EngineConfig {
    let mut config = EngineConfig::new(SignalingConfig::new(server));
    config.rtc.bind = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
    config.media.input = input;
    config.media.output = output;
    // Stats only on request: the periodic report would add work at random moments.
    config.stats_interval = Duration::from_secs(3600);
    configure(&mut config);
    config
}

impl Peer {
    pub async fn start(config: EngineConfig) -> Self {
        let (handle, mut events, task) = match Engine::start(config).await {
            Ok(started) => started,
            Err(err) => panic!("engine did not start: {err}"),
        };
        let id = match events.recv().await {
            Some(EngineEvent::Registered { id, .. }) => id,
            other => panic!("expected Registered first, got {other:?}"),
        };
        Self {
            handle,
            events,
            id,
            task,
        }
    }

    pub fn send(&self, command: UserCommand) {
        assert!(self.handle.send(command), "engine stopped");
    }

    /// The next event, or a panic after `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> EngineEvent {
        match tokio::time::timeout(timeout, self.events.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) => panic!("engine stopped"),
            Err(_) => panic!("no engine event within {timeout:?}"),
        }
    }

    /// Skips events until `pred` matches; returns it and when it was received.
    pub async fn wait_for(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&EngineEvent) -> bool,
    ) -> (EngineEvent, Instant) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.next(left).await;
            if pred(&event) {
                return (event, Instant::now());
            }
        }
    }

    /// Hangs up and waits until both this engine and `peer` report the call ended.
    pub async fn hang_up(&mut self, peer: &mut Peer, timeout: Duration) {
        self.send(UserCommand::Hangup);
        for side in [self, peer] {
            side.wait_for(timeout, |e| matches!(e, EngineEvent::Ended { .. }))
                .await;
        }
    }

    pub async fn stop(self) {
        self.handle.send(UserCommand::Shutdown);
        let _ = self.task.await;
    }
}
