//! Ctrl+C, SIGTERM and SIGHUP: the app leaves like closing the window does (hanging up
//! first, so the peer hears "hung up" and a recording is finalised).

use iced::futures::Stream;
use iced::futures::stream;

/// Yields once, when the process is asked to stop.
pub fn termination() -> impl Stream<Item = ()> {
    stream::once(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut terminate = signal(SignalKind::terminate()).ok();
            let mut hang_up = signal(SignalKind::hangup()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = next(terminate.as_mut()) => {}
                () = next(hang_up.as_mut()) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    })
}

/// The next delivery of `signal`; never, if it could not be listened for.
#[cfg(unix)]
async fn next(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}
