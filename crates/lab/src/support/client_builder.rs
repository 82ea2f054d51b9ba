//! How a test starts a headless client: `Client::listen(&server)` or
//! `Client::call(&server, &peer)`, then what it plays, records and allows, then `spawn`.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use super::client::Client;
use super::conversation::Side;
use super::netns::{Site, command_in};
use super::server::Server;
use super::turn::Coturn;
use super::{fresh_temp_dir, voicecall_bin};

/// Where a client finds its signaling server: a [`Server`] the test started, or a URL.
pub trait SignalingUrl {
    fn signaling_url(&self) -> &str;
}

impl SignalingUrl for Server {
    fn signaling_url(&self) -> &str {
        &self.url
    }
}

impl SignalingUrl for str {
    fn signaling_url(&self) -> &str {
        self
    }
}

impl SignalingUrl for String {
    fn signaling_url(&self) -> &str {
        self
    }
}

/// A `voicecall listen|call` command line. Unless told otherwise the client stays off the
/// machine's devices and network: it plays silence, discards what it hears, binds media to
/// 127.0.0.1 and keeps its settings in a fresh temp dir.
#[must_use = "a client starts only with `spawn` or `run`"]
pub struct ClientBuilder {
    role: &'static str,
    /// `listen`, or `call PEER`.
    command: Vec<OsString>,
    servers: Vec<String>,
    bind: String,
    input: OsString,
    output: OsString,
    flags: Vec<OsString>,
    netns: Option<String>,
    /// Another build of `voicecall` (a before/after comparison); default `voicecall_bin`.
    binary: Option<PathBuf>,
}

impl Client {
    /// `voicecall listen`: waits for calls.
    pub fn listen(server: &(impl SignalingUrl + ?Sized)) -> ClientBuilder {
        ClientBuilder::new("callee", vec!["listen".into()], server)
    }

    /// `voicecall call PEER`: calls `peer` at once.
    pub fn call(server: &(impl SignalingUrl + ?Sized), peer: &str) -> ClientBuilder {
        ClientBuilder::new("caller", vec!["call".into(), peer.into()], server)
    }
}

impl ClientBuilder {
    fn new(
        role: &'static str,
        command: Vec<OsString>,
        server: &(impl SignalingUrl + ?Sized),
    ) -> Self {
        Self {
            role,
            command,
            servers: vec![server.signaling_url().to_owned()],
            bind: "127.0.0.1".into(),
            input: "silence".into(),
            output: "discard".into(),
            flags: Vec::new(),
            netns: None,
            binary: None,
        }
    }

    /// Another server to fail over to, tried after the ones before it.
    pub fn fallback(mut self, server: &(impl SignalingUrl + ?Sized)) -> Self {
        self.servers.push(server.signaling_url().to_owned());
        self
    }

    /// `--input`: a WAV file played in real time, or a spec such as `silence`.
    pub fn input(mut self, input: impl AsRef<OsStr>) -> Self {
        self.input = input.as_ref().to_owned();
        self
    }

    /// Plays the WAV file `wav` over and over.
    pub fn input_loop(mut self, wav: &Path) -> Self {
        self.input = OsString::from("wav-loop:");
        self.input.push(wav);
        self
    }

    /// `--output`: a WAV file recording what the client hears, or `discard`.
    pub fn output(mut self, output: impl AsRef<OsStr>) -> Self {
        self.output = output.as_ref().to_owned();
        self
    }

    /// Plays `side`'s speech and records what it hears into `side`'s recording.
    pub fn talks_as(self, side: &Side) -> Self {
        self.input(&side.says).output(&side.heard)
    }

    /// `--bind`: media on `ip` instead of 127.0.0.1 (a namespace's address).
    pub fn bind(mut self, ip: &str) -> Self {
        self.bind = ip.to_owned();
        self
    }

    /// `--auto-accept` (listen only).
    pub fn auto_accept(self) -> Self {
        self.flag("--auto-accept")
    }

    /// `--auto-decline` (listen only).
    pub fn auto_decline(self) -> Self {
        self.flag("--auto-decline")
    }

    /// `--once`: exit after the first call (listen only).
    pub fn once(self) -> Self {
        self.flag("--once")
    }

    /// `--duration`: hang up this long after the call is answered (call only).
    pub fn hang_up_after(self, duration: Duration) -> Self {
        let duration = humantime::format_duration(duration).to_string();
        self.flag("--duration").flag(duration)
    }

    /// `--relay-only`: media only through a TURN relay.
    pub fn relay_only(self) -> Self {
        self.flag("--relay-only")
    }

    /// Trusts `turn`'s test certificate (`--turn-ca`) when it has one.
    pub fn trusting(self, turn: &Coturn) -> Self {
        match &turn.ca {
            Some(ca) => self.flag("--turn-ca").flag(ca),
            None => self,
        }
    }

    /// `--id`: claims this ID.
    pub fn id(self, id: &str) -> Self {
        self.flag("--id").flag(id)
    }

    /// `--config-dir`: settings and remembered IDs in `dir` (kept across runs).
    pub fn config_dir(self, dir: &Path) -> Self {
        self.flag("--config-dir").flag(dir)
    }

    /// Any other arguments, as given.
    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.flags
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Runs inside the network namespace `ns` (pair with [`ClientBuilder::bind`]).
    pub fn in_netns(mut self, ns: &str) -> Self {
        self.netns = Some(ns.to_owned());
        self
    }

    /// Runs as the client of a [`Site`]: in its namespace, on its address.
    pub fn at(self, site: &Site) -> Self {
        self.in_netns(&site.client).bind(&site.client_ip)
    }

    /// Starts it with `--json` and waits for its ID.
    pub fn spawn(self) -> Client {
        let role = self.role;
        let mut cmd = self.command();
        cmd.arg("--json");
        Client::spawn(role, cmd)
    }

    /// Runs it to the end as a person would (no `--json`), for its exit code and output.
    pub fn run(self) -> Output {
        self.command().output().expect("run voicecall")
    }

    fn flag(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.flags.push(arg.as_ref().to_owned());
        self
    }

    /// Runs this build of `voicecall` instead of the one the test was built with.
    pub fn binary(mut self, path: &Path) -> Self {
        self.binary = Some(path.to_owned());
        self
    }

    fn command(self) -> std::process::Command {
        let bin = self.binary.clone().unwrap_or_else(voicecall_bin);
        let mut cmd = command_in(self.netns.as_deref(), bin);
        // The binary keeps library logs quiet by default; VOICECALL_TEST_LOG opens them up.
        match std::env::var("VOICECALL_TEST_LOG") {
            Ok(filter) => cmd.env("RUST_LOG", filter),
            Err(_) => cmd.env_remove("RUST_LOG"),
        };
        cmd.args(&self.command)
            .arg("--server")
            .arg(self.servers.join(","))
            .args(["--bind", &self.bind])
            .arg("--input")
            .arg(&self.input)
            .arg("--output")
            .arg(&self.output)
            .args(&self.flags)
            .env("VOICECALL_CONFIG_DIR", fresh_temp_dir("test"));
        cmd
    }
}
