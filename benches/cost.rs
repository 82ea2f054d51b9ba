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
//! The headless call is measured in several modes in the same run (`--modes`, default
//! `baseline,defaults`): `defaults`; `baseline`, the send path as it was before issue 10's
//! CPU work (Opus at the configured complexity 9 on every frame, RNNoise on every frame, no
//! noise floor or DTX hangover: `BASELINE_ARGS`); `denoise-always`, the defaults with
//! RNNoise on every speech frame even from the clean WAV microphone (main before the
//! clean-microphone bypass); `decoder0`, `decoder5`, `decoder6`, `decoder7`, the defaults
//! with the Opus decoder at that complexity; `speech7`, speech encoded at complexity 7 (main
//! before 8); `pump-ticks`, `rtc-shared`, `no-stretch`, the defaults with `--pump-ticks`,
//! `--rtc-shared-runtime` or `--no-time-stretch`. `--rounds N` repeats the modes N times,
//! alternating, and adds a table of means with each process's CPU split by thread (from
//! /proc/PID/task/*/schedstat, nanoseconds on CPU), so differences of a few tenths of a
//! percent can be told from the machine's load; each row carries the load average at its end.
//!
//! `cargo bench --bench cost [-- --window S --rounds N --modes baseline,denoise-always,defaults]`

mod common;

use std::time::{Duration, Instant};

use common::support::{Client, DesktopApp, Server, Xvfb, asset};
use common::{Report, arg, invoked_as_benchmark, machine};
use voicecall_lab::host;

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

/// `voicecall` switches of each mode of `--modes`.
fn mode_args(mode: &str) -> Option<&'static [&'static str]> {
    match mode {
        "baseline" => Some(&BASELINE_ARGS),
        "denoise-always" => Some(&["--denoise-always"]),
        "defaults" => Some(&[]),
        "decoder0" => Some(&["--decoder-complexity", "0"]),
        "decoder5" => Some(&["--decoder-complexity", "5"]),
        "decoder6" => Some(&["--decoder-complexity", "6"]),
        "decoder7" => Some(&["--decoder-complexity", "7"]),
        "speech7" => Some(&["--high-rate-complexity", "7"]),
        "pump-ticks" => Some(&["--pump-ticks"]),
        "rtc-shared" => Some(&["--rtc-shared-runtime"]),
        "no-stretch" => Some(&["--no-time-stretch"]),
        _ => None,
    }
}

/// The value after `name` on the command line.
fn text_arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

/// Which thread a task's name belongs to, for the split.
fn thread_group(comm: &str) -> &'static str {
    if comm.starts_with("voicecall-audio") {
        "pump"
    } else if comm.starts_with("tokio-rt") {
        "tokio"
    } else if comm.starts_with("voicecall-wav") {
        "wav devices"
    } else {
        "other"
    }
}

const GROUPS: [&str; 4] = ["pump", "tokio", "wav devices", "other"];

/// Nanoseconds on CPU so far of each of the process's threads, by task id.
fn thread_ns(pid: u32) -> Vec<(u32, &'static str, u64)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| {
            let dir = t.ok()?.path();
            let tid: u32 = dir.file_name()?.to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
            let ns = std::fs::read_to_string(dir.join("schedstat"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            Some((tid, thread_group(comm.trim()), ns))
        })
        .collect()
}

/// % of one core per thread group between two `thread_ns` readings `secs` apart (threads
/// in both only).
fn split(
    before: &[(u32, &'static str, u64)],
    after: &[(u32, &'static str, u64)],
    secs: f64,
) -> [f64; 4] {
    let mut out = [0.0; 4];
    for &(tid, group, ns) in after {
        if let Some(&(_, _, was)) = before.iter().find(|b| b.0 == tid) {
            let g = GROUPS.iter().position(|&x| x == group).unwrap_or(3);
            out[g] += ns.saturating_sub(was) as f64 / 1e9 / secs * 100.0;
        }
    }
    out
}

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

/// One mode's call, for the means over rounds.
struct CallCost {
    mode: String,
    one_call: f64,
    /// Callee and caller in the call, each split by `GROUPS` (schedstat).
    threads: [[f64; 4]; 2],
}

/// One call between two headless clients started with `args`; rows labelled `label`.
fn headless(server: &Server, window: Duration, label: &str, args: &[&str]) -> (Vec<Row>, CallCost) {
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
    let pids = [callee.pid(), caller.pid()];
    let threads_before = pids.map(thread_ns);
    let started = Instant::now();
    let in_call = cpu_percent(&pids, window);
    let secs = started.elapsed().as_secs_f64();
    let threads = [0, 1].map(|i| split(&threads_before[i], &thread_ns(pids[i]), secs));
    let label = format!("{label} (load {})", host::load_1min());
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
    let cost = CallCost {
        mode: String::new(),
        one_call: in_call[0] - idle,
        threads,
    };
    (rows, cost)
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
    let rounds = arg("--rounds", 1.0).max(1.0) as usize;
    let modes = text_arg("--modes").unwrap_or_else(|| "baseline,defaults".into());
    let modes: Vec<(&str, &[&str])> = modes
        .split(',')
        .map(|m| match mode_args(m) {
            Some(args) => (m, args),
            None => panic!(
                "cost: unknown mode {m:?} (baseline, denoise-always, defaults, decoder0/5/6/7, \
                 speech7, pump-ticks, rtc-shared, no-stretch)"
            ),
        })
        .collect();
    let server = Server::builder().for_benchmarks().start();
    let mut rows = Vec::new();
    let mut calls = Vec::new();
    for round in 0..rounds {
        for &(mode, args) in &modes {
            let label = if rounds > 1 {
                format!("{mode}, round {}", round + 1)
            } else {
                mode.to_owned()
            };
            let (r, mut cost) = headless(&server, window, &label, args);
            eprintln!("cost: {label}: one call {:.2} %", cost.one_call);
            cost.mode = mode.to_owned();
            rows.extend(r);
            calls.push(cost);
        }
    }
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
    report.line(format!(
        "\nMeans over {rounds} round(s), % of one core; callee and caller in the call split by \
         thread (schedstat):\n"
    ));
    report.line(
        "| mode | one call (callee − idle) | callee: pump | tokio | wav devices | other | **total** | caller: total |",
    );
    report.line("|---|---:|---:|---:|---:|---:|---:|---:|");
    for &(mode, _) in &modes {
        let of: Vec<&CallCost> = calls.iter().filter(|c| c.mode == mode).collect();
        let n = of.len().max(1) as f64;
        let mean = |f: &dyn Fn(&CallCost) -> f64| of.iter().map(|c| f(c)).sum::<f64>() / n;
        let callee: Vec<f64> = (0..4).map(|g| mean(&|c| c.threads[0][g])).collect();
        report.line(format!(
            "| {mode} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | **{:.2}** | {:.2} |",
            mean(&|c| c.one_call),
            callee[0],
            callee[1],
            callee[2],
            callee[3],
            callee.iter().sum::<f64>(),
            mean(&|c| c.threads[1].iter().sum()),
        ));
    }
}
