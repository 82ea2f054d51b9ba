//! Starting the bundled signaling server when the app is set to the local default and
//! nothing answers there, so a fresh install works on one machine out of the box.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Where the local default server listens.
const LOCAL_PORT: u16 = 3000;

/// What happened when the app checked for a local server; shown in the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The configured server is not the local default: nothing to do.
    NotLocal,
    /// Something already listens on the local port.
    AlreadyRunning,
    /// We started the bundled server from this folder.
    Started(PathBuf),
    /// We could not start it, in words.
    Failed(String),
}

impl Status {
    /// A line for the status bar, if there is anything worth saying.
    pub fn describe(&self) -> Option<String> {
        match self {
            Status::NotLocal | Status::AlreadyRunning => None,
            Status::Started(_) => Some("Started the bundled signaling server".into()),
            Status::Failed(why) => Some(format!("Local server: {why}")),
        }
    }
}

/// True for `http://127.0.0.1:3000`, `http://localhost:3000` (and ws:// forms).
pub fn is_local_default(server: &str) -> bool {
    let Ok(url) = url::Url::parse(server.trim()) else {
        return false;
    };
    let local_host = matches!(url.host_str(), Some("127.0.0.1" | "localhost"));
    let port = url.port_or_known_default();
    matches!(url.scheme(), "http" | "ws") && local_host && port == Some(LOCAL_PORT)
}

/// How long the check for a running server may take (a port that drops packets would
/// otherwise hold it for the kernel's connect timeout).
const PROBE_LIMIT: Duration = Duration::from_millis(300);

/// Whether something listens on the local default port. Async, so the window's thread
/// never waits for it.
pub async fn something_listens() -> bool {
    listens_at(SocketAddr::from(([127, 0, 0, 1], LOCAL_PORT))).await
}

async fn listens_at(addr: SocketAddr) -> bool {
    matches!(
        tokio::time::timeout(PROBE_LIMIT, tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

/// The bundled server's folder: `VOICECALL_SERVER_DIR`, else `signaling-server` next to
/// one of the executable's ancestors (`target/debug/../../signaling-server`), else
/// `./signaling-server`.
pub fn find_server_dir() -> Result<PathBuf, String> {
    let has_entry = |dir: &Path| dir.join("src/index.js").is_file();
    if let Some(dir) = std::env::var_os("VOICECALL_SERVER_DIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return if has_entry(&dir) {
            Ok(dir)
        } else {
            Err(format!(
                "VOICECALL_SERVER_DIR={} holds no src/index.js",
                dir.display()
            ))
        };
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        candidates.extend(exe.ancestors().skip(1).map(|a| a.join("signaling-server")));
    }
    candidates.push(PathBuf::from("signaling-server"));
    candidates
        .into_iter()
        .find(|dir| has_entry(dir))
        .ok_or_else(|| {
            "the bundled signaling-server folder was not found (set VOICECALL_SERVER_DIR)".into()
        })
}

/// Makes the server get SIGTERM when this process dies, however it dies: `Drop` stops it
/// on a clean exit, but a SIGKILL or a lost X server ends the app without running it, and
/// an orphaned server kept the port (and the next start found "AlreadyRunning" somebody
/// else's server). The kernel sends the signal when the *thread* that spawned the child
/// ends: `ensure` runs on the UI's main thread, which lives as long as the process.
#[cfg(target_os = "linux")]
fn dies_with_this_process(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(libc::pid_t::MAX);
    // SAFETY: the closure runs between fork and exec, and only makes async-signal-safe
    // system calls (prctl, getppid) and builds an io::Error without allocating.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // The app died between fork and prctl: no signal will come, so do not start.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Elsewhere there is no parent-death signal: the server stops with `Drop` only.
#[cfg(not(target_os = "linux"))]
fn dies_with_this_process(_command: &mut Command) {}

/// The server we started, if any; stopped when dropped.
#[derive(Debug, Default)]
pub struct LocalServer {
    child: Option<Child>,
}

impl LocalServer {
    /// Whether `ensure` needs to know if something listens on the local port first.
    pub fn needs_probe(&mut self, server: &str) -> bool {
        is_local_default(server) && !self.is_running()
    }

    fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None) | Err(_)))
    }

    /// Starts the bundled server if `server` is the local default and nothing listens
    /// (`listening`: what [`something_listens`] found).
    pub fn ensure(&mut self, server: &str, listening: bool) -> Status {
        if !is_local_default(server) {
            return Status::NotLocal;
        }
        if let Some(child) = &mut self.child {
            match child.try_wait() {
                Ok(None) => return Status::AlreadyRunning,
                Ok(Some(status)) => {
                    tracing::warn!(%status, "the local signaling server exited");
                    self.child = None;
                }
                Err(_) => return Status::AlreadyRunning,
            }
        }
        if listening {
            return Status::AlreadyRunning;
        }
        let dir = match find_server_dir() {
            Ok(dir) => dir,
            Err(why) => return Status::Failed(why),
        };
        if !dir.join("node_modules").is_dir() {
            return Status::Failed(format!(
                "run `npm ci` in {} first (its node_modules are missing)",
                dir.display()
            ));
        }
        let mut command = Command::new("node");
        command
            .arg("src/index.js")
            .current_dir(&dir)
            .env("PORT", LOCAL_PORT.to_string())
            .env("HOST", "127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        dies_with_this_process(&mut command);
        let spawned = command.spawn();
        match spawned {
            Ok(child) => {
                tracing::info!(dir = %dir.display(), pid = child.id(), "started the local signaling server");
                self.child = Some(child);
                Status::Started(dir)
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Status::Failed(
                "Node.js (`node`) is not installed, so the bundled server cannot run".into(),
            ),
            Err(err) => Status::Failed(format!("cannot run node: {err}")),
        }
    }

    /// A line if the server we started has died since.
    pub fn check(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                Some(format!("the local server stopped ({status})"))
            }
            _ => None,
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_only_the_local_default() {
        assert!(is_local_default("http://127.0.0.1:3000"));
        assert!(is_local_default("http://localhost:3000/"));
        assert!(is_local_default("ws://localhost:3000"));
        assert!(!is_local_default("http://127.0.0.1:3001"));
        assert!(!is_local_default("https://127.0.0.1:3000"));
        assert!(!is_local_default("http://example.org:3000"));
        assert!(!is_local_default("not a url"));
    }

    #[test]
    fn remote_servers_are_left_alone() {
        let mut local = LocalServer::default();
        assert!(!local.needs_probe("https://signal.example.org"));
        assert_eq!(
            local.ensure("https://signal.example.org", false),
            Status::NotLocal
        );
        assert_eq!(local.check(), None);
        assert!(local.needs_probe("http://127.0.0.1:3000"));
        assert_eq!(
            local.ensure("http://127.0.0.1:3000", true),
            Status::AlreadyRunning
        );
    }

    #[tokio::test]
    async fn the_probe_tells_a_listening_port_from_a_closed_one() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let open = listener.local_addr().expect("address");
        assert!(listens_at(open).await);
        drop(listener);
        assert!(!listens_at(open).await, "closed now");
    }

    #[test]
    fn finds_the_bundled_server_next_to_the_build() {
        // Test binaries live in target/debug/deps: an ancestor holds signaling-server.
        let dir = find_server_dir().expect("found from the test binary's location");
        assert!(dir.join("src/index.js").is_file());
    }
}
