//! One window per config dir. The first launch holds a lock in its config dir and listens
//! on a local socket there; a later launch with the same config dir hands what it was
//! started with (a call link, or nothing: "show yourself") to the first and exits, so a
//! call link opened from the browser lands in the window already running. Another config
//! dir is another person's app and runs beside it.
//!
//! Unix only (a Unix domain socket); elsewhere every launch opens its own window.

use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

/// What a later launch asks of the running window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Come to the front (launched from the menu again).
    Show,
    /// Open this call link (as given: the window checks it and shows what is wrong).
    Open(String),
}

/// Why this launch could not find out who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimError {
    /// No lock or socket here (a read-only config dir, …): run without hand-over.
    Unavailable(String),
    /// Another launch holds this config dir but does not take requests: two windows on one
    /// config dir would fight over the same ID, so this one stops.
    NoAnswer(String),
}

/// Who this launch is.
pub enum Claim {
    /// The first for this config dir: requests of later launches arrive through it.
    First(Requests),
    /// The running window took the request; this launch has nothing more to do.
    HandedOver,
}

/// Requests from later launches, in order.
pub type Requests = mpsc::UnboundedReceiver<Request>;

/// Text longer than this is not something a launch hands over.
const MAX_REQUEST: usize = 4096;

/// The socket, in the config dir when its path fits in a socket address, else in the
/// runtime dir under a name derived from the config dir.
pub fn socket_path(config_dir: &Path) -> PathBuf {
    let inside = config_dir.join("instance.sock");
    if inside.as_os_str().len() < 100 {
        return inside;
    }
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    config_dir.hash(&mut hasher);
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    runtime.join(format!("voicecall-{:016x}.sock", hasher.finish()))
}

impl Request {
    /// One line on the socket.
    fn encode(&self) -> String {
        match self {
            Request::Show => "show\n".into(),
            // A link is one line; a line break in one makes it invalid anyway.
            Request::Open(text) => format!("open {}\n", text.replace(['\n', '\r'], " ")),
        }
    }

    fn decode(line: &str) -> Option<Self> {
        let line = line.trim_end_matches(['\n', '\r']);
        match line.split_once(' ') {
            Some(("open", text)) => Some(Request::Open(text.to_owned())),
            None if line == "show" => Some(Request::Show),
            _ => None,
        }
    }
}

#[cfg(unix)]
pub use unix::claim;

#[cfg(not(unix))]
pub fn claim(_config_dir: &Path, _request: &Request) -> Result<Claim, ClaimError> {
    // No hand-over on this platform: every launch is the first, and nothing arrives.
    let (_, rx) = mpsc::unbounded_channel();
    Ok(Claim::First(rx))
}

#[cfg(unix)]
mod unix {
    use std::fs::{File, OpenOptions};
    use std::io::{BufRead, BufReader, Read, Write};
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::path::Path;
    use std::time::{Duration, Instant};

    use tokio::sync::mpsc;

    use super::{Claim, ClaimError, MAX_REQUEST, Request, socket_path};

    /// How long a later launch waits for the running window to answer.
    const ANSWER_WITHIN: Duration = Duration::from_secs(5);

