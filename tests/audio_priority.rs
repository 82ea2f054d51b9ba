//! The threads that pace a call's audio run at audio priority, as chromium's do (issue 17):
//! the media pump on a thread of its own, `voicecall-audio`, the devices' threads (here the
//! WAV stand-ins) and the thread webrtc-rs' connection driver runs on, `voicecall-rtc`,
//! which does SRTP and the send of every packet the pump writes. On a loaded machine a pump
//! or driver at the default priority let frames leave late and in bursts, and chromium's
//! NetEq answered with a deeper buffer and time-stretched speech (docs/quality.md). Where
//! the system grants real-time scheduling (root or CAP_SYS_NICE, as on CI), they must have
//! SCHED_RR priority 8.

use std::path::Path;
use std::time::{Duration, Instant};

use voicecall_lab::support::{Client, Server, asset};

/// SCHED_RR in /proc's `policy` field.
const SCHED_RR: u64 = 2;
const CAP_SYS_NICE: u32 = 23;
/// Wake-ups that show the webrtc driver thread carries the call's packets.
const DRIVER_WAKE_UPS: u64 = 50;

/// Name, scheduling policy and real-time priority of each thread of `pid`.
fn threads(pid: u32) -> Vec<(String, u64, u64)> {
    let dir = format!("/proc/{pid}/task");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir}: {e}")) {
        let task = entry.expect("task entry").path();
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(task.join("comm")),
            std::fs::read_to_string(task.join("stat")),
        ) else {
            continue; // the thread ended meanwhile
        };
        // Fields after the command name start at field 3; rt_priority is 40, policy 41.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse().ok()).unwrap_or(0);
        out.push((comm.trim().to_owned(), field(41), field(40)));
    }
    out
}

/// How often the thread named `name` of `pid` has been woken so far (its voluntary context
/// switches); `None` once it or the process is gone.
fn wake_ups(pid: u32, name: &str) -> Option<u64> {
    let dir = format!("/proc/{pid}/task");
    std::fs::read_dir(&dir).ok()?.find_map(|entry| {
        let task = entry.ok()?.path();
        let comm = std::fs::read_to_string(task.join("comm")).ok()?;
        if comm.trim() != name {
            return None;
        }
        let status = std::fs::read_to_string(task.join("status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|n| n.trim().parse().ok())
    })
}

fn may_raise_priority() -> bool {
    let status = std::fs::read_to_string(Path::new("/proc/self/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_NICE) != 0)
}

#[test]
fn the_audio_pump_and_devices_run_at_audio_priority() {
    let server = Server::start();
    let mut callee = Client::listen(&server)
        .auto_accept()
        .once()
        .input(asset("speech-b.wav"))
        .output("discard")
        .spawn();
    let mut caller = Client::call(&server, &callee.id)
        .hang_up_after(Duration::from_secs(3))
        .input(asset("speech-a.wav"))
        .output("discard")
        .spawn();
    caller.wait_media_started(Duration::from_secs(30));
    // The devices' threads are spawned before the pump's, but a new thread takes its name
    // and raises its own priority only once it first runs, and on a loaded machine the
    // pump (already real-time) can run before them: until then a device thread still
    // shows its parent's name. Look until all three are there and settled (or the call
    // is over and they never came).
    let raise = may_raise_priority();
    let deadline = Instant::now() + Duration::from_secs(10);
    let seen = loop {
        let seen = threads(caller.pid());
        let settled = |prefix: &str| {
            seen.iter().any(|(name, policy, _)| {
                name.starts_with(prefix) && (!raise || *policy == SCHED_RR)
            })
        };
        let all_settled = [
            "voicecall-audio",
            "voicecall-wav-i",
            "voicecall-wav-o",
            "voicecall-rtc",
        ]
        .into_iter()
        .all(settled);
        if all_settled || Instant::now() > deadline {
            break seen;
        }
        std::thread::yield_now();
    };
    // The driver thread must carry the connection, not just exist: every packet written
    // or received wakes it (about 100 a second each way), where an idle thread is woken
    // once or twice. Watch it until it has been woken often or the 3 s call is over.
    let mut driver_wake_ups = 0;
    while let Some(n) = wake_ups(caller.pid(), "voicecall-rtc") {
        driver_wake_ups = n;
        if n >= DRIVER_WAKE_UPS {
            break;
        }
        // A polling interval only: the call's end, not this, bounds the loop.
        std::thread::sleep(Duration::from_millis(5));
    }
    caller.expect_exit_ok(Duration::from_secs(30));
    callee.expect_exit_ok(Duration::from_secs(30));

    let named = |prefix: &str| -> Vec<&(String, u64, u64)> {
        seen.iter()
            .filter(|(name, ..)| name.starts_with(prefix))
            .collect()
    };
    let pump = named("voicecall-audio");
    assert_eq!(pump.len(), 1, "one audio pump thread: {seen:?}");
    let devices = named("voicecall-wav");
    assert_eq!(devices.len(), 2, "a WAV microphone and speaker: {seen:?}");
    let driver = named("voicecall-rtc");
    assert_eq!(driver.len(), 1, "one webrtc driver thread: {seen:?}");
    assert!(
        driver_wake_ups >= DRIVER_WAKE_UPS,
        "the webrtc driver thread was woken {driver_wake_ups} times: the connection runs elsewhere"
    );
    if raise {
        for (name, policy, priority) in pump.into_iter().chain(devices).chain(driver) {
            assert_eq!(
                (*policy, *priority),
                (SCHED_RR, 8),
                "{name} is not at audio priority: {seen:?}"
            );
        }
    } else {
        println!("no CAP_SYS_NICE here: the threads keep the default priority ({seen:?})");
    }
}
