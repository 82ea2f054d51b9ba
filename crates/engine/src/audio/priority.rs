//! The priority of the threads that pace audio. Chromium runs its audio device threads
//! under SCHED_RR (priority 8, seen with `ps -eLo cls,rtprio`) and its audio thread pool at
//! nice −8, so on a busy machine its packets still leave every 20 ms. Ours ran at the
//! default priority and, with the machine loaded, a frame now and then left one or more
//! frames late and in a burst with the next, which made chromium's NetEq raise its delay
//! and time-stretch our speech (docs/quality.md, issue 17). We ask for the same where the
//! system allows it (root, CAP_SYS_NICE or an RLIMIT_RTPRIO/RLIMIT_NICE grant) and carry
//! on at the default priority where it does not.

/// What the current thread got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadPriority {
    /// SCHED_RR at [`REAL_TIME_PRIORITY`].
    RealTime,
    /// The default scheduler at nice [`RAISED_NICE`].
    Raised,
    /// Unchanged: the system refused both.
    Default,
}

/// Chromium's `kRealtimeAudio` priority on Linux.
pub const REAL_TIME_PRIORITY: i32 = 8;
/// Chromium's audio thread pool.
pub const RAISED_NICE: i32 = -8;

/// Raises the calling thread to real-time audio priority, else to nice −8, else leaves it.
#[cfg(target_os = "linux")]
pub fn raise_current_thread() -> ThreadPriority {
    let param = libc::sched_param {
        sched_priority: REAL_TIME_PRIORITY,
    };
    // SAFETY: pthread_self() is always a valid handle for the calling thread and `param`
    // outlives the call; the call only changes this thread's scheduling.
    if unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_RR, &param) } == 0 {
        return ThreadPriority::RealTime;
    }
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let Ok(tid) = libc::id_t::try_from(tid) else {
        return ThreadPriority::Default;
    };
    // SAFETY: setpriority on our own thread id only changes this thread's nice value.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, RAISED_NICE) } == 0 {
        return ThreadPriority::Raised;
    }
    ThreadPriority::Default
}

/// Other systems keep the default priority (their audio APIs raise their own threads).
#[cfg(not(target_os = "linux"))]
pub fn raise_current_thread() -> ThreadPriority {
    ThreadPriority::Default
}

/// The calling thread's scheduling policy, real-time priority and nice value (for tests
/// that check what a thread was granted).
#[cfg(all(test, target_os = "linux"))]
pub(crate) fn current_scheduling() -> (i32, i32, i32) {
    let mut policy = 0;
    let mut param = libc::sched_param { sched_priority: 0 };
    // SAFETY: valid handle and out-pointers that live across the call.
    let rc = unsafe { libc::pthread_getschedparam(libc::pthread_self(), &mut policy, &mut param) };
    assert_eq!(rc, 0);
    // SAFETY: gettid and getpriority on our own thread have no preconditions.
    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) };
    (policy, param.sched_priority, nice)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn current() -> (i32, i32, i32) {
        current_scheduling()
    }

    #[test]
    fn a_raised_thread_has_the_priority_it_reports() {
        let (got, now) = std::thread::spawn(|| (raise_current_thread(), current()))
            .join()
            .expect("thread");
        match got {
            ThreadPriority::RealTime => {
                assert_eq!((now.0, now.1), (libc::SCHED_RR, REAL_TIME_PRIORITY))
            }
            ThreadPriority::Raised => assert_eq!((now.0, now.2), (libc::SCHED_OTHER, RAISED_NICE)),
            ThreadPriority::Default => assert_eq!(now.0, libc::SCHED_OTHER),
        }
        // Only the raised thread changed.
        assert_eq!(current().0, libc::SCHED_OTHER);
    }
}
