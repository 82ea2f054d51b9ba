//! coturn, started from the shipped deploy/coturn/turnserver.conf with only the overrides
//! a test network needs.

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::netns::command_in;
use super::repo;

pub struct Coturn {
    child: Child,
    log: PathBuf,
    pub port: u16,
    pub secret: String,
    /// With TLS: the self-signed certificate clients must trust (PEM).
    pub ca: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

/// coturn's TLS port in the shipped config.
pub const TLS_PORT: u16 = 5349;

impl Coturn {
    /// On a free loopback port, relaying between loopback addresses.
    pub fn on_loopback() -> Self {
        Self::launch(None, "127.0.0.1", free_port(), &["127.0.0.1"], false)
    }

    /// Inside the namespace `ns`, listening on `ip:port` (UDP and TCP) and relaying to
    /// `allowed_peers` (ranges the production config denies because they are private).
    pub fn in_netns(ns: &str, ip: &str, port: u16, allowed_peers: &[&str]) -> Self {
        Self::launch(Some(ns), ip, port, allowed_peers, false)
    }

    /// As [`Coturn::in_netns`], and also TURN over TLS on [`TLS_PORT`] with a fresh
    /// self-signed certificate for `ip`.
    pub fn tls_in_netns(ns: &str, ip: &str, port: u16, allowed_peers: &[&str]) -> Self {
        Self::launch(Some(ns), ip, port, allowed_peers, true)
    }

    fn launch(ns: Option<&str>, ip: &str, port: u16, allowed_peers: &[&str], tls: bool) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = format!("test-secret-{:016x}", rand::random::<u64>());
        let log: PathBuf = dir.path().join("turn.log");
        let mut overrides = vec![
            format!("listening-ip={ip}"),
            format!("relay-ip={ip}"),
            format!("listening-port={port}"),
            "no-dtls".to_owned(),
            format!("static-auth-secret={secret}"),
            "realm=voicecall.test".to_owned(),
            format!("log-file={}", log.display()),
            format!("pidfile={}", dir.path().join("turn.pid").display()),
            format!("userdb={}", dir.path().join("turndb").display()),
            "min-port=40000".to_owned(),
            "max-port=40999".to_owned(),
            "verbose".to_owned(),
        ];
        let ca = if tls {
            let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
            self_signed(ip, &cert, &key);
            overrides.push(format!("tls-listening-port={TLS_PORT}"));
            overrides.push(format!("cert={}", cert.display()));
            overrides.push(format!("pkey={}", key.display()));
            Some(cert)
        } else {
            overrides.push("no-tls".to_owned());
            None
        };
        overrides.extend(allowed_peers.iter().map(|r| format!("allowed-peer-ip={r}")));
        if ip.starts_with("127.") {
            // coturn refuses loopback peers outright unless told otherwise.
            overrides.push("allow-loopback-peers".into());
        }
        let config = test_config(&overrides);
        let config_path = dir.path().join("turnserver.conf");
        std::fs::write(&config_path, config).expect("write coturn config");
        let mut cmd = command_in(ns, "turnserver");
        cmd.arg("-c")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect("start turnserver (coturn)");
        let turn = Self {
            child,
            log: log.clone(),
            port,
            secret,
            ca,
            _dir: dir,
        };
        // Ready when the log says the listener is up.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Total General servers") {
                break;
            }
            assert!(Instant::now() < deadline, "coturn did not start:\n{text}");
            std::thread::sleep(Duration::from_millis(100));
        }
        turn
    }

    /// Signaling-server environment that makes it issue credentials for this TURN server.
    pub fn server_env(&self, host: &str, with_tcp: bool) -> Vec<(String, String)> {
        let mut urls = vec![format!("turn:{host}:{}?transport=udp", self.port)];
        if with_tcp {
            urls.push(format!("turn:{host}:{}?transport=tcp", self.port));
        }
        vec![
            ("TURN_SECRET".into(), self.secret.clone()),
            ("TURN_URLS".into(), urls.join(",")),
            ("STUN_URLS".into(), format!("stun:{host}:{}", self.port)),
        ]
    }

    /// As [`Coturn::server_env`] without TCP, but the issued TURN URL points at
    /// `turn_addr` (`host:port` of an impairing relay in front of this server).
    pub fn server_env_via(&self, host: &str, turn_addr: &str) -> Vec<(String, String)> {
        with_turn_urls(self.server_env(host, false), |urls| {
            *urls = format!("turn:{turn_addr}?transport=udp");
        })
    }

    /// Issues TURN over UDP and over TLS only (a network that lets nothing else out is
    /// then left with `turns:`).
    pub fn server_env_tls(&self, host: &str) -> Vec<(String, String)> {
        with_turn_urls(self.server_env(host, false), |urls| {
            urls.push_str(&format!(",turns:{host}:{TLS_PORT}?transport=tcp"));
        })
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `lines` lines of the log, without its periodic listings, for a failure
    /// message.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let mut tail: Vec<&str> = log
            .lines()
            .filter(|l| !l.contains("listing"))
            .rev()
            .take(lines)
            .collect();
        tail.reverse();
        tail.join("\n")
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `env` with its TURN_URLS value edited.
fn with_turn_urls(
    mut env: Vec<(String, String)>,
    edit: impl FnOnce(&mut String),
) -> Vec<(String, String)> {
    if let Some((_, urls)) = env.iter_mut().find(|(key, _)| key == "TURN_URLS") {
        edit(urls);
    }
    env
}

/// deploy/coturn/turnserver.conf with the keys in `overrides` replaced: coturn lets its
/// config file win over command-line flags for some keys, so the test edits the file.
fn test_config(overrides: &[String]) -> String {
    let shipped = std::fs::read_to_string(repo().join("deploy/coturn/turnserver.conf"))
        .expect("deploy/coturn/turnserver.conf");
    let key = |line: &str| line.split('=').next().unwrap_or("").trim().to_owned();
    let replaced: std::collections::HashSet<String> = overrides.iter().map(|o| key(o)).collect();
    let mut out: Vec<String> = shipped
        .lines()
        .filter(|line| {
            let l = line.trim();
            l.is_empty()
                || l.starts_with('#')
                || !(replaced.contains(&key(l))
                    || ["cert", "pkey", "no-stdout-log"].contains(&key(l).as_str()))
        })
        .map(str::to_owned)
        .collect();
    out.push("# test overrides".into());
    out.extend(overrides.iter().cloned());
    out.join("\n") + "\n"
}

/// A self-signed certificate whose subject alternative name is the IP address `ip`.
fn self_signed(ip: &str, cert: &std::path::Path, key: &std::path::Path) {
    let status = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
        ])
        .arg(format!("/CN={ip}"))
        .arg("-addext")
        .arg(format!("subjectAltName=IP:{ip}"))
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run openssl");
    assert!(
        status.success(),
        "openssl could not make a test certificate"
    );
}

/// A free UDP port on loopback (TCP on the same number is free too in practice).
pub fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
