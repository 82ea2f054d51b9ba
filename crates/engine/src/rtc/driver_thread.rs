//! The thread webrtc-rs' peer connection drivers run on. webrtc-rs 0.21 is an async driver
//! over a sans-IO core: `AudioTrackWriter::write_rtp` only queues the packet for the
//! connection's driver task, which does SRTP and the UDP/TURN send when it next runs. On the
//! app's shared runtime that task waited for a default-priority worker, so on a loaded
//! machine a packet the real-time audio pump wrote on time still left milliseconds late or
//! in a burst with the next, and chromium's NetEq answered with a deeper buffer and
//! time-stretched speech (issue 17, docs/quality.md). The drivers run here instead: one
//! thread of ours with its own current-thread runtime, at the pump's priority
//! (`audio::raise_current_thread`: SCHED_RR 8, else nice −8, else unchanged).

use std::sync::OnceLock;

use tokio::runtime::Handle;

use crate::audio;

/// The name `ps` and /proc show (≤ 15 bytes, Linux's `comm` limit).
pub const DRIVER_THREAD: &str = "voicecall-rtc";

static DRIVERS: OnceLock<Option<Handle>> = OnceLock::new();

/// The drivers' runtime, started on first use and kept for the process' lifetime (the
/// connections it drives come and go). `None` if the thread could not be started: the
/// caller then drives the connection on its own runtime, as before.
pub fn handle() -> Option<Handle> {
    DRIVERS.get_or_init(start).clone()
}

fn start() -> Option<Handle> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::warn!("no runtime for the webrtc driver thread: {err}");
            return None;
        }
    };
    let handle = runtime.handle().clone();
    let spawned = std::thread::Builder::new()
        .name(DRIVER_THREAD.to_owned())
        .spawn(move || {
            let priority = audio::raise_current_thread();
            tracing::debug!(?priority, "webrtc driver thread");
            // Parked here for good; the runtime drives whatever is spawned onto it.
            runtime.block_on(std::future::pending::<()>());
        });
    match spawned {
        Ok(_) => Some(handle),
        Err(err) => {
            tracing::warn!("no webrtc driver thread: {err}");
            None
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Name, scheduling policy and nice value of the calling thread.
    fn current() -> (String, i32, i32) {
        let name = std::thread::current().name().unwrap_or("").to_owned();
        let (policy, _, nice) = crate::audio::current_scheduling();
        (name, policy, nice)
    }

    /// What the system grants a fresh thread that asks, to compare the drivers' with.
    fn granted() -> (i32, i32) {
        std::thread::spawn(|| {
            audio::raise_current_thread();
            let (_, policy, nice) = current();
            (policy, nice)
        })
        .join()
        .expect("thread")
    }

    #[tokio::test]
    async fn tasks_spawned_for_the_drivers_run_on_the_raised_thread() {
        let handle = handle().expect("driver thread");
        let (name, policy, nice) = handle.spawn(async { current() }).await.expect("task");
        assert_eq!(name, DRIVER_THREAD);
        assert_eq!((policy, nice), granted());
        // One thread for every connection.
        let again = super::handle().expect("driver thread");
        assert_eq!(again.id(), handle.id());
    }
}
