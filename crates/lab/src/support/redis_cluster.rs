//! A throwaway Redis Cluster on loopback for fail-over tests: the server's own
//! `test/support/redis_cluster.js` run as a program (so the Node tests, the bench and the
//! Rust tests build clusters the same way), driven over its stdin.
//! Stopped on drop, which also stops every redis-server it started.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::repo;

/// `masters` masters with `replicas` replicas each, on free loopback ports.
pub struct RedisCluster {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    /// Every node's `redis://127.0.0.1:PORT`, comma-separated: `REDIS_CLUSTER_NODES`.
    pub seeds: String,
}

impl RedisCluster {
    pub fn start(masters: u32, replicas: u32) -> Self {
        let mut child = Command::new("node")
            .arg("test/support/redis_cluster.js")
            .args(["--masters", &masters.to_string()])
            .args(["--replicas", &replicas.to_string()])
            .current_dir(repo().join("signaling-server"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node test/support/redis_cluster.js");
        let stdout = child.stdout.take().expect("cluster script stdout");
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut cluster = Self {
            child,
            stdin,
            lines,
            seeds: String::new(),
        };
        let ready = cluster.reply("cluster ready", Duration::from_secs(30));
        cluster.seeds = ready["seeds"]
            .as_str()
            .unwrap_or_else(|| panic!("no seeds in {ready}"))
            .to_owned();
        cluster
    }

    /// The port of the master that now holds `key`'s slot.
    pub fn master_of(&mut self, key: &str) -> u16 {
        let reply = self.ask(
            &format!("master-of {key}"),
            "master",
            Duration::from_secs(10),
        );
        port(&reply, "port")
    }

    /// SIGKILLs the master on `port` and returns once one of its replicas holds its slots
    /// and every live node agrees; returns the promoted replica's port.
    pub fn failover(&mut self, port_of_master: u16) -> u16 {
        let reply = self.ask(
            &format!("failover {port_of_master}"),
            "failed over",
            Duration::from_secs(30),
        );
        port(&reply, "promoted")
    }

    fn ask(&mut self, command: &str, answer: &str, timeout: Duration) -> Value {
        let stdin = self.stdin.as_mut().expect("cluster script stdin");
        writeln!(stdin, "{command}")
            .and_then(|()| stdin.flush())
            .expect("write to the cluster script");
        self.reply(answer, timeout)
    }

    /// The next line, which must be `{"msg": answer, …}`.
    fn reply(&mut self, answer: &str, timeout: Duration) -> Value {
        let line = self
            .lines
            .recv_timeout(timeout)
            .unwrap_or_else(|_| panic!("redis cluster script: no `{answer}` in {timeout:?}"));
        let value: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("redis cluster script printed non-JSON: {line}"));
        assert_eq!(value["msg"], answer, "redis cluster script: {value}");
        value
    }
}

fn port(reply: &Value, field: &str) -> u16 {
    reply[field]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or_else(|| panic!("no port `{field}` in {reply}"))
}

impl Drop for RedisCluster {
    /// Closing stdin makes the script stop its redis-servers and exit; killing it instead
    /// would leave them running.
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
