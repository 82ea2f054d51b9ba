//! The headless client: the same engine as the desktop app, driven from the terminal.

use std::path::PathBuf;
use std::str::FromStr;

use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;
use voicecall_core::call::{EndReason, Phase};
use voicecall_core::config::{IdentityStore, Settings, config_dir};
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_core::ice::IceServer;
use voicecall_core::id::PeerId;
use voicecall_engine::controller::{Engine, EngineConfig, EngineEvent, EngineHandle, UserCommand};
use voicecall_engine::signaling::SignalingConfig;

use super::Failure;
use super::args::{AudioTuning, CallArgs, Command, CommonArgs, ListenArgs, ReceiveModeArg};
use super::output::{Printer, ended_normally};
use voicecall_engine::media::{ReceiveMode, RedPolicy};

pub async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Listen(args) => listen(args).await,
        Command::Call(args) => call(args).await,
    }
}

/// Everything the engine needs, plus where to remember a claimed ID.
struct Prepared {
    config: EngineConfig,
    identity: Option<(IdentityStore, String)>,
}

fn prepare(common: &CommonArgs) -> Result<Prepared, Failure> {
    let dir = common.config_dir.clone().unwrap_or_else(config_dir);
    let settings = Settings::load(&dir).map_err(|e| Failure::usage(e.to_string()))?;
    let servers = if common.servers.is_empty() {
        settings.servers.clone()
    } else {
        common.servers.clone()
    };
    let Some(primary) = servers.first().cloned() else {
        return Err(Failure::usage("no signaling server: pass --server URL"));
    };
    let mut signaling = SignalingConfig::new(primary.clone());
    signaling.servers = servers;

    // Only a claimed ID is remembered: two headless clients on one machine must not both
    // try to be the same person.
    let mut identity = None;
    if let Some(raw) = &common.id {
        let id = PeerId::parse(raw).map_err(|e| Failure::usage(format!("--id: {e}")))?;
        let store = IdentityStore::load(&dir).map_err(|e| Failure::setup(e.to_string()))?;
        signaling.token = store
            .get(&primary)
            .filter(|(stored, _)| *stored == id)
            .map(|(_, token)| token);
        signaling.id = Some(id);
        identity = Some((store, primary));
    }

    let mut config = EngineConfig::new(signaling);
    config.rtc.ice_servers = ice_servers(common, &settings);
    config.rtc.relay_only = common.relay_only || settings.relay_only;
    config.rtc.no_trickle = common.no_trickle;
    if let Some(path) = &common.turn_ca {
        let pem = std::fs::read(path)
            .map_err(|e| Failure::usage(format!("--turn-ca {}: {e}", path.display())))?;
        native_tls::Certificate::from_pem(&pem).map_err(|e| {
            Failure::usage(format!(
                "--turn-ca {}: not a PEM certificate: {e}",
                path.display()
            ))
        })?;
        config.rtc.tls_roots.push(pem);
    }
    if !common.bind.is_empty() {
        config.rtc.bind = common.bind.clone();
    }
    let input = common.input.as_deref().unwrap_or(&settings.input_device);
    let output = common.output.as_deref().unwrap_or(&settings.output_device);
    config.media.input =
        InputSpec::from_str(input).map_err(|e| Failure::usage(format!("--input: {e}")))?;
    config.media.output =
        OutputSpec::from_str(output).map_err(|e| Failure::usage(format!("--output: {e}")))?;
    check_files(&config.media.input, &config.media.output)?;
    config.media.processing.noise_suppression =
        settings.noise_suppression && !common.no_noise_suppression;
    config.media.processing.echo_cancellation =
        settings.echo_cancellation && !common.no_echo_cancellation;
    apply_tuning(&common.audio, &mut config)?;
    Ok(Prepared { config, identity })
}

/// The hidden benchmark switches.
fn apply_tuning(tuning: &AudioTuning, config: &mut EngineConfig) -> Result<(), Failure> {
    let media = &mut config.media;
    media.receive_mode = match tuning.receive_mode {
        ReceiveModeArg::Adaptive => ReceiveMode::Adaptive,
        ReceiveModeArg::Naive => ReceiveMode::Naive,
    };
    if tuning.no_red {
        config.rtc.red = false;
        media.red = RedPolicy::Off;
    } else if tuning.red_always {
        media.red = RedPolicy::Always;
    }
    if let Some(distance) = tuning.red_distance {
        if !(1..=2).contains(&distance) {
            return Err(Failure::usage("--red-distance: 1 or 2"));
        }
        media.red_distance = distance;
    }
    if tuning.no_dtx {
        media.encoder.dtx = false;
    }
    if tuning.fixed_fec {
        media.loss_feedback = false;
    }
    if let Some(bps) = tuning.bitrate {
        if !(6_000..=510_000).contains(&bps) {
            return Err(Failure::usage("--bitrate: 6000..=510000"));
        }
        media.encoder.bitrate_bps = bps;
    }
    Ok(())
}

