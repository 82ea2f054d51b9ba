//! Debian's headless chromium as one end of a call: the web client at `/`, driven by
//! puppeteer-core (`signaling-server/test/browser/peer.js`), with a fake microphone that
//! plays a WAV file once and a WebAudio recording of what the page hears. It prints what
//! `voicecall --json` prints (its ID, then JSON events), so it runs as a [`Client`]:
//!
//! ```no_run
//! # use voicecall_lab::support::{Browser, Client, Server};
//! # use std::path::Path;
//! # use std::time::Duration;
//! let server = Server::start();
//! let mut browser = Browser::listen(&server)
//!     .input(Path::new("says.wav"))
//!     .output(Path::new("heard.wav"))
//!     .spawn();
//! let mut caller = Client::call(&server, &browser.id)
//!     .hang_up_after(Duration::from_secs(10))
//!     .spawn();
//! caller.expect_exit_ok(Duration::from_secs(40));
//! browser.expect_exit_ok(Duration::from_secs(20));
//! let inbound = &browser.ended()["stats"]["inbound"]; // chromium's inbound-rtp
//! ```
//!
//! Chromium gathers candidates on every interface it sees: run it in a namespace that has
//! only loopback ([`BrowserBuilder::in_netns`], or a benchmark inside
//! [`super::netns::isolate_loopback_only`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::client::Client;
use super::client_builder::SignalingUrl;
use super::netns::command_in;
use super::repo;

/// How long a peer may take altogether before it gives up by itself.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Starts a chromium peer: [`Browser::listen`] or [`Browser::call`].
pub struct Browser;

#[must_use = "a browser starts only with `spawn`"]
pub struct BrowserBuilder {
    role: &'static str,
    args: Vec<OsString>,
    netns: Option<String>,
}

impl Browser {
    /// Waits for a call and accepts it (as a person clicking Accept would).
    pub fn listen(server: &(impl SignalingUrl + ?Sized)) -> BrowserBuilder {
        BrowserBuilder::new("browser callee", server).arg("--listen")
    }

    /// Calls `peer` at once; hangs up after [`BrowserBuilder::hang_up_after`].
    pub fn call(server: &(impl SignalingUrl + ?Sized), peer: &str) -> BrowserBuilder {
        BrowserBuilder::new("browser caller", server)
            .arg("--call")
            .arg(peer)
    }

    /// The chromium binary: `$CHROMIUM_PATH` or Debian's.
    pub fn chromium() -> PathBuf {
        std::env::var_os("CHROMIUM_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
    }

    /// Why a browser peer cannot run here (no chromium, no puppeteer-core), if it cannot.
    pub fn unavailable() -> Option<String> {
        let chromium = Self::chromium();
        if !chromium.exists() {
            return Some(format!(
                "{} not found (deploy/setup-debian.sh installs chromium; CHROMIUM_PATH picks another)",
                chromium.display()
            ));
        }
        let puppeteer = repo().join("signaling-server/node_modules/puppeteer-core");
        if !puppeteer.is_dir() {
            return Some(
                "signaling-server/node_modules lacks puppeteer-core: run `npm ci` there".into(),
            );
        }
        None
    }
}

impl BrowserBuilder {
    fn new(role: &'static str, server: &(impl SignalingUrl + ?Sized)) -> Self {
        Self {
            role,
            args: vec!["--server".into(), server.signaling_url().into()],
            netns: None,
        }
        .timeout(DEFAULT_TIMEOUT)
    }

    fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// The fake microphone: this WAV file, played once from getUserMedia on (at Call or
    /// Accept, before the call connects: give it leading silence). Without it, silence.
    pub fn input(self, wav: &Path) -> Self {
        self.arg("--input").arg(wav)
    }

    /// Records what the page hears (WebAudio, the output device's rate) into this WAV file.
    pub fn output(self, wav: &Path) -> Self {
        self.arg("--output").arg(wav)
    }

    /// The caller hangs up this long after the call connects.
    pub fn hang_up_after(self, duration: Duration) -> Self {
        self.arg("--duration")
            .arg(format!("{:.3}", duration.as_secs_f64()))
    }

    /// Media only through the TURN servers the signaling server hands out.
    pub fn relay_only(self) -> Self {
        self.arg("--relay-only")
    }

    /// Says `usedtx=1` in the page's Opus fmtp, so the peer's encoder sends it DTX.
    pub fn ask_for_dtx(self) -> Self {
        self.arg("--ask-dtx")
    }

    /// Keeps chromium's echo cancellation, noise suppression and gain control on the
    /// microphone (the web client's default for people; off unless asked).
    pub fn audio_processing(self) -> Self {
        self.arg("--audio-processing")
    }

    /// Gives up (exits with an error) after this long altogether.
    pub fn timeout(self, timeout: Duration) -> Self {
        self.arg("--timeout")
            .arg(format!("{:.0}", timeout.as_secs_f64().ceil()))
    }

    /// Runs inside the network namespace `ns`.
    pub fn in_netns(mut self, ns: &str) -> Self {
        self.netns = Some(ns.to_owned());
        self
    }

    /// Launches chromium and waits for the page's ID.
    pub fn spawn(self) -> Client {
        if let Some(why) = Browser::unavailable() {
            panic!("cannot start a browser peer: {why}");
        }
        let server_dir = repo().join("signaling-server");
        let mut cmd = command_in(self.netns.as_deref(), "node");
        cmd.arg("test/browser/peer.js")
            .args(&self.args)
            .current_dir(&server_dir)
            .env("CHROMIUM_PATH", Browser::chromium());
        Client::spawn_gentle(self.role, cmd)
    }
}
