//! The one place that turns the saved settings plus this run's overrides (command line,
//! environment) into an [`EngineConfig`]. Both shells call it. What a problem means is
//! theirs to decide: the desktop app shows it and starts anyway (without a server nothing
//! works at all, while a broken microphone setting only fails calls), the headless client
//! refuses to start.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use thiserror::Error;
use voicecall_core::config::{Claim, Settings};
use voicecall_core::device::{InputSpec, OutputSpec, SpecError};
use voicecall_core::ice::IceServer;

use super::config::EngineConfig;
use crate::media::{ProtectionMode, PumpTiming, ReceiveMode};
use crate::rtc::DtxRequest;
use crate::signaling::SignalingConfig;

/// Opus bitrates the encoder accepts, in bits per second.
const BITRATES: std::ops::RangeInclusive<i32> = 6_000..=510_000;
/// Adjacent earlier frames a fixed RED plan may repeat.
const RED_DISTANCES: std::ops::RangeInclusive<usize> = 1..=3;
/// The plan `--red-always` means: what was always sent before the feedback loop worked.
const RED_ALWAYS: [u8; 2] = [1, 2];

/// What this run changes on top of the saved settings; the settings file is left alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// Replace the saved signaling servers (when not empty).
    pub servers: Vec<String>,
    /// Replace the saved microphone / speaker (text form of `InputSpec` / `OutputSpec`).
    pub input: Option<String>,
    pub output: Option<String>,
    /// Local addresses for media (when not empty).
    pub bind: Vec<IpAddr>,
    /// Replace the saved STUN/TURN servers (when not empty).
    pub ice_servers: Vec<IceServer>,
    /// Relay only, whatever the settings say.
    pub relay_only: bool,
    /// Send every candidate inside the description instead of trickling them.
    pub no_trickle: bool,
    /// A PEM file with a CA to trust for TURN over TLS besides the system's.
    pub turn_ca: Option<PathBuf>,
    /// Switch the saved capture processing off for this run.
    pub no_noise_suppression: bool,
    pub no_echo_cancellation: bool,
    pub tuning: Tuning,
}

/// Audio switches for benchmarks and comparisons.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tuning {
    pub receive_mode: ReceiveMode,
    /// Neither offer nor send RED.
    pub no_red: bool,
    /// Send RED (two adjacent copies) whenever negotiated, whatever the peer reports.
    pub red_always: bool,
    /// Send RED with this many adjacent copies, whatever the peer reports.
    pub red_distance: Option<usize>,
    /// Send RED with copies of these frames back (e.g. 1 and 3), whatever the peer reports.
    pub red_plan: Option<Vec<u8>>,
    pub no_dtx: bool,
    /// No adaptation: Opus' default FEC and bitrate, no RED unless asked for above.
    pub fixed_fec: bool,
    pub bitrate_bps: Option<i32>,
    /// Noise suppression's depth in dB (the original mixed back there); 0: no floor.
    pub noise_floor_db: Option<u8>,
    /// DTX hangover after speech in ms (0: Opus decides alone); rounded to frames.
    pub dtx_hangover_ms: Option<u32>,
    /// RNNoise and Opus at full effort on every frame (the cost baseline).
    pub no_cpu_savings: bool,
    /// RNNoise on every speech frame, even from a clean microphone.
    pub denoise_always: bool,
    /// The audio pump on a fixed 5 ms tick instead of woken by the devices' callbacks
    /// (the latency baseline).
    pub pump_ticks: bool,
    /// Time the playout fills from the speaker's last callback, not from when its callbacks
    /// are due (the baseline of `pump_schedule`'s grid).
    pub pump_last_callback: bool,
    /// The speaker's margin widened by its step alone after a dry period (the baseline of
    /// widening past the stall).
    pub pump_step_margin: bool,
    /// The jitter buffer skips and holds whole frames instead of time-stretching.
    pub no_time_stretch: bool,
    /// webrtc-rs' driver on the caller's runtime, not the raised driver thread.
    pub rtc_shared_runtime: bool,
    /// The jitter buffer's floor of playout delay in ms (the receiver baseline of issue 17);
    /// the buffer caps it at its maximum.
    pub jitter_min_ms: Option<u16>,
    /// A lasting step in the sender's delay read as spread (the baseline of following it).
    pub jitter_steps_as_spread: bool,
    /// The Opus decoder's complexity (`JitterConfig::decoder_complexity`), 0–10.
    pub decoder_complexity: Option<u8>,
    /// The cap on speech's encoder complexity at high bitrates
    /// (`MediaConfig::high_rate_complexity`), 0–10.
    pub high_rate_complexity: Option<u8>,
    /// DTX as before RFC 7587's `usedtx` was followed: sent whatever the peer asks, and not
    /// asked for (the sender baseline of issue 17).
    pub dtx_regardless: bool,
    /// Ask every peer for DTX with RFC 7587's `usedtx=1` (Chromium then sends us DTX), not
    /// only voicecall clients: how our receiver plays a browser's DTX is measured with it.
    pub ask_usedtx: bool,
}

