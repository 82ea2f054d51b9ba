//! Command-line options of the desktop app, and how they override the saved settings.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

/// Options of the desktop app (no subcommand). They override the saved settings for this
/// run only; the settings file is left as it is.
#[derive(Debug, Clone, Default, Args)]
pub struct GuiArgs {
    /// Signaling server URL; repeat (or separate with commas) for fail-over. Default: from
    /// settings, else http://127.0.0.1:3000 (started from the bundled server if needed).
    #[arg(long = "server", env = "VOICECALL_SERVER", value_delimiter = ',')]
    pub servers: Vec<String>,
    /// Microphone for calls: `default`, a device name, `silence` or a WAV file to play.
    #[arg(long, env = "VOICECALL_INPUT")]
    pub input: Option<String>,
    /// Speaker for calls: `default`, a device name, `discard` or a WAV file to record into.
    #[arg(long, env = "VOICECALL_OUTPUT")]
    pub output: Option<String>,
    /// Local address to use for media (repeatable); e.g. 127.0.0.1 to stay on this machine.
    #[arg(long, env = "VOICECALL_BIND", value_delimiter = ',')]
    pub bind: Vec<IpAddr>,
    /// Where settings and your remembered ID live (default: the OS config dir).
    #[arg(long, env = "VOICECALL_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,
}

/// What the command line overrides for this run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub servers: Vec<String>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub bind: Vec<IpAddr>,
}

impl From<&GuiArgs> for Overrides {
    fn from(args: &GuiArgs) -> Self {
        let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        Self {
            servers: args
                .servers
                .iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            input: non_empty(&args.input),
            output: non_empty(&args.output),
            bind: args.bind.clone(),
        }
    }
}
