//! Ctrl+C and SIGTERM: the app leaves like closing the window does (hanging up first).

use iced::futures::Stream;
use iced::futures::stream;

/// Yields once, when the process is asked to stop.
pub fn termination() -> impl Stream<Item = ()> {
    stream::once(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut terminate = signal(SignalKind::terminate()).ok();
            let terminated = async {
                match terminate.as_mut() {
                    Some(terminate) => {
                        terminate.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = terminated => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    })
}