fn ice_servers(common: &CommonArgs, settings: &Settings) -> Vec<IceServer> {
    if common.ice_servers.is_empty() {
        return settings.ice_servers.clone();
    }
    common
        .ice_servers
        .iter()
        .map(|url| {
            let is_turn = url.starts_with("turn:") || url.starts_with("turns:");
            IceServer {
                urls: vec![url.clone()],
                username: is_turn
                    .then(|| common.ice_username.clone())
                    .flatten()
                    .unwrap_or_default(),
                credential: is_turn
                    .then(|| common.ice_credential.clone())
                    .flatten()
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// Fail before dialling, not after the peer answered, when a file cannot work.
fn check_files(input: &InputSpec, output: &OutputSpec) -> Result<(), Failure> {
    if let InputSpec::Wav { path, .. } = input
        && !path.is_file()
    {
        return Err(Failure::setup(format!(
            "input file {} does not exist",
            path.display()
        )));
    }
    if let OutputSpec::Wav(path) = output {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(PathBuf::from);
        if dir.is_some_and(|d| !d.is_dir()) {
            return Err(Failure::setup(format!(
                "cannot write {}: its folder does not exist",
                path.display()
            )));
        }
    }
    Ok(())
}

struct Running {
    handle: EngineHandle,
    events: mpsc::UnboundedReceiver<EngineEvent>,
    task: tokio::task::JoinHandle<()>,
    printer: Printer,
}

async fn start(common: &CommonArgs) -> Result<Running, Failure> {
    let Prepared {
        config,
        mut identity,
    } = prepare(common)?;
    let (handle, mut events, task) = Engine::start(config)
        .await
        .map_err(|e| Failure::setup(e.to_string()))?;
    let printer = Printer::new(common.json);
    // The engine's first event is always our registration.
    if let Some(event @ EngineEvent::Registered { .. }) = events.recv().await {
        if let EngineEvent::Registered { id, token, .. } = &event {
            printer.id_line(id.as_str());
            if let Some((store, server)) = identity.as_mut()
                && !token.is_empty()
                && let Err(err) = store.set(server, id, token)
            {
                printer.note("warning", &format!("cannot remember the ID: {err}"));
            }
        }
        printer.event(&event);
    }
    Ok(Running {
        handle,
        events,
        task,
        printer,
    })
}

async fn finish(running: Running) {
    running.handle.send(UserCommand::Shutdown);
    let _ = running.task.await;
}

async fn call(args: CallArgs) -> Result<(), Failure> {
    let peer = PeerId::parse(&args.peer).map_err(|e| Failure::usage(e.to_string()))?;
    let mut running = start(&args.common).await?;
    running.handle.send(UserCommand::Call(peer));
    let mut hangup_at: Option<tokio::time::Instant> = None;
    let mut interrupted = false;
    let outcome = loop {
        tokio::select! {
            event = running.events.recv() => {
                let Some(event) = event else { break None };
                running.printer.event(&event);
                match event {
                    EngineEvent::Phase(Phase::InCall { .. }) if hangup_at.is_none() => {
                        hangup_at = args.duration.map(|d| tokio::time::Instant::now() + d);
                    }
                    EngineEvent::Ended { reason, .. } => break Some(reason),
                    _ => {}
                }
            }
            _ = sleep_until_opt(hangup_at) => {
                hangup_at = None;
                running.handle.send(UserCommand::Hangup);
            }
            _ = tokio::signal::ctrl_c(), if !interrupted => {
                interrupted = true;
                running.handle.send(UserCommand::Hangup);
            }
        }
    };
    finish(running).await;
    judge(outcome, interrupted)
}

async fn listen(args: ListenArgs) -> Result<(), Failure> {
    let mut running = start(&args.common).await?;
    let ask = !args.auto_accept && !args.auto_decline;
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = ask;
    let outcome = loop {
        tokio::select! {
            event = running.events.recv() => {
                let Some(event) = event else { break None };
                running.printer.event(&event);
                match event {
                    EngineEvent::Phase(Phase::Incoming { peer, .. }) => {
                        if args.auto_accept {
                            running.handle.send(UserCommand::Accept);
                        } else if args.auto_decline {
                            running.handle.send(UserCommand::Decline);
                        } else {
                            running.printer.note("prompt", &format!("answer {peer}? type a(ccept) or d(ecline)"));
                        }
                    }
                    EngineEvent::Ended { reason, .. } if args.once => break Some(reason),
                    _ => {}
                }
            }
            line = stdin.next_line(), if stdin_open => match line {
                Ok(Some(line)) => {
                    let command = match line.trim().chars().next() {
                        Some('a' | 'y') => Some(UserCommand::Accept),
                        Some('d' | 'n') => Some(UserCommand::Decline),
                        Some('h') => Some(UserCommand::Hangup),
                        Some('m') => Some(UserCommand::SetMuted(true)),
                        Some('u') => Some(UserCommand::SetMuted(false)),
                        _ => None,
                    };
                    if let Some(command) = command {
                        running.handle.send(command);
                    }
                }
                _ => stdin_open = false,
            },
            _ = tokio::signal::ctrl_c() => break None,
        }
    };
    finish(running).await;
    match outcome {
        // Declining was this side's own decision, not a failure.
        Some(EndReason::DeclinedByUs) => Ok(()),
        other => judge(other, true),
    }
}

fn judge(outcome: Option<EndReason>, interrupted: bool) -> Result<(), Failure> {
    match outcome {
        Some(reason) if ended_normally(&reason) => Ok(()),
        Some(EndReason::Cancelled) if interrupted => Ok(()),
        Some(reason) => Err(Failure::call(format!("call ended: {reason}"))),
        None if interrupted => Ok(()),
        None => Err(Failure::setup("the engine stopped unexpectedly")),
    }
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
