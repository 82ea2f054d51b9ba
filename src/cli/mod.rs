//! The command line: `voicecall` (desktop app), `voicecall listen`, `voicecall call`.

mod args;
mod headless;
mod output;
mod signals;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

pub use args::Cli;
use args::Command;

/// A failure the user should read: one line on stderr and a distinct exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// Bad arguments or settings.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }

    /// Could not get going: server unreachable, device missing, …
    pub fn setup(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }

    /// The call itself did not succeed: declined, busy, not found, connection lost, …
    pub fn call(message: impl Into<String>) -> Self {
        Self {
            code: 3,
            message: message.into(),
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let Some(command) = cli.command else {
        return crate::ui::run(cli.gui);
    };
    if let Command::ManPages { dir } = &command {
        return match man_pages(dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!(
                    "voicecall: cannot write the man pages into {}: {err}",
                    dir.display()
                );
                ExitCode::from(1)
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("voicecall: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(headless::run(command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("voicecall: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// One page for the app and one for each visible subcommand, from the same definitions
/// as `--help`.
fn man_pages(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(Cli::command(), dir)
}

/// webrtc-rs logs every failed connectivity check and TURN permission at error level;
/// those are normal while ICE searches, so the libraries stay quiet unless `RUST_LOG` asks.
const QUIET_LIBRARIES: &str = "warn,webrtc=off,rtc=off,rtc_ice=off,rtc_turn=off,rtc_dtls=off,\
rtc_srtp=off,rtc_sctp=off,rtc_interceptor=off,rtc_mdns=off";

/// Logs go to stderr (stdout belongs to the ID line and events); `RUST_LOG` tunes them.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(QUIET_LIBRARIES));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
