//! The headless client: the same engine as the desktop app, driven from the terminal.

use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;
use voicecall_core::call::{EndReason, Failure as CallFailure, Phase};
use voicecall_core::config::{IdentityStore, Settings, config_dir, servers_for_run};
use voicecall_core::contacts::{ContactStore, ContactsError};
use voicecall_core::id::PeerId;
use voicecall_engine::controller::{
    ConfigProblem, Effective, Engine, EngineConfig, EngineEvent, EngineHandle, UserCommand,
};
use voicecall_engine::rtc::DtlsIdentity;

use super::Failure;
use super::args::{CallArgs, Command, CommonArgs, ListenArgs};
use super::output::{Printer, ended_normally};
use super::signals::Signals;

pub async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Listen(args) => listen(args).await,
        Command::Call(args) => call(args).await,
        Command::ManPages { .. } => Err(Failure::usage("man-pages is not a headless run")),
    }
}

/// Everything the engine needs, plus where to remember a claimed ID and whom we know.
struct Prepared {
    config: EngineConfig,
    identity: Option<Remembered>,
    contacts: ContactStore,
    /// Said once the ID line is out.
    contacts_problem: Option<ContactsError>,
}

/// Where the ID this run claimed is remembered.
struct Remembered {
    store: IdentityStore,
    server: String,
}

fn prepare(common: &CommonArgs) -> Result<Prepared, Failure> {
    let dir = common.config_dir.clone().unwrap_or_else(config_dir);
    let settings = Settings::load(&dir).map_err(|e| Failure::usage(e.to_string()))?;
    let wanted = match &common.id {
        Some(raw) => Some(PeerId::parse(raw).map_err(|e| Failure::usage(format!("--id: {e}")))?),
        None => None,
    };
    let mut effective = Effective::new(&settings, &common.overrides());
    // The documented default of the headless client: the local server.
    effective.servers = servers_for_run(&effective.servers, true);
    // Only a claimed ID is remembered: two headless clients on one machine must not both
    // try to be the same person.
    let identity = match &wanted {
        Some(_) => Some(Remembered {
            store: IdentityStore::load(&dir).map_err(|e| Failure::setup(e.to_string()))?,
            server: effective.primary_server().unwrap_or_default().to_owned(),
        }),
        None => None,
    };
    let claim = identity
        .as_ref()
        .and_then(|r| r.store.claim(&r.server, wanted.as_ref()));
    let (mut config, problems) = effective.engine_config(claim);
    if let Some(problem) = problems.into_iter().next() {
        return Err(refusal(problem));
    }
    // This installation's certificate, the same every call (the engine logs where it came
    // from); without one each call gets a fresh certificate.
    match DtlsIdentity::load_or_create(&dir) {
        Ok((identity, _)) => config.rtc.identity = Some(identity),
        Err(err) => tracing::warn!(error = %err, "no lasting DTLS identity this run"),
    }
    let (contacts, contacts_problem) = ContactStore::load_or_empty(&dir);
    Ok(Prepared {
        config,
        identity,
        contacts,
        contacts_problem,
    })
}

/// A headless client does not start with a setting that cannot work.
fn refusal(problem: ConfigProblem) -> Failure {
    match problem {
        ConfigProblem::NoServer => Failure::usage("no signaling server: pass --server URL"),
        ConfigProblem::Input(err) => Failure::usage(format!("--input: {err}")),
        ConfigProblem::Output(err) => Failure::usage(format!("--output: {err}")),
        ConfigProblem::InputFileMissing(path) => {
            Failure::setup(format!("input file {} does not exist", path.display()))
        }
        ConfigProblem::OutputFolderMissing(path) => Failure::setup(format!(
            "cannot write {}: its folder does not exist",
            path.display()
        )),
        ConfigProblem::TurnCaUnreadable { path, reason } => {
            Failure::usage(format!("--turn-ca {}: {reason}", path.display()))
        }
        ConfigProblem::TurnCaNotPem { path, reason } => Failure::usage(format!(
            "--turn-ca {}: not a PEM certificate: {reason}",
            path.display()
        )),
        ConfigProblem::RedDistance(_) => Failure::usage("--red-distance: 1 to 3"),
        ConfigProblem::RedPlan(_) => Failure::usage("--red-plan: distances 1 to 4, e.g. 1,3"),
        ConfigProblem::Bitrate(_) => Failure::usage("--bitrate: 6000..=510000"),
        ConfigProblem::DecoderComplexity(_) => Failure::usage("--decoder-complexity: 0 to 10"),
        ConfigProblem::HighRateComplexity(_) => Failure::usage("--high-rate-complexity: 0 to 10"),
    }
}

struct Running {
    handle: EngineHandle,
    events: mpsc::UnboundedReceiver<EngineEvent>,
    task: tokio::task::JoinHandle<()>,
    printer: Printer,
    identity: Option<Remembered>,
    contacts: ContactStore,
}