    /// Becomes the first instance for `config_dir`, or hands `request` to the one that is.
    /// An error says why neither worked (the caller shows it and stops).
    pub fn claim(config_dir: &Path, request: &Request) -> Result<Claim, ClaimError> {
        let unavailable = ClaimError::Unavailable;
        std::fs::create_dir_all(config_dir)
            .map_err(|e| unavailable(format!("cannot create {}: {e}", config_dir.display())))?;
        let lock_path = config_dir.join("instance.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| unavailable(format!("cannot open {}: {e}", lock_path.display())))?;
        let socket = socket_path(config_dir);
        match lock.try_lock() {
            Ok(()) => listen(lock, &socket).map(Claim::First).map_err(unavailable),
            Err(std::fs::TryLockError::WouldBlock) => hand_over(&socket, request)
                .map(|()| Claim::HandedOver)
                .map_err(ClaimError::NoAnswer),
            Err(std::fs::TryLockError::Error(e)) => Err(unavailable(format!(
                "cannot lock {}: {e}",
                lock_path.display()
            ))),
        }
    }

    /// Binds the socket (a stale one from a crashed run is ours to replace: we hold the
    /// lock) and serves it on a thread that lives as long as the process.
    fn listen(lock: File, socket: &Path) -> Result<super::Requests, String> {
        let _ = std::fs::remove_file(socket);
        let listener = UnixListener::bind(socket)
            .map_err(|e| format!("cannot listen on {}: {e}", socket.display()))?;
        let _ = std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600));
        let (tx, rx) = mpsc::unbounded_channel();
        let spawned = std::thread::Builder::new()
            .name("voicecall-instance".into())
            .spawn(move || {
                // Held for the life of the process: later launches see it and hand over.
                let _lock = lock;
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    if !serve(stream, &tx) {
                        return;
                    }
                }
            });
        spawned.map_err(|e| format!("cannot start the instance listener: {e}"))?;
        Ok(rx)
    }

    /// Reads one request, passes it on, then says "ok" (or "error") back. False once the
    /// window is gone.
    fn serve(mut stream: UnixStream, requests: &mpsc::UnboundedSender<Request>) -> bool {
        let _ = stream.set_read_timeout(Some(ANSWER_WITHIN));
        let mut line = String::new();
        let read = BufReader::new((&stream).take(MAX_REQUEST as u64)).read_line(&mut line);
        let answer = match read.ok().and_then(|_| Request::decode(&line)) {
            Some(request) => {
                if requests.send(request).is_err() {
                    return false;
                }
                "ok\n"
            }
            None => {
                tracing::warn!("ignored a malformed request on the instance socket");
                "error\n"
            }
        };
        let _ = stream.write_all(answer.as_bytes());
        true
    }

    /// Gives `request` to the running window. It may hold the lock but not listen yet
    /// (it is starting): connecting is retried for a few seconds.
    fn hand_over(socket: &Path, request: &Request) -> Result<(), String> {
        let deadline = Instant::now() + ANSWER_WITHIN;
        let mut stream = loop {
            match UnixStream::connect(socket) {
                Ok(stream) => break stream,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => {
                    return Err(format!(
                        "voicecall is already running with this config dir but does not \
                         answer on {} ({e})",
                        socket.display()
                    ));
                }
            }
        };
        let _ = stream.set_read_timeout(Some(ANSWER_WITHIN));
        let _ = stream.set_write_timeout(Some(ANSWER_WITHIN));
        let mut line = request.encode();
        line.truncate(MAX_REQUEST - 1);
        if !line.ends_with('\n') {
            line.push('\n');
        }
        stream
            .write_all(line.as_bytes())
            .map_err(|e| format!("cannot reach the running voicecall: {e}"))?;
        let mut answer = String::new();
        let _ = BufReader::new(stream.take(64)).read_line(&mut answer);
        match answer.trim() {
            "ok" => Ok(()),
            "" => Err("the running voicecall did not answer".into()),
            other => Err(format!(
                "the running voicecall refused the request ({other})"
            )),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn first(claim: Result<Claim, ClaimError>) -> Requests {
        match claim {
            Ok(Claim::First(requests)) => requests,
            Ok(Claim::HandedOver) => panic!("expected to be the first instance"),
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn a_second_launch_hands_its_link_to_the_first_and_another_dir_runs_apart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut requests = first(claim(dir.path(), &Request::Show));
        let link = "voicecall:k7m-q2x-9fd?server=https://voice.example.org";
        let second = claim(dir.path(), &Request::Open(link.into())).expect("handed over");
        assert!(matches!(second, Claim::HandedOver));
        assert_eq!(requests.try_recv(), Ok(Request::Open(link.into())));
        let third = claim(dir.path(), &Request::Show).expect("handed over");
        assert!(matches!(third, Claim::HandedOver));
        assert_eq!(requests.try_recv(), Ok(Request::Show));

        let other = tempfile::tempdir().expect("tempdir");
        let _other_requests = first(claim(other.path(), &Request::Show));
        assert!(requests.try_recv().is_err(), "nothing crossed over");
    }

    #[test]
    fn a_stale_socket_from_a_crashed_run_is_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = socket_path(dir.path());
        drop(std::os::unix::net::UnixListener::bind(&socket).expect("stale socket"));
        assert!(socket.exists());
        let mut requests = first(claim(dir.path(), &Request::Show));
        assert!(matches!(
            claim(dir.path(), &Request::Show),
            Ok(Claim::HandedOver)
        ));
        assert_eq!(requests.try_recv(), Ok(Request::Show));
    }

    #[test]
    fn long_config_dirs_get_a_socket_elsewhere_named_for_them() {
        let long = PathBuf::from("/tmp").join("d".repeat(120));
        let a = socket_path(&long);
        assert!(a.as_os_str().len() < 108, "{a:?}");
        assert_eq!(a, socket_path(&long), "stable");
        assert_ne!(a, socket_path(&long.join("x")));
    }

    #[test]
    fn requests_survive_the_wire_and_junk_is_refused() {
        for request in [Request::Show, Request::Open("voicecall:abc".into())] {
            assert_eq!(Request::decode(&request.encode()), Some(request));
        }
        assert_eq!(
            Request::decode(&Request::Open("a\nb".into()).encode()),
            Some(Request::Open("a b".into()))
        );
        assert_eq!(Request::decode("launch missiles\n"), None);
        assert_eq!(Request::decode(""), None);
    }
}