/// Something in the settings or overrides that does not work as given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigProblem {
    #[error("no signaling server configured")]
    NoServer,
    /// The microphone setting makes no sense; the default microphone is used.
    #[error("microphone setting: {0}")]
    Input(SpecError),
    /// The speaker setting makes no sense; the default speaker is used.
    #[error("speaker setting: {0}")]
    Output(SpecError),
    #[error("microphone file {} does not exist", .0.display())]
    InputFileMissing(PathBuf),
    #[error("cannot record to {}: its folder does not exist", .0.display())]
    OutputFolderMissing(PathBuf),
    #[error("cannot read the TURN CA {}: {reason}", path.display())]
    TurnCaUnreadable { path: PathBuf, reason: String },
    #[error("the TURN CA {} is not a PEM certificate: {reason}", path.display())]
    TurnCaNotPem { path: PathBuf, reason: String },
    #[error("RED distance {0}: 1 to 3")]
    RedDistance(usize),
    #[error("RED plan {0:?}: distances 1 to 4")]
    RedPlan(Vec<u8>),
    #[error("bitrate {0} b/s: 6000..=510000")]
    Bitrate(i32),
    #[error("decoder complexity {0}: 0 to 10")]
    DecoderComplexity(u8),
    #[error("high-rate encoder complexity {0}: 0 to 10")]
    HighRateComplexity(u8),
}

/// The settings in force for this run: the saved ones with the overrides on top, before
/// anything is checked. Equal values make equal engines.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    pub servers: Vec<String>,
    pub ice_servers: Vec<IceServer>,
    pub relay_only: bool,
    pub no_trickle: bool,
    pub turn_ca: Option<PathBuf>,
    pub input: String,
    pub output: String,
    pub bind: Vec<IpAddr>,
    pub noise_suppression: bool,
    pub echo_cancellation: bool,
    pub tuning: Tuning,
}

impl Effective {
    pub fn new(settings: &Settings, overrides: &Overrides) -> Self {
        Self {
            servers: unless_empty(&overrides.servers, &settings.servers),
            ice_servers: unless_empty(&overrides.ice_servers, &settings.ice_servers),
            relay_only: overrides.relay_only || settings.relay_only,
            no_trickle: overrides.no_trickle,
            turn_ca: overrides.turn_ca.clone(),
            input: overrides
                .input
                .clone()
                .unwrap_or_else(|| settings.input_device.clone()),
            output: overrides
                .output
                .clone()
                .unwrap_or_else(|| settings.output_device.clone()),
            bind: overrides.bind.clone(),
            noise_suppression: settings.noise_suppression && !overrides.no_noise_suppression,
            echo_cancellation: settings.echo_cancellation && !overrides.no_echo_cancellation,
            tuning: overrides.tuning.clone(),
        }
    }

    /// The server the ID is registered with (and remembered for).
    pub fn primary_server(&self) -> Option<&str> {
        self.servers.first().map(String::as_str)
    }

    /// The speaker as configured, or the default one if the text makes no sense (the
    /// problem is reported by [`Effective::engine_config`]).
    pub fn output_spec(&self) -> OutputSpec {
        OutputSpec::from_str(&self.output).unwrap_or_default()
    }

