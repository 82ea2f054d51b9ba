//! A browser and the desktop client call each other: Debian's headless chromium, driven by
//! puppeteer-core, runs the web client the signaling server serves at `/` with a fake
//! microphone playing speech, and `voicecall listen|call` plays and records WAV files.
//! The browser calls the native client (which auto-accepts), then the native client calls
//! the browser (which accepts); each side's recording must reproduce what the other played.
//!
//! The browser side is a Node script (signaling-server/test/browser/native.test.js), because
//! puppeteer is JavaScript; it runs here so that cargo builds the binary it drives and the
//! audio is judged by the same comparison as every other end-to-end test.
//!
//! Everything runs in a network namespace that has only a loopback interface: chromium
//! gathers candidates on every interface it sees, and the native client would otherwise
//! send connectivity checks to this machine's LAN address.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use voicecall_engine::audio::load_wav_48k_mono;
use voicecall_lab::analysis::{DEFAULT_MIN_CORRELATION, DEFAULT_MIN_FRACTION, compare};
use voicecall_lab::support::netns::{Lab, command_in};
use voicecall_lab::support::{output_dir, repo, voicecall_bin};

/// Two calls of ~9 s, chromium's start-up and a debug build's slow first steps, with room
/// for a loaded CI machine.
const NODE_TIMEOUT: Duration = Duration::from_secs(180);

#[derive(Debug, Deserialize)]
struct Recording {
    label: String,
    reference: PathBuf,
    recording: PathBuf,
    /// The reference was played in a loop (chromium's fake microphone repeats its file).
    #[serde(default)]
    looped: bool,
    /// The native client's media counters, on the recordings it made.
    #[serde(default)]
    receiver: Option<ReceiverCounters>,
}

/// The part of the native client's `ended.media` that says how its jitter buffer played.
#[derive(Debug, Deserialize)]
struct ReceiverCounters {
    frames_skipped: u64,
    frames_held: u64,
    samples_accelerated: u64,
    samples_expanded: u64,
    output_underruns: u64,
    output_underrun_samples: u64,
    /// Frames our sender left unsent as DTX: none to chromium, whose SDP does not ask for
    /// DTX (its NetEq shortens speech after our DTX pauses, issue 17).
    frames_unsent_dtx: u64,
}

fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "{} not found: this test needs Debian's chromium (deploy/setup-debian.sh installs it; \
         CHROMIUM_PATH picks another)",
        path.display()
    );
    path
}

/// Whole 20 ms frames our jitter buffer may skip in one ~9 s call from chromium: it
/// time-stretches instead, and skips only when stretching found nothing to cut for 2 s.
/// Before it did, a loaded machine saw 6–28 per call.
const MAX_FRAMES_SKIPPED: u64 = 1;

/// Of the four recordings of a run, this many may miss the bar: a stated miss rate of
/// 25 % per recording, checked in every run (there is no second attempt). Measured on
/// 2026-11-30 with two busy loops beside the test (load average 9–12 on 2 cores), 10 runs,
/// 40 recordings: 6 missed (9 with the comparison's former ±60 ms alignment search, which
/// lost intact speech that a stall had delayed by 70–520 ms); one run had two misses
/// (chromium's recording delayed by 0.7 s for 3.5 s). The single misses are one or two
/// 250 ms stretches (83–89 % matched): a late packet held (concealed), then caught up by
/// shortening speech. At load 4–8 (other engineers' builds, no busy loops) 2 of 5 runs had
/// two misses: packets stopped for 0.4–0.5 s in both directions of one call at once; the
/// receivers refilled from silence and played the rest late, and the speech around the
/// stall was garbled (71.6 % and 62.5 % matched). This test reports such stalls rather
/// than retrying them away.
const MAX_MISSES: usize = 1;
/// A recording that misses must still reproduce this much: a direction that loses or
/// garbles audio throughout falls far below it, a one-segment miss does not.
const MISS_FLOOR: f64 = 0.75;

