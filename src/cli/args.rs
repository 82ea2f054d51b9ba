use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use voicecall_core::ice::IceServer;
use voicecall_engine::controller::{Overrides, Tuning};
use voicecall_engine::media::ReceiveMode;

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
    /// Write the man pages (voicecall.1, voicecall-listen.1, voicecall-call.1) into a
    /// folder; packaging uses it.
    #[command(hide = true)]
    ManPages {
        /// Where to write them (created if missing).
        dir: std::path::PathBuf,
    },
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

/// Switches for benchmarks and comparisons, hidden from `--help`.
#[derive(Debug, Args, Default)]
pub struct AudioTuning {
    /// `naive`: decode packets as they arrive, no jitter buffer, FEC or concealment.
    #[arg(long, hide = true, value_enum, default_value = "adaptive")]
    pub receive_mode: ReceiveModeArg,
    /// Neither offer nor send RED redundancy.
    #[arg(long, hide = true)]
    pub no_red: bool,
    /// Send RED (two adjacent copies) whenever negotiated, whatever the peer reports.
    #[arg(long, hide = true, conflicts_with = "no_red")]
    pub red_always: bool,
    /// Send RED with this many adjacent copies (1 to 3), whatever the peer reports.
    #[arg(long, hide = true)]
    pub red_distance: Option<usize>,
    /// Send RED with copies of these frames back (e.g. 1,3), whatever the peer reports.
    #[arg(long, hide = true, value_delimiter = ',')]
    pub red_plan: Option<Vec<u8>>,
    /// No Opus DTX on silence.
    #[arg(long, hide = true)]
    pub no_dtx: bool,
    /// Do not follow the peer's reports: Opus' default FEC and bitrate, no RED unless
    /// asked for.
    #[arg(long, hide = true)]
    pub fixed_fec: bool,
    /// Opus bitrate in bits per second.
    #[arg(long, hide = true)]
    pub bitrate: Option<i32>,
    /// How deep noise suppression may go, in dB (0: as deep as RNNoise likes).
    #[arg(long, hide = true)]
    pub noise_floor_db: Option<u8>,
    /// Keep Opus DTX off this many ms after speech (0: Opus decides alone).
    #[arg(long, hide = true)]
    pub dtx_hangover_ms: Option<u32>,
    /// Run noise suppression and Opus at full effort on every frame.
    #[arg(long, hide = true)]
    pub no_cpu_savings: bool,
    /// Run noise suppression on every speech frame, even from a clean microphone.
    #[arg(long, hide = true)]
    pub denoise_always: bool,
    /// Wake the audio pump on a fixed 5 ms tick, not by the devices' callbacks.
    #[arg(long, hide = true)]
    pub pump_ticks: bool,
    /// Time the playout fills from the speaker's last callback, however late it ran, not
    /// from when its callbacks are due.
    #[arg(long, hide = true, conflicts_with = "pump_ticks")]
    pub pump_last_callback: bool,
    /// Widen the speaker's margin by its step alone after a dry period, not past the stall
    /// behind it.
    #[arg(long, hide = true, conflicts_with = "pump_ticks")]
    pub pump_step_margin: bool,
    /// The jitter buffer skips and holds whole frames instead of time-stretching speech.
    #[arg(long, hide = true)]
    pub no_time_stretch: bool,
    /// Run webrtc-rs' connection driver on the shared runtime at default priority, not on
    /// the raised `voicecall-rtc` thread.
    #[arg(long, hide = true)]
    pub rtc_shared_runtime: bool,
    /// The jitter buffer's floor of playout delay in ms (default 40).
    #[arg(long, hide = true)]
    pub jitter_min_ms: Option<u16>,
    /// The jitter buffer reads a lasting step in the sender's delay as spread, not as a new
    /// floor.
    #[arg(long, hide = true)]
    pub jitter_steps_as_spread: bool,
    /// The Opus decoder's complexity, 0–10 (5 and up: neural concealment; 6/7: speech
    /// enhancement).
    #[arg(long, hide = true)]
    pub decoder_complexity: Option<u8>,
    /// The most Opus complexity speech is encoded at from 20 kb/s, 0–10 (default 8; 7 is
    /// the baseline before it was raised).
    #[arg(long, hide = true)]
    pub high_rate_complexity: Option<u8>,
    /// DTX as before `usedtx` was followed: sent whatever the peer asks, never asked for.
    #[arg(long, hide = true)]
    pub dtx_regardless: bool,
    /// Ask every peer for DTX (`usedtx=1`), browsers included, not only voicecall clients.
    #[arg(long, hide = true, conflicts_with = "dtx_regardless")]
    pub ask_usedtx: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ReceiveModeArg {
    #[default]
    Adaptive,
    Naive,
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
    /// Turn off noise suppression on the microphone (default: the setting, on).
    #[arg(long)]
    pub no_noise_suppression: bool,
    /// Turn off echo cancellation on the microphone (default: the setting, on).
    #[arg(long)]
    pub no_echo_cancellation: bool,
    #[command(flatten)]
    pub audio: AudioTuning,
    /// Where settings and remembered IDs live (default: the OS config dir; also
    /// VOICECALL_CONFIG_DIR).
    #[arg(long, env = "VOICECALL_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,
}

impl CommonArgs {
    /// What these options change on top of the saved settings.
    pub fn overrides(&self) -> Overrides {
        let (username, credential) = (self.ice_username.as_deref(), self.ice_credential.as_deref());
        Overrides {
            servers: self.servers.clone(),
            input: self.input.clone(),
            output: self.output.clone(),
            bind: self.bind.clone(),
            ice_servers: self
                .ice_servers
                .iter()
                .map(|url| IceServer::from_url(url, username, credential))
                .collect(),
            relay_only: self.relay_only,
            no_trickle: self.no_trickle,
            turn_ca: self.turn_ca.clone(),
            no_noise_suppression: self.no_noise_suppression,
            no_echo_cancellation: self.no_echo_cancellation,
            tuning: self.audio.tuning(),
        }
    }
}

impl AudioTuning {
    fn tuning(&self) -> Tuning {
        Tuning {
            receive_mode: match self.receive_mode {
                ReceiveModeArg::Adaptive => ReceiveMode::Adaptive,
                ReceiveModeArg::Naive => ReceiveMode::Naive,
            },
            no_red: self.no_red,
            red_always: self.red_always,
            red_distance: self.red_distance,
            red_plan: self.red_plan.clone(),
            no_dtx: self.no_dtx,
            fixed_fec: self.fixed_fec,
            bitrate_bps: self.bitrate,
            noise_floor_db: self.noise_floor_db,
            dtx_hangover_ms: self.dtx_hangover_ms,
            no_cpu_savings: self.no_cpu_savings,
            denoise_always: self.denoise_always,
            pump_ticks: self.pump_ticks,
            pump_last_callback: self.pump_last_callback,
            pump_step_margin: self.pump_step_margin,
            no_time_stretch: self.no_time_stretch,
            rtc_shared_runtime: self.rtc_shared_runtime,
            dtx_regardless: self.dtx_regardless,
            ask_usedtx: self.ask_usedtx,
            jitter_min_ms: self.jitter_min_ms,
            jitter_steps_as_spread: self.jitter_steps_as_spread,
            decoder_complexity: self.decoder_complexity,
            high_rate_complexity: self.high_rate_complexity,
        }
    }
}