impl Running {
    /// Prints an event of the engine, remembering a granted ID and checking a peer's
    /// certificate against our contacts.
    fn observe(&mut self, event: &EngineEvent) {
        if let (EngineEvent::Registered { id, token, .. }, Some(identity)) =
            (event, self.identity.as_mut())
            && let Err(err) = identity.store.remember(&identity.server, id, token)
        {
            self.printer
                .note("warning", &format!("cannot remember the ID: {err}"));
        }
        self.printer.event(event);
        if let EngineEvent::PeerCertificate { peer, fingerprint } = event {
            let trust = self.contacts.trust(peer, fingerprint);
            self.printer
                .trust(peer, self.contacts.name_of(peer), &trust);
        }
    }
}

async fn start(common: &CommonArgs) -> Result<Running, Failure> {
    let Prepared {
        config,
        identity,
        contacts,
        contacts_problem,
    } = prepare(common)?;
    let (handle, mut events, task) = Engine::start(config)
        .await
        .map_err(|e| Failure::setup(e.to_string()))?;
    let printer = Printer::new(common.json);
    // The engine's first event is always our registration: the ID line comes first.
    let first = events.recv().await;
    if let Some(EngineEvent::Registered { id, .. }) = &first {
        printer.id_line(id.as_str());
    }
    if let Some(problem) = contacts_problem {
        printer.note("warning", &problem.to_string());
    }
    let mut running = Running {
        handle,
        events,
        task,
        printer,
        identity,
        contacts,
    };
    if let Some(event @ EngineEvent::Registered { .. }) = &first {
        running.observe(event);
    }
    Ok(running)
}

/// Hangs up whatever is live and leaves the server; what the engine still reports on the
/// way out (the end of a call hung up just now) is printed.
async fn finish(mut running: Running) {
    running.handle.send(UserCommand::Shutdown);
    while let Some(event) = running.events.recv().await {
        running.observe(&event);
    }
    let _ = running.task.await;
}

async fn call(args: CallArgs) -> Result<(), Failure> {
    let peer = PeerId::parse(&args.peer).map_err(|e| Failure::usage(e.to_string()))?;
    let mut signals = Signals::listen();
    let mut running = start(&args.common).await?;
    running.handle.send(UserCommand::Call(peer));
    let mut hangup_at: Option<tokio::time::Instant> = None;
    let mut interrupted = false;
    let outcome = loop {
        tokio::select! {
            event = running.events.recv() => {
                let Some(event) = event else { break None };
                running.observe(&event);
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
            stop = signals.next() => {
                if interrupted {
                    // Asked twice: stop waiting; shutting down still hangs up.
                    break None;
                }
                interrupted = true;
                running.printer.note("stopping", &format!("{stop}: hanging up"));
                running.handle.send(UserCommand::Hangup);
            }
        }
    };
    finish(running).await;
    judge(outcome, interrupted)
}

async fn listen(args: ListenArgs) -> Result<(), Failure> {
    let mut signals = Signals::listen();
    let mut running = start(&args.common).await?;
    let ask = !args.auto_accept && !args.auto_decline;
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = ask;
    let outcome = loop {
        tokio::select! {
            event = running.events.recv() => {
                let Some(event) = event else { break None };
                running.observe(&event);
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
            stop = signals.next() => {
                running.printer.note("stopping", &format!("{stop}: hanging up and leaving"));
                break None;
            }
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
        // Nothing to call with, or through: the run could not get going (exit code 1).
        Some(
            reason @ EndReason::Failed(CallFailure::AudioDevice(_) | CallFailure::NotConnected),
        ) => Err(Failure::setup(format!("call ended: {reason}"))),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn exit_code(outcome: Option<EndReason>, interrupted: bool) -> u8 {
        judge(outcome, interrupted)
            .err()
            .map_or(0, |failure| failure.code)
    }

    #[test]
    fn exit_codes_tell_a_call_that_could_not_start_from_one_that_failed() {
        let audio = CallFailure::AudioDevice("no default input device".into());
        assert_eq!(exit_code(Some(EndReason::Failed(audio)), false), 1);
        let offline = CallFailure::NotConnected;
        assert_eq!(exit_code(Some(EndReason::Failed(offline)), false), 1);
        let webrtc = CallFailure::Connection("bad offer".into());
        assert_eq!(exit_code(Some(EndReason::Failed(webrtc)), false), 3);
        assert_eq!(exit_code(Some(EndReason::Declined), false), 3);
        assert_eq!(exit_code(Some(EndReason::HungUp), false), 0);
        assert_eq!(exit_code(Some(EndReason::Cancelled), true), 0);
        assert_eq!(exit_code(None, true), 0);
    }
}
