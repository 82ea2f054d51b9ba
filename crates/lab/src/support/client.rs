//! A running headless `voicecall listen|call --json` (or a browser peer, which prints the
//! same): its ID, the events it printed, and the waits a scenario is made of.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One run of the `voicecall` binary with its stdout parsed line by line; killed on drop.
/// Start one with [`Client::listen`] or [`Client::call`].
pub struct Client {
    /// "caller" or "callee", for messages.
    role: &'static str,
    child: Child,
    lines: mpsc::Receiver<String>,
    pub id: String,
    /// Every event read so far, in order.
    pub events: Vec<Value>,
    stderr: Arc<Mutex<String>>,
    /// Stopped with SIGTERM first: a browser peer closes its chromium then (SIGKILL would
    /// leave chromium running).
    gentle: bool,
}

impl Client {
    /// Spawns `cmd` (already given its arguments and `--json`) and waits for the ID line.
    pub(super) fn spawn(role: &'static str, cmd: Command) -> Self {
        Self::spawn_with(role, cmd, false, Duration::from_secs(20))
    }

    /// Like `spawn`, for a process that must be stopped with SIGTERM (it has children of its
    /// own to stop) and may take longer to print its ID (a browser starting).
    pub(super) fn spawn_gentle(role: &'static str, cmd: Command) -> Self {
        Self::spawn_with(role, cmd, true, Duration::from_secs(60))
    }

