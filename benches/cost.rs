//! CPU and memory: the headless client idle (registered, no call) against in a call, and
//! the desktop app idle.
//!
//! CPU is process time (user + system, all threads) from /proc/PID/stat over a fixed
//! window, as a percentage of one core; a call's cost is the in-call figure minus the idle
//! one, measured on the same process. Both clients play speech in a loop (so Opus works on
//! speech, not silence) and discard what they hear. RSS is VmRSS from /proc/PID/status.
//! The desktop app runs under Xvfb with the tiny-skia renderer, measured once it has
//! registered and settled.
//!
//! The headless call is measured twice in the same run: with the defaults, and as the
//! baseline with the send path as it was before issue 10's CPU work (Opus at the configured
//! complexity 9 on every frame, RNNoise on every frame, no noise floor or DTX hangover:
//! `BASELINE_ARGS`).
//!
//! `cargo bench --bench cost [-- --window S]`

mod common;

use std::time::{Duration, Instant};

use common::support::{Client, DesktopApp, Server, Xvfb, asset};
use common::{Report, arg, invoked_as_benchmark, machine};

/// /proc/PID/stat counts in USER_HZ ticks, 100 per second on Linux.
const TICKS_PER_SECOND: f64 = 100.0;
const SETTLE: Duration = Duration::from_secs(3);
/// `voicecall` switches that restore the send path before the CPU savings.
const BASELINE_ARGS: [&str; 5] = [
    "--no-cpu-savings",
    "--noise-floor-db",
    "0",
    "--dtx-hangover-ms",
    "0",
];

/// User + system CPU seconds of the whole process so far.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces; the fields after it are fixed.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn mb(kb: Option<u64>) -> String {
    kb.map_or("?".into(), |kb| format!("{:.1}", kb as f64 / 1024.0))
}

/// CPU % of one core of each process over the same `window`.
fn cpu_percent(pids: &[u32], window: Duration) -> Vec<f64> {
    let before: Vec<Option<f64>> = pids.iter().map(|&p| cpu_seconds(p)).collect();
    let started = Instant::now();
    std::thread::sleep(window);
    let elapsed = started.elapsed().as_secs_f64();
    pids.iter()
        .zip(before)
        .map(|(&pid, before)| match (before, cpu_seconds(pid)) {
            (Some(b), Some(a)) => (a - b) / elapsed * 100.0,
            _ => f64::NAN,
        })
        .collect()
}

struct Row {
    what: String,
    cpu: f64,
    rss_kb: Option<u64>,
}

/// One call between two headless clients started with `args`; rows labelled `label`.
fn headless(server: &Server, window: Duration, label: &str, args: &[&str]) -> Vec<Row> {
    let callee = Client::listen(server)
        .auto_accept()
        .once()
        .input_loop(&asset("speech-b.wav"))
        .args(args)
        .spawn();
    std::thread::sleep(SETTLE);
    let idle = cpu_percent(&[callee.pid()], window)[0];
    let idle_rss = status_kb(callee.pid(), "VmRSS:");
    let mut caller = Client::call(server, &callee.id)
        .hang_up_after(Duration::from_secs(window.as_secs() * 2 + 30))
        .input_loop(&asset("speech-a.wav"))
        .args(args)
        .spawn();
    caller.wait_event("first_audio", Duration::from_secs(20));
    std::thread::sleep(SETTLE);
    let in_call = cpu_percent(&[callee.pid(), caller.pid()], window);
    let rows = vec![
        Row {
            what: format!("{label}: headless client, idle (registered, no call)"),
            cpu: idle,
            rss_kb: idle_rss,
        },
        Row {
            what: format!("{label}: headless client, in a call (callee; same process as above)"),
            cpu: in_call[0],
            rss_kb: status_kb(callee.pid(), "VmRSS:"),
        },
        Row {
            what: format!("{label}: headless client, in a call (caller)"),
            cpu: in_call[1],
            rss_kb: status_kb(caller.pid(), "VmRSS:"),
        },
        Row {
            what: format!("{label}: **one call** (callee in call − idle)"),
            cpu: in_call[0] - idle,
            rss_kb: status_kb(callee.pid(), "VmRSS:")
                .zip(idle_rss)
                .map(|(a, b)| a.saturating_sub(b)),
        },
    ];
    drop(caller);
    drop(callee);
    rows
}

/// The desktop app idle under Xvfb; `None` where it cannot run.
fn gui_idle(server: &Server, window: Duration) -> Option<Row> {
    let display = Xvfb::start().ok()?;
    let app = DesktopApp::on(&display, server).spawn().ok()?;
    std::thread::sleep(SETTLE);
    let pid = app.pid();
    let cpu = cpu_percent(&[pid], window)[0];
    Some(Row {
        what: "desktop app, idle (Xvfb, tiny-skia, registered)".into(),
        cpu,
        rss_kb: status_kb(pid, "VmRSS:"),
    })
}

fn main() {
    if !invoked_as_benchmark("cost") {
        return;
    }
    let window = Duration::from_secs_f64(arg("--window", 15.0));
    let server = Server::builder().for_benchmarks().start();
    let mut rows = headless(&server, window, "baseline", &BASELINE_ARGS);
    rows.extend(headless(&server, window, "defaults", &[]));
    match gui_idle(&server, window) {
        Some(row) => rows.push(row),
        None => eprintln!("cost: could not run the desktop app under Xvfb; skipped"),
    }
    let mut report = Report::new();
    report.line(format!(
        "\n### CPU and memory ({}-second windows)\n",
        window.as_secs()
    ));
    report.line(format!("machine: {}\n", machine()));
    report.line("| process | CPU % of one core | RSS MB |");
    report.line("|---|---:|---:|");
    for row in rows {
        report.line(format!(
            "| {} | {:.2} | {} |",
            row.what,
            row.cpu,
            mb(row.rss_kb)
        ));
    }
}
