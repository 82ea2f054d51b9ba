//! Shared by the end-to-end tests and the benchmarks: the real signaling server (alone, in a
//! cluster, in a namespace), coturn, the real `voicecall` binary as a headless client or a
//! desktop window, and the audio comparison that tells whether each side heard the other.
//!
//! A test reads as its scenario:
//!
//! ```no_run
//! # use voicecall_lab::support::{Client, Conversation, Server, expect_caller_hung_up};
//! # use std::time::Duration;
//! let server = Server::start();
//! let talk = Conversation::new("two_way_call");
//! let mut callee = Client::listen(&server).auto_accept().once().talks_as(&talk.callee).spawn();
//! let mut caller = Client::call(&server, &callee.id)
//!     .hang_up_after(Duration::from_secs(8))
//!     .talks_as(&talk.caller)
//!     .spawn();
//! expect_caller_hung_up(&mut caller, &mut callee, Duration::from_secs(40));
//! talk.assert_both_heard();
//! ```

mod browser;
mod client;
mod client_builder;
pub mod cluster;
mod conversation;
pub mod debian;
mod desktop_app;
pub mod netns;
pub mod pesq;
pub mod redis;
pub mod redis_cluster;
mod server;
pub mod turn;
mod xvfb;

pub use browser::{Browser, BrowserBuilder};
pub use client::{Client, expect_caller_hung_up};
pub use client_builder::{ClientBuilder, SignalingUrl};
pub use conversation::{Conversation, Side, compare_with_reference, heard_clearly};
pub use desktop_app::{DesktopApp, DesktopAppBuilder};
pub use server::{Server, ServerBuilder};
pub use xvfb::Xvfb;

pub use crate::assets::{asset, repo};

use std::path::{Path, PathBuf};

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

/// A folder for one test's files, kept under target/ so failures can be inspected.
pub fn output_dir(test: &str) -> PathBuf {
    let dir = repo().join("target/test-output").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test output dir");
    dir
}

/// Whether process `pid` still runs (an exited one nobody reaped is a zombie: gone).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

/// A fresh, empty folder under the system's temp dir (a client's config dir, …).
pub(crate) fn fresh_temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "voicecall-{tag}-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// SIGTERM, then waits up to `timeout` for `child` to exit; kills it if it does not
/// (`None` then).
pub(crate) fn terminate(
    child: &mut std::process::Child,
    timeout: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}