#[test]
fn browser_and_native_client_call_each_other_and_hear_each_other() {
    let chromium = chromium();
    let server_dir = repo().join("signaling-server");
    assert!(
        server_dir.join("node_modules/puppeteer-core").is_dir(),
        "signaling-server/node_modules lacks puppeteer-core: run `npm ci` in signaling-server/"
    );
    let recordings = run_calls(&chromium, &server_dir);
    let judged: Vec<(&Recording, f64, bool)> = recordings
        .iter()
        .map(|r| {
            let (fraction, passes) = heard(r);
            (r, fraction, passes)
        })
        .collect();
    let misses: Vec<String> = judged
        .iter()
        .filter(|(_, _, passes)| !passes)
        .map(|(r, fraction, _)| format!("{} ({:.1} %)", r.label, 100.0 * fraction))
        .collect();
    println!(
        "{} of {} recordings missed the bar (at most {MAX_MISSES} may, each reproducing \
         ≥ {:.0} % of the speech): {misses:?}",
        misses.len(),
        judged.len(),
        100.0 * MISS_FLOOR
    );
    for (r, _, _) in &judged {
        check_receiver(r);
    }
    assert!(
        recordings.iter().any(|r| r.receiver.is_some()),
        "no recording carries the native client's media counters"
    );
    assert!(
        misses.len() <= MAX_MISSES,
        "{} recordings do not reproduce what the other side played: {misses:?}",
        misses.len()
    );
    for (r, fraction, _) in &judged {
        assert!(
            *fraction >= MISS_FLOOR,
            "{}: only {:.1} % of the speech reproduced (a miss must keep {:.0} %)",
            r.label,
            100.0 * fraction,
            100.0 * MISS_FLOOR
        );
    }
}

/// Both calls once; the four recordings they made.
fn run_calls(chromium: &Path, server_dir: &Path) -> Vec<Recording> {
    let out = output_dir("browser_interop");
    let mut lab = Lab::new("br");
    let ns = lab.add("lo");

    let started = Instant::now();
    let mut node = command_in(Some(&ns), "node");
    node.args(["--test", "--test-reporter=spec"])
        .arg("test/browser/native.test.js")
        .current_dir(server_dir)
        .env("VOICECALL_BIN", voicecall_bin())
        .env("VOICECALL_INTEROP_DIR", &out)
        .env("CHROMIUM_PATH", chromium)
        .stdin(Stdio::null());
    let status = run_with_timeout(&mut node, NODE_TIMEOUT);
    println!(
        "browser interop script: {status} in {:.1?}",
        started.elapsed()
    );
    assert!(
        status.success(),
        "the browser interop script failed ({status}); its output is above, files in {}",
        out.display()
    );
    let listed = out.join("recordings.json");
    let text =
        std::fs::read_to_string(&listed).unwrap_or_else(|e| panic!("{}: {e}", listed.display()));
    let recordings: Vec<Recording> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", listed.display()));
    // Two calls, each recorded at both ends; fewer means a call never got that far.
    assert_eq!(recordings.len(), 4, "expected 4 recordings: {recordings:?}");
    recordings
}

/// Prints what our receiver did in the call it recorded, and holds it to its bounds.
fn check_receiver(r: &Recording) {
    let Some(c) = &r.receiver else {
        return;
    };
    println!(
        "{}: our receiver skipped {} frames, held {}, accelerated {:.0} ms, expanded {:.0} ms; \
         the output ran dry {} times ({:.0} ms); our sender left {} frames unsent as DTX",
        r.label,
        c.frames_skipped,
        c.frames_held,
        c.samples_accelerated as f64 / 48.0,
        c.samples_expanded as f64 / 48.0,
        c.output_underruns,
        c.output_underrun_samples as f64 / 48.0,
        c.frames_unsent_dtx,
    );
    assert_eq!(
        c.frames_unsent_dtx, 0,
        "{}: our sender used DTX towards chromium, which did not ask for it",
        r.label
    );
    assert!(
        c.frames_skipped <= MAX_FRAMES_SKIPPED,
        "{}: our jitter buffer skipped {} whole frames (at most {MAX_FRAMES_SKIPPED})",
        r.label,
        c.frames_skipped
    );
}