    fn spawn_with(role: &'static str, mut cmd: Command, gentle: bool, id_within: Duration) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn the {role} ({cmd:?}): {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let err_buf = Arc::new(Mutex::new(String::new()));
        let sink = err_buf.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[{role} stderr] {line}");
                if let Ok(mut buf) = sink.lock() {
                    buf.push_str(&line);
                    buf.push('\n');
                }
            }
        });
        let mut client = Self {
            role,
            child,
            lines: rx,
            id: String::new(),
            events: Vec::new(),
            stderr: err_buf,
            gentle,
        };
        match client.lines.recv_timeout(id_within) {
            Ok(id) => client.id = id.trim().to_owned(),
            Err(_) => {
                let status = client.child.try_wait().ok().flatten();
                panic!(
                    "the {role} printed no ID (status {status:?}); stderr:\n{}",
                    client.stderr()
                );
            }
        }
        client
    }

    /// The process ID (for /proc readings in the benchmarks).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Reads events until one matches `pred`, or panics after `timeout`.
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let Ok(value) = serde_json::from_str::<Value>(&line) else {
                        panic!("non-JSON line from voicecall --json: {line}");
                    };
                    self.events.push(value.clone());
                    if pred(&value) {
                        return value;
                    }
                }
                Err(_) => panic!(
                    "the {} timed out waiting for an event; saw {:#?}\nstderr:\n{}",
                    self.role,
                    self.events,
                    self.stderr()
                ),
            }
        }
    }

    /// The next event called `name`.
    pub fn wait_event(&mut self, name: &str, timeout: Duration) -> Value {
        self.wait_for(timeout, |e| e["event"] == name)
    }

    /// The call's media is flowing (`media_started`); panics, with what the client said,
    /// if the call ended first.
    pub fn wait_media_started(&mut self, timeout: Duration) -> Value {
        self.media_started_or_ended(timeout)
            .unwrap_or_else(|ended| {
                panic!(
                    "the {}'s call ended before media started: {ended}\nstderr:\n{}",
                    self.role,
                    self.stderr()
                )
            })
    }

    /// `Ok(media_started)`, or `Err(ended)` when the call ended before media started.
    pub fn media_started_or_ended(&mut self, timeout: Duration) -> Result<Value, Value> {
        let event = self.wait_for(timeout, |e| {
            e["event"] == "media_started" || e["event"] == "ended"
        });
        if event["event"] == "media_started" {
            Ok(event)
        } else {
            Err(event)
        }
    }

    /// The next `ended` event, whatever its reason.
    pub fn wait_ended(&mut self, timeout: Duration) -> Value {
        self.wait_event("ended", timeout)
    }

    /// The next `ended` event with `reason` (others are passed over).
    pub fn wait_ended_with(&mut self, reason: &str, timeout: Duration) -> Value {
        self.wait_for(timeout, |e| e["event"] == "ended" && e["reason"] == reason)
    }

    /// The next `stats` event that names the candidate pair ICE selected.
    pub fn wait_selected_path(&mut self, timeout: Duration) -> Value {
        self.wait_for(timeout, is_selected_path)
    }

    /// The first `stats` event read so far that names the selected candidate pair.
    pub fn selected_path(&self) -> Option<&Value> {
        self.events.iter().find(|e| is_selected_path(e))
    }

    /// Waits for the process to exit and collects the remaining events.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Collect what is left on stdout.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(300)) {
                    if let Ok(value) = serde_json::from_str::<Value>(&line) {
                        self.events.push(value);
                    }
                }
                return status;
            }
            self.read_pending();
            if Instant::now() > deadline {
                self.kill();
                panic!(
                    "the {} did not exit in time; events {:#?}\nstderr:\n{}",
                    self.role,
                    self.events,
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the process to exit and insists it succeeded.
    pub fn expect_exit_ok(&mut self, timeout: Duration) {
        let status = self.wait_exit(timeout);
        assert!(
            status.success(),
            "the {} failed ({status}): {:#?}\nstderr:\n{}",
            self.role,
            self.events,
            self.stderr()
        );
    }

    /// The first event called `name` read so far.
    pub fn event(&self, name: &str) -> Option<&Value> {
        self.events.iter().find(|e| e["event"] == name)
    }

    /// Every event called `name` read so far.
    pub fn events_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Value> {
        self.events.iter().filter(move |e| e["event"] == name)
    }

    /// The `ended` event read so far; panics if there is none.
    pub fn ended(&self) -> &Value {
        self.event("ended").unwrap_or_else(|| {
            panic!(
                "the {} printed no ended event: {:#?}",
                self.role, self.events
            )
        })
    }

    pub fn kill(&mut self) {
        if self.gentle {
            let _ = super::terminate(&mut self.child, Duration::from_secs(10));
        } else {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }

    /// Sends `signal` (`TERM`, `INT`, `HUP`, `KILL`, …) to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {signal} failed");
    }

    /// The next `stats` event whose count of received packets reaches `packets`.
    pub fn wait_received(&mut self, packets: u64, timeout: Duration) -> Value {
        self.wait_for(timeout, |e| {
            e["event"] == "stats"
                && e["media"]["packets_received"]
                    .as_u64()
                    .is_some_and(|n| n >= packets)
        })
    }

    /// The newest event named `name` among everything printed so far (waiting up to
    /// `timeout` for at least one).
    pub fn latest(&mut self, name: &str, timeout: Duration) -> Value {
        self.read_pending();
        if let Some(found) = self.events.iter().rev().find(|e| e["event"] == name) {
            return found.clone();
        }
        self.wait_event(name, timeout)
    }

    fn read_pending(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            if let Ok(value) = serde_json::from_str::<Value>(&line) {
                self.events.push(value);
            }
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

fn is_selected_path(e: &Value) -> bool {
    e["event"] == "stats" && !e["rtc"]["local_candidate"].is_null()
}

/// The caller's `--duration` ran out: it hung up, the callee was told, and both exited
/// cleanly (the caller within `caller_exit`, the callee 15 s after it).
pub fn expect_caller_hung_up(caller: &mut Client, callee: &mut Client, caller_exit: Duration) {
    caller.expect_exit_ok(caller_exit);
    callee.expect_exit_ok(Duration::from_secs(15));
    let (caller_end, callee_end) = (caller.ended(), callee.ended());
    assert_eq!(caller_end["reason"], "hangup", "{caller_end}");
    assert_eq!(callee_end["reason"], "remote_hangup", "{callee_end}");
}
