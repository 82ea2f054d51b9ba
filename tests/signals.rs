//! A headless client stopped by a signal hangs up cleanly, so the peer hears "hung up"
//! and not a lost connection, and leaves a finished recording: SIGTERM (`kill`, a service
//! manager), SIGINT (Ctrl-C) and SIGHUP (the terminal closed). Even SIGKILL, which nothing
//! can catch, leaves a recording that plays up to the last second.

use std::path::Path;
use std::time::Duration;

use voicecall_lab::support::{Client, Server, asset, output_dir};

/// About a second of audio: 50 packets of 20 ms.
const A_SECOND: u64 = 50;

/// A call whose callee records what it hears; returns once the callee has heard `packets`.
fn call_recorded_by_callee(server: &Server, heard: &Path, packets: u64) -> (Client, Client) {
    let mut callee = Client::listen(server)
        .auto_accept()
        .once()
        .output(heard)
        .spawn();
    let caller = Client::call(server, &callee.id)
        .input_loop(&asset("speech-a.wav"))
        .spawn();
    callee.wait_media_started(Duration::from_secs(20));
    callee.wait_received(packets, Duration::from_secs(20));
    (caller, callee)
}

/// The recording's header matches its data, and it holds at least `seconds` of audio.
fn assert_finished_recording(path: &Path, seconds: f64) {
    let file_len = std::fs::metadata(path).expect("recording exists").len();
    let reader = hound::WavReader::open(path).expect("a valid WAV");
    let samples = u64::from(reader.len());
    assert_eq!(44 + 2 * samples, file_len, "header and data agree");
    let recorded = samples as f64 / 48_000.0;
    assert!(recorded >= seconds, "{recorded:.2} s recorded");
}

#[test]
fn sigterm_sigint_and_sighup_hang_up_cleanly_and_finish_the_recording() {
    let server = Server::start();
    let dir = output_dir("signals");
    std::thread::scope(|scope| {
        for signal in ["TERM", "INT", "HUP"] {
            let (server, dir) = (&server, &dir);
            scope.spawn(move || {
                let heard = dir.join(format!("heard-{signal}.wav"));
                let (mut caller, mut callee) =
                    call_recorded_by_callee(server, &heard, 2 * A_SECOND);
                callee.signal(signal);
                callee.expect_exit_ok(Duration::from_secs(15));
                caller.expect_exit_ok(Duration::from_secs(15));
                assert_eq!(callee.ended()["reason"], "hangup", "SIG{signal}");
                assert_eq!(caller.ended()["reason"], "remote_hangup", "SIG{signal}");
                assert_finished_recording(&heard, 2.0);
                println!("SIG{signal}: hung up cleanly, recording finished");
            });
        }
    });
}

#[test]
fn a_recording_survives_sigkill_up_to_the_last_second() {
    let server = Server::start();
    let heard = output_dir("sigkill").join("heard.wav");
    let (mut caller, mut callee) = call_recorded_by_callee(&server, &heard, 3 * A_SECOND);
    callee.signal("KILL");
    callee.wait_exit(Duration::from_secs(10));
    // Nothing finalised the file: its header is the last checkpoint, at most a second old.
    let reader = hound::WavReader::open(&heard).expect("a readable WAV after SIGKILL");
    let samples: Vec<i16> = reader
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("every sample the header counts is there");
    let recorded = samples.len() as f64 / 48_000.0;
    println!("SIGKILL after 3 s of audio: {recorded:.2} s readable");
    assert!(recorded >= 2.0, "{recorded:.2} s readable");
    assert!(
        samples.iter().any(|s| s.unsigned_abs() > 1000),
        "the speech is in it"
    );
    caller.kill();
}
