//! The desktop app (`voicecall` without a subcommand) in a window on an [`Xvfb`] display.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::client_builder::SignalingUrl;
use super::conversation::Side;
use super::xvfb::Xvfb;
use super::{fresh_temp_dir, terminate, voicecall_bin};

/// A running desktop app that has registered (it printed its ID); killed on drop.
pub struct DesktopApp {
    child: Child,
    pub id: String,
    /// Where its settings live.
    pub config_dir: PathBuf,
    /// The config dir is a temp dir of ours, removed on drop.
    temp_config: bool,
}

/// How to start a [`DesktopApp`]: on `display`, with `server` as its signaling server,
/// media bound to 127.0.0.1, silence in, sound discarded, settings in a fresh temp dir and
/// only errors logged (to nowhere) unless told otherwise.
#[must_use = "the app starts only with `spawn`"]
pub struct DesktopAppBuilder {
    display: String,
    server: String,
    config_dir: Option<PathBuf>,
    input: OsString,
    output: OsString,
    log: Option<(PathBuf, String)>,
    envs: Vec<(OsString, OsString)>,
}

impl DesktopApp {
    pub fn on(display: &Xvfb, server: &(impl SignalingUrl + ?Sized)) -> DesktopAppBuilder {
        DesktopAppBuilder {
            display: display.name.clone(),
            server: server.signaling_url().to_owned(),
            config_dir: None,
            input: "silence".into(),
            output: "discard".into(),
            log: None,
            envs: Vec::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, as a session manager would send: the app hangs up and exits. `None` if it
    /// was still running after `timeout` (it is killed then).
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        terminate(&mut self.child, timeout)
    }
}

impl Drop for DesktopApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.temp_config {
            let _ = std::fs::remove_dir_all(&self.config_dir);
        }
    }
}

impl DesktopAppBuilder {
    /// Settings in `dir` (the test reads them afterwards).
    pub fn config_dir(mut self, dir: &Path) -> Self {
        self.config_dir = Some(dir.to_owned());
        self
    }

    /// Plays `side`'s speech and records what it hears into `side`'s recording.
    pub fn talks_as(mut self, side: &Side) -> Self {
        self.input = side.says.clone().into();
        self.output = side.heard.clone().into();
        self
    }

    /// Sets an environment variable for the app (a session bus address, XDG dirs, …).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Logs at `filter` (a RUST_LOG value) into the file `path`.
    pub fn log_to(mut self, path: &Path, filter: &str) -> Self {
        self.log = Some((path.to_owned(), filter.to_owned()));
        self
    }

    /// Starts the app and waits (up to 30 s) for the ID it prints once registered.
    pub fn spawn(self) -> Result<DesktopApp, String> {
        let temp_config = self.config_dir.is_none();
        let config_dir = self.config_dir.unwrap_or_else(|| fresh_temp_dir("gui"));
        let (stderr, filter) = match &self.log {
            Some((path, filter)) => (
                Stdio::from(File::create(path).map_err(|e| format!("{}: {e}", path.display()))?),
                filter.as_str(),
            ),
            None => (Stdio::null(), "error"),
        };
        let mut child = Command::new(voicecall_bin())
            .env("DISPLAY", &self.display)
            .env_remove("WAYLAND_DISPLAY")
            .env("ICED_BACKEND", "tiny-skia")
            .env("VOICECALL_CONFIG_DIR", &config_dir)
            // Not the default server, so the app's local server auto-start never kicks in.
            .env("VOICECALL_SERVER", &self.server)
            .env("VOICECALL_BIND", "127.0.0.1")
            .env("VOICECALL_INPUT", &self.input)
            .env("VOICECALL_OUTPUT", &self.output)
            .env("RUST_LOG", filter)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot start the voicecall app: {e}"))?;
        let stdout = child.stdout.take().expect("app stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut app = DesktopApp {
            child,
            id: String::new(),
            config_dir,
            temp_config,
        };
        let log = || {
            self.log
                .as_ref()
                .map(|(path, _)| std::fs::read_to_string(path).unwrap_or_default())
                .unwrap_or_default()
        };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(id) => app.id = id.trim().to_owned(),
            Err(_) => return Err(format!("the app printed no ID; log:\n{}", log())),
        }
        if voicecall_core::id::PeerId::parse(&app.id).is_err() {
            return Err(format!("the app printed {:?}, not an ID", app.id));
        }
        Ok(app)
    }
}