    /// The engine configuration claiming `claim` (or a fresh ID), plus everything that
    /// does not work as given. A device setting that makes no sense is replaced by the
    /// default device; every other problem leaves the value as it is.
    pub fn engine_config(&self, claim: Option<Claim>) -> (EngineConfig, Vec<ConfigProblem>) {
        let mut problems = Vec::new();
        let mut signaling = SignalingConfig::new(self.primary_server().unwrap_or_default());
        signaling.servers = self.servers.clone();
        if let Some(claim) = claim {
            signaling.id = Some(claim.id);
            signaling.token = claim.token;
        }
        if self.servers.is_empty() {
            problems.push(ConfigProblem::NoServer);
        }
        let mut config = EngineConfig::new(signaling);
        let rtc = &mut config.rtc;
        rtc.ice_servers = self.ice_servers.clone();
        rtc.relay_only = self.relay_only;
        rtc.no_trickle = self.no_trickle;
        if !self.bind.is_empty() {
            rtc.bind = self.bind.clone();
        }
        if let Some(path) = &self.turn_ca {
            match read_ca(path) {
                Ok(pem) => rtc.tls_roots.push(pem),
                Err(problem) => problems.push(problem),
            }
        }
        let media = &mut config.media;
        media.processing.noise_suppression = self.noise_suppression;
        media.processing.echo_cancellation = self.echo_cancellation;
        media.input = InputSpec::from_str(&self.input).unwrap_or_else(|err| {
            problems.push(ConfigProblem::Input(err));
            InputSpec::Default
        });
        media.output = OutputSpec::from_str(&self.output).unwrap_or_else(|err| {
            problems.push(ConfigProblem::Output(err));
            OutputSpec::Default
        });
        problems.extend(missing_files(&media.input, &media.output));
        problems.extend(self.tuning.apply(&mut config));
        (config, problems)
    }
}

impl Tuning {
    /// Sets the switches that are in range; reports the others.
    fn apply(&self, config: &mut EngineConfig) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let media = &mut config.media;
        media.receive_mode = self.receive_mode;
        media.time_stretch = !self.no_time_stretch;
        if let Some(ms) = self.jitter_min_ms {
            media.jitter.min_delay = std::time::Duration::from_millis(u64::from(ms));
        }
        if self.jitter_steps_as_spread {
            media.jitter.follow_delay_steps = false;
        }
        match self.decoder_complexity {
            Some(c) if c <= 10 => media.jitter.decoder_complexity = c,
            Some(c) => problems.push(ConfigProblem::DecoderComplexity(c)),
            None => {}
        }
        match self.high_rate_complexity {
            Some(c) if c <= 10 => media.high_rate_complexity = c,
            Some(c) => problems.push(ConfigProblem::HighRateComplexity(c)),
            None => {}
        }
        if self.no_red {
            config.rtc.red = false;
        }
        config.rtc.driver_thread = !self.rtc_shared_runtime;
        if self.dtx_regardless {
            media.dtx_whatever_the_peer_asks = true;
            config.rtc.ask_for_dtx = DtxRequest::Never;
        } else if self.ask_usedtx {
            config.rtc.ask_for_dtx = DtxRequest::FromAnyone;
        }
        if self.no_dtx {
            media.encoder.dtx = false;
        }
        if self.no_cpu_savings {
            media.processing.silence_savings = false;
            media.adaptive_complexity = false;
        }
        if self.no_cpu_savings || self.denoise_always {
            media.processing.clean_mic_bypass = false;
        }
        if self.pump_ticks {
            media.pump_timing = PumpTiming::Ticks;
        } else if self.pump_last_callback {
            media.pump_timing = PumpTiming::DeviceAlignedToLastCallback;
        } else if self.pump_step_margin {
            media.pump_timing = PumpTiming::DeviceAlignedStepMargin;
        }
        if let Some(db) = self.noise_floor_db {
            media.processing.noise_floor_db = (db > 0).then_some(db);
        }
        if let Some(ms) = self.dtx_hangover_ms {
            let frame_ms = voicecall_core::format::FRAME_DURATION.as_millis() as u32;
            let frames = ms.div_ceil(frame_ms);
            media.dtx_hangover_frames = u16::try_from(frames).unwrap_or(u16::MAX);
        }
        match self.bitrate_bps {
            Some(bps) if BITRATES.contains(&bps) => media.encoder.bitrate_bps = bps,
            Some(bps) => problems.push(ConfigProblem::Bitrate(bps)),
            None => {}
        }
        let distance = match self.red_distance {
            Some(d) if RED_DISTANCES.contains(&d) => Some((1..=d as u8).collect::<Vec<_>>()),
            Some(d) => {
                problems.push(ConfigProblem::RedDistance(d));
                None
            }
            None => None,
        };
        let fixed_red = self
            .red_plan
            .clone()
            .or(distance)
            .or_else(|| self.red_always.then(|| RED_ALWAYS.to_vec()))
            .filter(|_| !self.no_red);
        media.protection = match fixed_red {
            Some(plan) => match ProtectionMode::fixed_red(&plan, &media.encoder) {
                Some(mode) => mode,
                None => {
                    problems.push(ConfigProblem::RedPlan(plan));
                    media.protection
                }
            },
            None if self.fixed_fec => {
                ProtectionMode::fixed_red(&[], &media.encoder).unwrap_or(media.protection)
            }
            None => media.protection,
        };
        problems
    }
}