/// Compares one recording with what the other side played; prints the numbers. Returns
/// the fraction of the speech reproduced and whether that passes the bar.
fn heard(r: &Recording) -> (f64, bool) {
    // The browser records at its AudioContext's rate, the native client at 48 kHz; both are
    // brought to 48 kHz mono, as the comparison expects.
    let load =
        |path: &Path| load_wav_48k_mono(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reference = load(&r.reference);
    let mut recording = load(&r.recording);
    if r.looped {
        (reference, recording) = one_period_as_recorded(&reference, &recording);
    }
    let result = compare(&reference, &recording, 48_000);
    let passes = result.passes(DEFAULT_MIN_CORRELATION, DEFAULT_MIN_FRACTION);
    println!(
        "{}: correlation {:.3}, {:.1} % of the speech matched at ≥ {DEFAULT_MIN_CORRELATION}, \
         lag {:.3} s, {:.1} s recorded → {}",
        r.label,
        result.correlation,
        100.0 * result.matched_fraction_at(DEFAULT_MIN_CORRELATION),
        result.lag_seconds(),
        recording.len() as f64 / 48_000.0,
        if passes { "pass" } else { "FAIL" },
    );
    // Per 250 ms of the reference: where a recording fails, whether it is a stretch (loss,
    // a stall) or scattered (coding) shows here; "-" marks silence in the reference.
    let per_segment: Vec<String> = result
        .segments
        .iter()
        .map(|s| {
            if s.reference_silent {
                "-".to_owned()
            } else {
                format!("{:.2}", s.correlation)
            }
        })
        .collect();
    println!("  segments: {}", per_segment.join(" "));
    let lags: Vec<String> = result
        .segments
        .iter()
        .map(|s| {
            if s.reference_silent {
                "-".to_owned()
            } else {
                let ms = |lag: i64| (lag - result.lag_samples) as f64 / 48.0;
                match s.slip {
                    Some(slip) => format!("{:+.0}>{:+.0}", ms(s.lag_samples), ms(slip.lag_samples)),
                    None => format!("{:+.0}", ms(s.lag_samples)),
                }
            }
        })
        .collect();
    println!("  lags (ms from the overall lag): {}", lags.join(" "));
    (result.matched_fraction_at(DEFAULT_MIN_CORRELATION), passes)
}

/// A looped reference is heard from whatever point the loop had reached when the call
/// connected, so the recording never holds the file from its start and the comparison
/// would miss its first segments. The sound is periodic, though: one period starting where
/// the call has settled is the file rotated (the first 1.5 s are not judged, as the
/// native-to-browser direction leads with 1.5 s of silence: jitter buffers stretch and
/// encoders ramp up there; 0.5 s proved too little), and a recording longer than a period + that margin holds it
/// whole. Returns that period and the recording cut just after it, so the comparison aligns
/// with this period and not with a later repetition that the recording holds only in part.
fn one_period_as_recorded(reference: &[i16], recording: &[i16]) -> (Vec<i16>, Vec<i16>) {
    const SETTLE: i64 = 48_000 * 3 / 2;
    // Room for the jitter buffer's slips around the period's end.
    const SLACK: usize = 48_000 / 4;
    let period = reference.len() as i64;
    if period == 0 {
        return (reference.to_vec(), recording.to_vec());
    }
    // recording[i + lag] ≈ reference[i], for the loop's repetitions too.
    let lag = compare(reference, recording, 48_000).lag_samples;
    let start = usize::try_from((SETTLE - lag).rem_euclid(period)).unwrap_or(0);
    let mut rotated = reference[start..].to_vec();
    rotated.extend_from_slice(&reference[..start]);
    let end = (SETTLE as usize + reference.len() + SLACK).min(recording.len());
    (rotated, recording[..end].to_vec())
}

/// Runs `cmd`, passing its output through the test harness's capture (shown on failure or
/// with --nocapture); kills it (and fails) if it outlives `timeout`.
fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> std::process::ExitStatus {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node (Node.js 20+ is needed)");
    // Both pipes are drained all along, or a chatty script would block on a full pipe.
    let (tx, rx) = mpsc::channel::<String>();
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|pipe| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        })
    })
    .collect();
    drop(tx);
    let deadline = Instant::now() + timeout;
    let status = loop {
        while let Ok(line) = rx.try_recv() {
            println!("{line}");
        }
        match child.try_wait().expect("wait for node") {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the browser interop script ran longer than {timeout:?}");
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    // Chromium's helpers may hold the pipes open after node exits; the namespace's
    // teardown kills them, so the readers are not waited for past what they already sent.
    drop(readers);
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
        println!("{line}");
    }
    status
}
