//! The bundled Node signaling server, started by the test itself.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::netns::command_in;
use super::repo;

/// A running signaling server; killed on drop.
pub struct Server {
    child: Child,
    pub url: String,
    pub port: u16,
    /// Its log records (JSON lines on stdout), from after the `listening` one.
    /// Behind a lock so a `Server` can be shared by a test's threads.
    logs: Mutex<mpsc::Receiver<String>>,
}

/// How to start a [`Server`]: by default on a free loopback port with the server's own
/// defaults.
pub struct ServerBuilder {
    env: Vec<(String, String)>,
    host: String,
    netns: Option<String>,
    /// The script node runs, relative to `signaling-server/`.
    script: String,
}

impl Server {
    /// On a free loopback port, with the server's defaults.
    pub fn start() -> Self {
        Self::builder().start()
    }

    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            env: vec![("PORT".into(), "0".into())],
            host: "127.0.0.1".into(),
            netns: None,
            script: "src/index.js".into(),
        }
    }

    /// The malicious relay of `signaling-server/test/support/mitm_relay.js`: honest until
    /// an attacker attaches to its `/mitm` namespace, then the attacker sees and forges
    /// every call message (the man-in-the-middle test).
    pub fn malicious_relay() -> Self {
        Self::builder().script("test/support/mitm_relay.js").start()
    }

    /// SIGKILL: the server vanishes without a word to its clients.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The next log record whose `msg` is `msg` (earlier ones are passed over); panics
    /// after `timeout`.
    pub fn wait_log(&self, msg: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        let logs = self
            .logs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = logs.recv_timeout(left) else {
                panic!(
                    "the server at {} logged no `{msg}` in {timeout:?}",
                    self.url
                );
            };
            if let Ok(record) = serde_json::from_str::<Value>(&line)
                && record["msg"] == msg
            {
                return record;
            }
        }
    }

    /// SIGTERM: the server's graceful shutdown (it disconnects every client), and waits.
    pub fn terminate(&mut self) {
        super::terminate(&mut self.child, Duration::from_secs(10));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

impl ServerBuilder {
    /// One environment variable of the server's config (TURN_SECRET, REDIS_URL, …).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Several, e.g. [`super::turn::Coturn::server_env`]'s.
    pub fn envs<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Lifts the budgets a benchmark spends by design from one address: hundreds of calls
    /// to the same callee, a fresh ID and connection per call, TURN credentials each time.
    /// Message and byte budgets stay as shipped.
    pub fn for_benchmarks(self) -> Self {
        self.envs(
            [
                "CALLS_PER_TARGET_PER_MIN",
                "CALLS_PER_TARGET_BURST",
                "CALLS_PER_SENDER_PER_MIN",
                "CALLS_PER_SENDER_BURST",
                "CALLS_PER_IP_PER_MIN",
                "CALLS_PER_IP_BURST",
                "IP_REGISTRATIONS_PER_HOUR",
                "IP_REGISTRATION_BURST",
                "IP_CONNECTS_PER_MIN",
                "IP_CONNECT_BURST",
                "ICE_REQUESTS_PER_MIN",
                "ICE_REQUEST_BURST",
            ]
            .map(|name| (name, "1000000")),
        )
    }

    /// A fixed port, so a test can kill the server and bring it back at the same address.
    pub fn port(self, port: u16) -> Self {
        self.env("PORT", port.to_string())
    }

    /// Runs inside the network namespace `ns`, listening on `host` there.
    pub fn in_netns(mut self, ns: &str, host: &str) -> Self {
        self.netns = Some(ns.to_owned());
        self.host = host.to_owned();
        self
    }

    /// Runs another script of `signaling-server/` that prints the same `listening` line.
    pub fn script(mut self, script: &str) -> Self {
        self.script = script.to_owned();
        self
    }

    /// Starts it and waits until it reports its port.
    pub fn start(self) -> Server {
        // VOICECALL_TEST_SERVER_DIR lets a developer pin a known-good copy of the server.
        let dir = std::env::var_os("VOICECALL_TEST_SERVER_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo().join("signaling-server"));
        assert!(
            dir.join("node_modules").is_dir(),
            "signaling-server/node_modules is missing: run `npm ci` in signaling-server/ (the README's test command does)"
        );
        let mut cmd = command_in(self.netns.as_deref(), "node");
        cmd.arg(&self.script)
            .current_dir(&dir)
            .env("HOST", &self.host)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // Later settings win: `port` overrides the default PORT=0.
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start node signaling server");
        let stdout = child.stdout.take().expect("server stdout");
        let (tx, logs) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(15);
        let line = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = logs
                .recv_timeout(left)
                .expect("signaling server did not report listening");
            if line.contains("\"listening\"") {
                break line;
            }
        };
        let value: Value = serde_json::from_str(&line).expect("listening line is JSON");
        let port = value["port"].as_u64().expect("port in listening line") as u16;
        Server {
            child,
            url: format!("http://{}:{port}", self.host),
            port,
            logs: Mutex::new(logs),
        }
    }
}