/// The override when there is one, else the saved list.
fn unless_empty<T: Clone>(over: &[T], saved: &[T]) -> Vec<T> {
    if over.is_empty() { saved } else { over }.to_vec()
}

/// A CA certificate for TURN over TLS, checked now rather than at the first `turns:` call.
fn read_ca(path: &Path) -> Result<Vec<u8>, ConfigProblem> {
    let pem = std::fs::read(path).map_err(|e| ConfigProblem::TurnCaUnreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    native_tls::Certificate::from_pem(&pem).map_err(|e| ConfigProblem::TurnCaNotPem {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(pem)
}

/// Files that cannot work, found before dialling rather than after the peer answered.
fn missing_files(input: &InputSpec, output: &OutputSpec) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if let InputSpec::Wav { path, .. } = input
        && !path.is_file()
    {
        problems.push(ConfigProblem::InputFileMissing(path.clone()));
    }
    if let OutputSpec::Wav(path) = output {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        if dir.is_some_and(|d| !d.is_dir()) {
            problems.push(ConfigProblem::OutputFolderMissing(path.clone()));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use voicecall_core::id::PeerId;

    fn build(settings: &Settings, overrides: &Overrides) -> (EngineConfig, Vec<ConfigProblem>) {
        Effective::new(settings, overrides).engine_config(None)
    }

    /// Saved settings with a server: a fresh install has none.
    fn with_server() -> Settings {
        Settings {
            servers: vec!["http://127.0.0.1:3000".into()],
            ..Settings::default()
        }
    }

    #[test]
    fn overrides_win_without_touching_the_settings() {
        let settings = Settings {
            input_device: "silence".into(),
            ice_servers: vec![IceServer::from_url("stun:saved:3478", None, None)],
            ..with_server()
        };
        let overrides = Overrides {
            servers: vec!["http://example.org:1".into(), "http://example.org:2".into()],
            output: Some("discard".into()),
            bind: vec!["127.0.0.1".parse().expect("ip")],
            ..Overrides::default()
        };
        let effective = Effective::new(&settings, &overrides);
        assert_eq!(effective.primary_server(), Some("http://example.org:1"));
        assert_eq!(effective.input, "silence");
        assert_eq!(effective.output, "discard");
        let (config, problems) = effective.engine_config(None);
        assert_eq!(problems, []);
        assert_eq!(config.media.input, InputSpec::Silence);
        assert_eq!(config.media.output, OutputSpec::Discard);
        assert_eq!(config.signaling.servers, overrides.servers);
        assert_eq!(config.rtc.bind, overrides.bind);
        assert_eq!(
            config.rtc.ice_servers, settings.ice_servers,
            "saved STUN kept"
        );
        assert_eq!(config.signaling.id, None);
    }

    #[test]
    fn the_command_line_can_replace_ice_servers_and_switch_things_off_but_not_on() {
        let settings = Settings {
            noise_suppression: false,
            ..with_server()
        };
        let turn = IceServer::from_url("turn:t:3478", Some("u"), Some("p"));
        let overrides = Overrides {
            ice_servers: vec![turn.clone()],
            relay_only: true,
            no_trickle: true,
            no_echo_cancellation: true,
            ..Overrides::default()
        };
        let (config, _) = build(&settings, &overrides);
        assert_eq!(config.rtc.ice_servers, vec![turn]);
        assert!(config.rtc.relay_only && config.rtc.no_trickle);
        let processing = config.media.processing;
        assert!(!processing.noise_suppression && !processing.echo_cancellation);

        let saved_relay_only = Settings {
            relay_only: true,
            ..with_server()
        };
        let (config, _) = build(&saved_relay_only, &Overrides::default());
        assert!(
            config.rtc.relay_only,
            "the setting holds without the switch"
        );
        assert!(config.media.processing.echo_cancellation);
    }

    #[test]
    fn the_claim_goes_to_the_signaling_config() {
        let claim = Claim {
            id: PeerId::parse("alice-test").expect("id"),
            token: Some("token-123456".into()),
        };
        let (config, _) = Effective::new(&with_server(), &Overrides::default())
            .engine_config(Some(claim.clone()));
        assert_eq!(config.signaling.id, Some(claim.id));
        assert_eq!(config.signaling.token, claim.token);
    }

    #[test]
    fn bad_devices_are_reported_and_replaced_by_the_default() {
        let settings = Settings {
            input_device: "wav:/nonexistent/speech.wav".into(),
            output_device: "wav:".into(),
            ..with_server()
        };
        let (config, problems) = build(&settings, &Overrides::default());
        assert_eq!(config.media.output, OutputSpec::Default);
        assert!(
            matches!(problems[0], ConfigProblem::Output(_)),
            "{problems:?}"
        );
        assert_eq!(
            problems[1],
            ConfigProblem::InputFileMissing("/nonexistent/speech.wav".into())
        );
        assert_eq!(problems.len(), 2, "{problems:?}");

        let overrides = Overrides {
            input: Some("wav:".into()),
            output: Some("wav:/nonexistent/dir/out.wav".into()),
            ..Overrides::default()
        };
        let (config, problems) = build(&with_server(), &overrides);
        assert_eq!(config.media.input, InputSpec::Default);
        assert!(
            matches!(problems[0], ConfigProblem::Input(_)),
            "{problems:?}"
        );
        assert_eq!(
            problems[1],
            ConfigProblem::OutputFolderMissing("/nonexistent/dir/out.wav".into())
        );
    }

    #[test]
    fn no_server_is_a_problem_but_still_a_config() {
        let settings = Settings {
            servers: Vec::new(),
            ..with_server()
        };
        let (config, problems) = build(&settings, &Overrides::default());
        assert_eq!(problems, [ConfigProblem::NoServer]);
        assert!(config.signaling.servers.is_empty());
    }

    #[test]
    fn the_turn_ca_must_be_a_readable_pem_certificate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.pem");
        let not_pem = dir.path().join("junk.pem");
        std::fs::write(&not_pem, "not a certificate").expect("write");
        for (path, unreadable) in [(missing, true), (not_pem, false)] {
            let overrides = Overrides {
                turn_ca: Some(path.clone()),
                ..Overrides::default()
            };
            let (config, problems) = build(&with_server(), &overrides);
            assert!(config.rtc.tls_roots.is_empty());
            match &problems[..] {
                [ConfigProblem::TurnCaUnreadable { path: p, .. }] if unreadable => {
                    assert_eq!(*p, path)
                }
                [ConfigProblem::TurnCaNotPem { path: p, .. }] if !unreadable => {
                    assert_eq!(*p, path)
                }
                other => panic!("{path:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn dtx_is_asked_of_voicecall_clients_unless_tuned() {
        let (config, _) = build(&with_server(), &Overrides::default());
        assert_eq!(config.rtc.ask_for_dtx, DtxRequest::FromVoicecall);
        let overrides = Overrides {
            tuning: Tuning {
                ask_usedtx: true,
                ..Tuning::default()
            },
            ..Overrides::default()
        };
        let (config, problems) = build(&with_server(), &overrides);
        assert_eq!(problems, []);
        assert_eq!(config.rtc.ask_for_dtx, DtxRequest::FromAnyone);
        assert!(!config.media.dtx_whatever_the_peer_asks);
    }

    #[test]
    fn tuning_sets_the_media_switches_and_rejects_values_out_of_range() {
        let overrides = Overrides {
            tuning: Tuning {
                receive_mode: ReceiveMode::Naive,
                no_red: true,
                red_distance: Some(2),
                no_dtx: true,
                fixed_fec: true,
                bitrate_bps: Some(24_000),
                rtc_shared_runtime: true,
                jitter_min_ms: Some(20),
                jitter_steps_as_spread: true,
                decoder_complexity: Some(7),
                high_rate_complexity: Some(7),
                dtx_regardless: true,
                ..Tuning::default()
            },
            ..Overrides::default()
        };
        let (config, problems) = build(&with_server(), &overrides);
        assert_eq!(problems, []);
        assert_eq!(config.media.receive_mode, ReceiveMode::Naive);
        assert_eq!(
            config.media.jitter.min_delay,
            std::time::Duration::from_millis(20)
        );
        assert!(!config.media.jitter.follow_delay_steps);
        assert_eq!(config.media.jitter.decoder_complexity, 7);
        assert_eq!(config.media.high_rate_complexity, 7);
        assert!(!config.rtc.red);
        assert!(!config.rtc.driver_thread);
        assert!(!config.media.encoder.dtx);
        assert!(config.media.dtx_whatever_the_peer_asks);
        assert_eq!(config.rtc.ask_for_dtx, DtxRequest::Never);
        assert_eq!(config.media.encoder.bitrate_bps, 24_000);
        // No RED without the codec negotiated; fixed Opus FEC at its default.
        let ProtectionMode::Fixed(fixed) = config.media.protection else {
            panic!("not fixed: {:?}", config.media.protection);
        };
        assert!(fixed.red.is_off());
        assert_eq!(fixed.fec_loss_pct, config.media.encoder.expected_loss_pct);
        assert_eq!(fixed.bitrate_bps, 24_000);

        let spread = Overrides {
            tuning: Tuning {
                red_plan: Some(vec![1, 3]),
                ..Tuning::default()
            },
            ..Overrides::default()
        };
        let (config, problems) = build(&with_server(), &spread);
        assert_eq!(problems, []);
        let ProtectionMode::Fixed(fixed) = config.media.protection else {
            panic!("not fixed");
        };
        assert_eq!(fixed.red.distances().collect::<Vec<_>>(), vec![1, 3]);

        let defaults = build(&with_server(), &Overrides::default()).0;
        assert!(defaults.rtc.driver_thread);
        let out_of_range = Overrides {
            tuning: Tuning {
                red_always: true,
                red_distance: Some(4),
                bitrate_bps: Some(5_999),
                decoder_complexity: Some(11),
                high_rate_complexity: Some(12),
                ..Tuning::default()
            },
            ..Overrides::default()
        };
        let (config, problems) = build(&with_server(), &out_of_range);
        assert_eq!(
            problems,
            [
                ConfigProblem::DecoderComplexity(11),
                ConfigProblem::HighRateComplexity(12),
                ConfigProblem::Bitrate(5_999),
                ConfigProblem::RedDistance(4)
            ]
        );
        // `--red-always` still holds: two adjacent copies.
        let ProtectionMode::Fixed(fixed) = config.media.protection else {
            panic!("not fixed");
        };
        assert_eq!(fixed.red.distances().collect::<Vec<_>>(), vec![1, 2]);
        let bad_plan = Overrides {
            tuning: Tuning {
                red_plan: Some(vec![1, 9]),
                ..Tuning::default()
            },
            ..Overrides::default()
        };
        let (config, problems) = build(&with_server(), &bad_plan);
        assert_eq!(problems, [ConfigProblem::RedPlan(vec![1, 9])]);
        assert_eq!(config.media.protection, defaults.media.protection);
        assert_eq!(
            config.media.encoder.bitrate_bps,
            defaults.media.encoder.bitrate_bps
        );
    }
}
