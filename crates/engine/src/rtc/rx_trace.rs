//! Hidden capture of the received audio stream for offline replay (issue 17): with
//! `VOICECALL_RX_TRACE=<dir>` set, every packet the remote track delivers is appended to
//! `<dir>/rx-<pid>-<n>.bin` (`jitter::trace`'s format) by the task that reads the track,
//! never by the audio thread. Unset (every normal run), nothing is written or allocated.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use crate::jitter::trace::{self, TracedPacket};

const ENV: &str = "VOICECALL_RX_TRACE";

/// Read once per process.
fn trace_dir() -> Option<&'static PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| std::env::var_os(ENV).map(PathBuf::from))
        .as_ref()
}

pub(super) struct RxTrace {
    file: File,
    first: Option<Instant>,
    record: Vec<u8>,
}

impl RxTrace {
    /// A new trace file when `VOICECALL_RX_TRACE` names a directory; a failure to create
    /// it is logged and the call goes on untraced.
    pub(super) fn from_env() -> Option<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = trace_dir()?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("rx-{}-{n}.bin", std::process::id()));
        let opened = File::create(&path).and_then(|mut file| {
            file.write_all(trace::MAGIC)?;
            Ok(file)
        });
        match opened {
            Ok(file) => Some(Self {
                file,
                first: None,
                record: Vec::with_capacity(2048),
            }),
            Err(err) => {
                tracing::warn!(path = %path.display(), error = %err, "RX trace not written");
                None
            }
        }
    }

    pub(super) fn record(&mut self, mut packet: TracedPacket, now: Instant) {
        let first = *self.first.get_or_insert(now);
        let us = now.saturating_duration_since(first).as_micros();
        packet.arrival_us = u32::try_from(us).unwrap_or(u32::MAX);
        self.record.clear();
        trace::encode(&packet, &mut self.record);
        if let Err(err) = self.file.write_all(&self.record) {
            tracing::warn!(error = %err, "RX trace write");
        }
    }
}
