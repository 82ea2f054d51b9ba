//! A relay running on its own thread and runtime, for tests and benchmarks that are not
//! async themselves: started in one call, stopped when dropped.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;

use clap::Parser;
use tokio::sync::oneshot;

use super::{Args, RelayConfig, RelayStats, run_relay};

pub struct RelayThread {
    pub addr: SocketAddr,
    pub stats: Arc<RelayStats>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RelayThread {
    pub fn start(config: RelayConfig) -> io::Result<Self> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("netem-relay".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match run_relay(config).await {
                        Ok((addr, stats, task)) => {
                            let _ = ready_tx.send(Ok((addr, stats)));
                            let _ = stop_rx.await;
                            task.abort();
                        }
                        Err(err) => {
                            let _ = ready_tx.send(Err(err));
                        }
                    }
                });
            })?;
        let (addr, stats) = ready_rx
            .recv()
            .map_err(|_| io::Error::other("the relay thread ended before it bound"))??;
        Ok(Self {
            addr,
            stats,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Impairs packets as configured (`true`, the start) or passes them all untouched.
    pub fn set_impaired(&self, impaired: bool) {
        self.stats
            .bypass
            .store(!impaired, std::sync::atomic::Ordering::Relaxed);
    }

    /// The relay a `voicecall-netem` command line describes (without the program name),
    /// e.g. `["--upstream", "127.0.0.1:3478", "--loss", "0.1"]`.
    pub fn from_args<I, S>(args: I) -> io::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString> + Clone,
    {
        let args = Args::try_parse_from(
            std::iter::once(std::ffi::OsString::from("voicecall-netem"))
                .chain(args.into_iter().map(Into::into)),
        )
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err.to_string()))?;
        Self::start(args.to_config())
    }
}

impl Drop for RelayThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
