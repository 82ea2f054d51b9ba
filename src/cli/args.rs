use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "voicecall",
    version,
    about = "Peer-to-peer voice calls: your ID, their ID, talk.",
    long_about = "Peer-to-peer voice calls over WebRTC (Opus, DTLS-SRTP) with a socket.io \
signaling server.\n\nWithout a subcommand it opens the desktop app. The `listen` and `call` \
subcommands run a headless client that prints its ID as the first line on stdout.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the desktop app (used when there is no subcommand).
    #[command(flatten)]
    pub gui: crate::ui::GuiArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Wait for calls (headless). Prints your ID first.
    Listen(ListenArgs),
    /// Call a peer by ID (headless). Prints your ID first.
    Call(CallArgs),
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Answer every incoming call at once (for tests and scripts: anyone who knows your ID
    /// can then open your microphone).
    #[arg(long, conflicts_with = "auto_decline")]
    pub auto_accept: bool,
    /// Decline every incoming call.
    #[arg(long)]
    pub auto_decline: bool,
    /// Exit after the first call ends (instead of waiting for the next).
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The ID of the peer to call, e.g. k7m-q2x-9fd.
    pub peer: String,
    #[command(flatten)]
    pub common: CommonArgs,
    /// Hang up this long after the call is answered (e.g. 5s, 1m). Without it the call
    /// lasts until the peer hangs up or you press Ctrl-C.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Signaling server URL; repeat for fail-over. Default: from settings, else
    /// http://127.0.0.1:3000.
    #[arg(long = "server", env = "VOICECALL_SERVER", value_delimiter = ',')]
    pub servers: Vec<String>,
    /// Claim this ID (3–32 of a–z, 0–9, '-'). Its token is remembered in the config dir,
    /// so the ID can be reclaimed after a restart. Without it you get a fresh ID each run.
    #[arg(long)]
    pub id: Option<String>,
    /// Microphone: a WAV file (played in real time), `silence`, `default`, or a device
    /// name. Default: the system's default microphone.
    #[arg(long)]
    pub input: Option<String>,
    /// Speaker: a WAV file to record what you hear, `discard`, `default`, or a device
    /// name. Default: the system's default speaker.
    #[arg(long)]
    pub output: Option<String>,
    /// A STUN/TURN server URL (stun:host:port, turn:host:port?transport=udp); repeatable.
    #[arg(long = "ice-server")]
    pub ice_servers: Vec<String>,
    /// Username for the TURN servers given with --ice-server.
    #[arg(long, requires = "ice_credential")]
    pub ice_username: Option<String>,
    /// Password for the TURN servers given with --ice-server.
    #[arg(long, requires = "ice_username")]
    pub ice_credential: Option<String>,
    /// A CA certificate (PEM file) to trust for TURN over TLS (`turns:`) besides the
    /// system's, for a TURN server with a private CA.
    #[arg(long, env = "VOICECALL_TURN_CA")]
    pub turn_ca: Option<std::path::PathBuf>,
    /// Only connect through a TURN relay (hides your addresses from the peer).
    #[arg(long)]
    pub relay_only: bool,
    /// Send all ICE candidates inside the offer/answer after gathering finishes, instead of
    /// trickling them (the seed client's way; slower to connect, for comparison).
    #[arg(long)]
    pub no_trickle: bool,
    /// Local address to use for media (repeatable); e.g. 127.0.0.1 to stay on this machine.
    #[arg(long)]
    pub bind: Vec<IpAddr>,
    /// Print events as JSON lines (after the first line, which is always your ID).
    #[arg(long)]
    pub json: bool,
    /// Where settings and remembered IDs live (default: the OS config dir; also
    /// VOICECALL_CONFIG_DIR).
    #[arg(long, env = "VOICECALL_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,
}
