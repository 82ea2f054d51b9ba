//! Shared by the end-to-end tests and the benchmarks: the real signaling server, the real
//! `voicecall` binary, and audio comparison.

pub mod netns;
pub mod redis;
pub mod turn;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository's root (this crate lives in `crates/lab`).
pub fn repo() -> PathBuf {
    let lab = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    lab.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or(lab)
}

/// The `voicecall` binary the running test or benchmark was built with: `$VOICECALL_BIN`,
/// or the one beside the test executable (`target/<profile>/deps/test-…` →
/// `target/<profile>/voicecall`), where cargo puts both.
pub fn voicecall_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("VOICECALL_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable sits in target/<profile>/deps");
    let bin = profile_dir.join(format!("voicecall{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: build it (`cargo build --bin voicecall`, which `cargo test` does) or set VOICECALL_BIN",
        bin.display()
    );
    bin
}

pub fn asset(name: &str) -> PathBuf {
    repo().join("assets/audio").join(name)
}

/// A folder for one test's files, kept under target/ so failures can be inspected.
pub fn output_dir(test: &str) -> PathBuf {
    let dir = repo().join("target/test-output").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test output dir");
    dir
}

/// The bundled Node signaling server on a free loopback port; killed on drop.
pub struct Server {
    child: Child,
    pub url: String,
    pub port: u16,
}

impl Server {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    pub fn start_with(env: &[(&str, &str)]) -> Self {
        Self::start_in(&[], "127.0.0.1", env)
    }

    /// On a fixed loopback port, so a test can kill it and bring it back at the same address.
    pub fn start_on(port: u16) -> Self {
        let port = port.to_string();
        Self::start_in(&[], "127.0.0.1", &[("PORT", port.as_str())])
    }

    /// Starts the server through `prefix` (e.g. `ip netns exec NS`) listening on `host`.
    pub fn start_in(prefix: &[&str], host: &str, env: &[(&str, &str)]) -> Self {
        // VOICECALL_TEST_SERVER_DIR lets a developer pin a known-good copy of the server.
        let dir = std::env::var_os("VOICECALL_TEST_SERVER_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo().join("signaling-server"));
        assert!(
            dir.join("node_modules").is_dir(),
            "signaling-server/node_modules is missing: run `npm ci` in signaling-server/ (the README's test command does)"
        );
        let mut cmd = prefixed(prefix, "node");
        cmd.arg("src/index.js")
            .current_dir(&dir)
            .env("PORT", "0")
            .env("HOST", host)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start node signaling server");
        let stdout = child.stdout.take().expect("server stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("\"listening\"") {
                    let _ = tx.send(line);
                }
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(15))
            .expect("signaling server did not report listening");
        let value: Value = serde_json::from_str(&line).expect("listening line is JSON");
        let port = value["port"].as_u64().expect("port in listening line") as u16;
        Self {
            child,
            url: format!("http://{host}:{port}"),
            port,
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM: the server's graceful shutdown (it disconnects every client), and waits.
    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One run of the `voicecall` binary with its stdout parsed line by line.
pub struct Client {
    child: Child,
    lines: mpsc::Receiver<String>,
    pub id: String,
    pub events: Vec<Value>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Client {
    /// Spawns `voicecall <args> --json` and waits for the ID line.
    pub fn spawn(args: &[&str]) -> Self {
        Self::spawn_in(&[], args)
    }

    /// Like `spawn`, through `prefix` (e.g. `ip netns exec NS`).
    pub fn spawn_in(prefix: &[&str], args: &[&str]) -> Self {
        let bin = voicecall_bin();
        let mut cmd = prefixed(prefix, &bin.to_string_lossy());
        // The binary keeps library logs quiet by default; VOICECALL_TEST_LOG opens them up.
        match std::env::var("VOICECALL_TEST_LOG") {
            Ok(filter) => cmd.env("RUST_LOG", filter),
            Err(_) => cmd.env_remove("RUST_LOG"),
        };
        let mut child = cmd
            .args(args)
            .arg("--json")
            .env("VOICECALL_CONFIG_DIR", temp_config_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn voicecall");
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
        let err_buf = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = err_buf.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[voicecall stderr] {line}");
                if let Ok(mut buf) = sink.lock() {
                    buf.push_str(&line);
                    buf.push('\n');
                }
            }
        });
        let mut client = Self {
            child,
            lines: rx,
            id: String::new(),
            events: Vec::new(),
            stderr: err_buf,
        };
        match client.lines.recv_timeout(Duration::from_secs(20)) {
            Ok(id) => client.id = id.trim().to_owned(),
            Err(_) => {
                let status = client.child.try_wait().ok().flatten();
                panic!(
                    "voicecall printed no ID (status {status:?}); stderr:\n{}",
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
                    "timed out waiting for an event; saw {:#?}\nstderr:\n{}",
                    self.events,
                    self.stderr()
                ),
            }
        }
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
            while let Ok(line) = self.lines.try_recv() {
                if let Ok(value) = serde_json::from_str::<Value>(&line) {
                    self.events.push(value);
                }
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "voicecall did not exit in time; events {:#?}\nstderr:\n{}",
                    self.events,
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn event(&self, name: &str) -> Option<&Value> {
        self.events.iter().find(|e| e["event"] == name)
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The newest event named `name` among everything printed so far (waiting up to
    /// `timeout` for at least one).
    pub fn latest(&mut self, name: &str, timeout: Duration) -> Value {
        while let Ok(line) = self.lines.try_recv() {
            if let Ok(value) = serde_json::from_str::<Value>(&line) {
                self.events.push(value);
            }
        }
        if let Some(found) = self.events.iter().rev().find(|e| e["event"] == name) {
            return found.clone();
        }
        self.wait_for(timeout, |e| e["event"] == name)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `program`, or `prefix[0] prefix[1..] program` when a prefix is given.
pub fn prefixed(prefix: &[&str], program: &str) -> Command {
    match prefix.split_first() {
        None => Command::new(program),
        Some((first, rest)) => {
            let mut cmd = Command::new(first);
            cmd.args(rest).arg(program);
            cmd
        }
    }
}

fn temp_config_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "voicecall-test-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Compares a recording with the WAV the other side played, prints the numbers, and
/// returns them.
pub fn compare_with_reference(reference: &Path, recorded: &Path) -> crate::analysis::Comparison {
    let reference = voicecall_engine::audio::load_wav_48k_mono(reference).expect("load reference");
    let (recorded, rate) = crate::analysis::load_wav_mono(recorded).expect("load recording");
    assert_eq!(rate, 48_000, "recordings are 48 kHz");
    let result = crate::analysis::compare(&reference, &recorded, 48_000);
    println!("comparison: {result:?}");
    result
}
