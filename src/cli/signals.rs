//! The signals that ask a headless client to stop: Ctrl-C (SIGINT), SIGTERM (a service
//! manager, `kill`) and SIGHUP (the terminal went away). Each hangs up cleanly, so the
//! peer hears "hung up" rather than losing the connection, and the recording is finalised.

use std::fmt;

/// Which signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Interrupt,
    Terminate,
    HangUp,
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stop::Interrupt => "SIGINT",
            Stop::Terminate => "SIGTERM",
            Stop::HangUp => "SIGHUP",
        })
    }
}

/// Listens from creation on: a signal that arrives before anyone waits is kept.
pub struct Signals {
    #[cfg(unix)]
    streams: Option<[(Stop, tokio::signal::unix::Signal); 3]>,
}

impl Signals {
    pub fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = (|| {
                Some([
                    (Stop::Interrupt, signal(SignalKind::interrupt()).ok()?),
                    (Stop::Terminate, signal(SignalKind::terminate()).ok()?),
                    (Stop::HangUp, signal(SignalKind::hangup()).ok()?),
                ])
            })();
            if streams.is_none() {
                tracing::warn!("cannot listen for SIGINT/SIGTERM/SIGHUP; only Ctrl-C is handled");
            }
            Self { streams }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// The next stop signal.
    pub async fn next(&mut self) -> Stop {
        #[cfg(unix)]
        if let Some([(a, sa), (b, sb), (c, sc)]) = self.streams.as_mut() {
            return tokio::select! {
                _ = sa.recv() => *a,
                _ = sb.recv() => *b,
                _ = sc.recv() => *c,
            };
        }
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        Stop::Interrupt
    }
}
