//! Command-line options of the desktop app, and how they override the saved settings.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;
use voicecall_engine::controller::Overrides;

/// Options of the desktop app (no subcommand). They override the saved settings for this
/// run only; the settings file is left as it is.
#[derive(Debug, Clone, Default, Args)]
pub struct GuiArgs {
    /// A call link to open (`voicecall:k7m-q2x-9fd?server=https://voice.example.org`): the
    /// app fills in the call and asks before dialling. Handed to the running window if
    /// there is one for this config dir.
    #[arg(value_name = "LINK")]
    pub link: Option<String>,
    /// Signaling server URL; repeat (or separate with commas) for fail-over. Default: from
    /// settings; in a source checkout http://127.0.0.1:3000 (the bundled server, started if
    /// needed); otherwise the app asks for one.
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

impl GuiArgs {
    /// What these options change on top of the saved settings (blank values change
    /// nothing).
    pub fn overrides(&self) -> Overrides {
        let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        Overrides {
            servers: self
                .servers
                .iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            input: non_empty(&self.input),
            output: non_empty(&self.output),
            bind: self.bind.clone(),
            ..Overrides::default()
        }
    }
}
