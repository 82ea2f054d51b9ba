//! Feeds inputs to the call machine and carries out its commands.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::time::MissedTickBehavior;

use super::command::UserCommand;
use super::config::EngineConfig;
use super::event::{EngineEvent, Meters, SignalingState, Warning};
use super::peer_setup::{self, Abandon, Done, Ready, Setup};
use crate::media::{DeviceSwitch, MediaError, MediaSession};
use crate::rtc::{LocalDescription, RtcEvent, RtcPeer};
use crate::signaling::{SignalingClient, SignalingEvent};
use voicecall_core::call::{CallMachine, Command, Event, Failure, Input, Role};
use voicecall_core::id::CallId;
use voicecall_core::quality::MediaSummary;
use voicecall_core::signaling::message::SessionDescription;

/// How long shutting down waits for the last messages (a hang-up) to go out: long enough
/// for a restarting server to come back and take them.
const FLUSH_ON_SHUTDOWN: Duration = Duration::from_secs(5);

pub(super) struct Executor {
    config: EngineConfig,
    machine: CallMachine,
    signaling: Option<SignalingClient>,
    events: mpsc::UnboundedSender<EngineEvent>,
    peer: Option<RtcPeer>,
    /// Events of the current peer connection; replaced with each new peer so a closed
    /// connection's late events can never reach the next call.
    rtc_events: Option<mpsc::UnboundedReceiver<RtcEvent>>,
    /// Counts peers asked for (and closed): what a task reports for an older one is stale.
    peer_generation: u64,
    /// The peer connection being built, while it is.
    building: Option<Abandon>,
    /// Commands for the peer that came while it was being built, in order.
    held: Vec<Command>,
    /// Descriptions of the current peer waiting for candidate gathering.
    describing: Vec<tokio::task::AbortHandle>,
    /// Where the tasks report back.
    done_tx: mpsc::UnboundedSender<Done>,
    done_rx: Option<mpsc::UnboundedReceiver<Done>>,
    /// Commands to carry out before the next input (the held ones, once the peer is up).
    replay: VecDeque<Command>,
    media: Option<MediaSession>,
    /// Fires when the running call's first remote audio frame is decoded.
    first_audio: Option<oneshot::Receiver<Instant>>,
    /// The running call's reports of lost and replaced audio devices.
    device_switches: Option<mpsc::UnboundedReceiver<DeviceSwitch>>,
    /// When the user placed or accepted the current call, for `FirstAudio`'s setup time.
    setup_started: Option<Instant>,
    /// The last call's audio numbers, reported with its `Ended` event.
    last_summary: Option<MediaSummary>,
    /// Inputs produced while carrying out commands, fed back after the current batch.
    feedback: VecDeque<Input>,
}

impl Executor {
    pub(super) fn new(
        config: EngineConfig,
        signaling: SignalingClient,
        events: mpsc::UnboundedSender<EngineEvent>,
    ) -> Self {
        let mut machine = CallMachine::new(config.timings);
        let registration = signaling.registration();
        machine.handle(
            Input::Registered {
                id: registration.id.clone(),
            },
            Instant::now(),
        );
        let _ = events.send(EngineEvent::Registered {
            id: registration.id,
            token: registration.token,
            reclaimed: registration.reclaimed,
        });
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Self {
            config,
            machine,
            signaling: Some(signaling),
            events,
            peer: None,
            rtc_events: None,
            peer_generation: 0,
            building: None,
            held: Vec::new(),
            describing: Vec::new(),
            done_tx,
            done_rx: Some(done_rx),
            replay: VecDeque::new(),
            media: None,
            first_audio: None,
            device_switches: None,
            setup_started: None,
            last_summary: None,
            feedback: VecDeque::new(),
        }
    }

    pub(super) async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<UserCommand>,
        mut signaling_events: mpsc::UnboundedReceiver<SignalingEvent>,
    ) {
        let mut stats_tick = tokio::time::interval(self.config.stats_interval);
        stats_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut done = self.done_rx.take();
        loop {
            let timeout = self.machine.poll_timeout();
            // Biased: what the server and the peer connection said is taken in before the
            // next user action, so a command never acts on stale state.
            let input = tokio::select! {
                biased;
                event = signaling_events.recv() => match event {
                    Some(event) => self.on_signaling(event),
                    None => break,
                },
                Some(event) = recv_opt(&mut self.rtc_events) => self.on_rtc(event),
                Some(finished) = recv_opt(&mut done) => self.on_done(finished),
                command = commands.recv() => match command {
                    None | Some(UserCommand::Shutdown) => break,
                    Some(command) => {
                        if matches!(command, UserCommand::Call(_) | UserCommand::Accept) {
                            self.setup_started = Some(Instant::now());
                        }
                        Some(user_input(command))
                    }
                },
                decoded = recv_first_audio(&mut self.first_audio) => {
                    self.first_audio = None;
                    if let Some(at) = decoded {
                        let setup = self.setup_started.map(|t| at.saturating_duration_since(t));
                        self.emit(EngineEvent::FirstAudio { at, setup });
                    }
                    None
                }
                Some(switch) = recv_opt(&mut self.device_switches) => {
                    self.emit(EngineEvent::DeviceSwitched(switch));
                    None
                }
                _ = sleep_until_opt(timeout) => Some(Input::Tick),
                _ = stats_tick.tick(), if self.media.is_some() => {
                    self.report_stats().await;
                    None
                }
            };
            if let Some(input) = input {
                self.feedback.push_back(input);
            }
            self.settle().await;
        }
        self.shutdown().await;
    }

    /// Feeds queued inputs and carries out commands until nothing is left to do. Nothing
    /// in here waits on the network: what would is a task reporting back as a `Done`.
    async fn settle(&mut self) {
        loop {
            if let Some(command) = self.replay.pop_front() {
                self.execute(command).await;
                continue;
            }
            let Some(input) = self.feedback.pop_front() else {
                break;
            };
            self.machine.handle(input, Instant::now());
            while let Some(command) = self.machine.poll_command() {
                self.execute(command).await;
            }
        }
    }

    async fn shutdown(&mut self) {
        if self.machine.phase().is_live() {
            self.feedback.push_back(Input::Hangup);
            self.settle().await;
        }
        if let Some(signaling) = self.signaling.take() {
            // The hang-up must reach the server before we leave it; during an outage it
            // waits in the outbox, for as long as the person is willing to wait.
            if tokio::time::timeout(FLUSH_ON_SHUTDOWN, signaling.flushed())
                .await
                .is_err()
            {
                tracing::warn!("leaving the signaling server with messages still queued");
            }
            signaling.close().await;
        }
    }

    fn emit(&self, event: EngineEvent) {
        let _ = self.events.send(event);
    }

    fn on_signaling(&mut self, event: SignalingEvent) -> Option<Input> {
        match event {
            SignalingEvent::Registered(reg) => {
                self.emit(EngineEvent::Signaling {
                    state: SignalingState::Connected,
                    detail: self.server_name(),
                });
                self.emit(EngineEvent::Registered {
                    id: reg.id.clone(),
                    token: reg.token.clone(),
                    reclaimed: reg.reclaimed,
                });
                Some(Input::Registered { id: reg.id })
            }
            SignalingEvent::Message(msg) => Some(Input::Signal(msg)),
            SignalingEvent::ServerError(err) => {
                self.emit(EngineEvent::Warning(Warning::Server(err.clone())));
                Some(Input::ServerError(err))
            }
            SignalingEvent::Malformed { event, error } => {
                self.emit(EngineEvent::Warning(Warning::Malformed { event, error }));
                None
            }
            SignalingEvent::Disconnected { reason } => {
                self.emit(EngineEvent::Signaling {
                    state: SignalingState::Reconnecting,
                    detail: reason,
                });
                Some(Input::SignalingLost)
            }
            SignalingEvent::Reconnecting { attempt, server } => {
                self.emit(EngineEvent::Signaling {
                    state: SignalingState::Reconnecting,
                    detail: format!("attempt {attempt} to {server}"),
                });
                Some(Input::SignalingLost)
            }
            SignalingEvent::Closed(reason) => {
                self.emit(EngineEvent::Signaling {
                    state: SignalingState::Offline,
                    detail: reason.to_string(),
                });
                Some(Input::SignalingLost)
            }
            // Logged by the signaling driver.
            SignalingEvent::Dropped(_) => None,
            // Only before the first registration, which the executor starts after.
            SignalingEvent::Unavailable(_) => None,
        }
    }

    fn server_name(&self) -> String {
        self.signaling
            .as_ref()
            .map(SignalingClient::server)
            .unwrap_or_default()
    }

    fn on_rtc(&mut self, event: RtcEvent) -> Option<Input> {
        match event {
            RtcEvent::LocalCandidate(candidate) => Some(Input::LocalCandidate(candidate)),
            RtcEvent::State(state) => Some(Input::Rtc(state)),
            RtcEvent::PeerGoodbye(goodbye) => Some(Input::PeerGoodbye(goodbye)),
            RtcEvent::GatheringComplete | RtcEvent::RemoteTrack => None,
        }
    }

    /// A task of the current peer finished; a stale one's peer is closed unused.
    fn on_done(&mut self, done: Done) -> Option<Input> {
        match done {
            Done::Peer { generation, result } if generation == self.peer_generation => {
                self.building = None;
                match result {
                    Ok(Ready {
                        peer,
                        events,
                        local,
                    }) => {
                        self.peer = Some(peer);
                        self.rtc_events = Some(events);
                        self.replay.extend(std::mem::take(&mut self.held));
                        local.map(Input::LocalDescription)
                    }
                    Err(err) => {
                        self.held.clear();
                        Some(Input::Failure(Failure::Connection(err.to_string())))
                    }
                }
            }
            Done::Peer {
                result: Ok(stale), ..
            } => {
                tokio::spawn(async move { stale.peer.close().await });
                None
            }
            Done::Described {
                generation,
                description,
            } if generation == self.peer_generation => Some(Input::LocalDescription(description)),
            Done::Peer { .. } | Done::Described { .. } => None,
        }
    }

    /// A description to send: now, or from a task once candidate gathering has finished.
    fn describe(&mut self, local: LocalDescription) {
        match local {
            LocalDescription::Ready(description) => self
                .feedback
                .push_back(Input::LocalDescription(description)),
            LocalDescription::AfterGathering(pending) => {
                let generation = self.peer_generation;
                let done = self.done_tx.clone();
                let task = tokio::spawn(async move {
                    let description = pending.complete().await;
                    let _ = done.send(Done::Described {
                        generation,
                        description,
                    });
                });
                self.describing.push(task.abort_handle());
            }
        }
    }

    /// While the peer is being built, commands for it wait; true if this one did.
    fn hold_for_peer(&mut self, command: &Command) -> bool {
        if self.building.is_none() {
            return false;
        }
        self.held.push(command.clone());
        true
    }

    async fn execute(&mut self, command: Command) {
        match command {
            Command::Send(msg) => {
                tracing::debug!(event = msg.body.event(), to = %msg.to, "signaling out");
                if let Some(signaling) = &self.signaling {
                    signaling.send(msg);
                }
            }
            Command::CreatePeer { role, remote_offer } => self.create_peer(role, remote_offer),
            Command::ApplyRemote(_) | Command::AddRemoteCandidate(_) | Command::RestartIce
                if self.hold_for_peer(&command) => {}
            Command::ApplyRemote(desc) => {
                let Some(peer) = self.peer.as_mut() else {
                    return;
                };
                match peer.apply_remote(&desc).await {
                    Ok(Some(answer)) => self.describe(answer),
                    Ok(None) => {}
                    Err(err) => self
                        .feedback
                        .push_back(Input::Failure(Failure::Connection(err.to_string()))),
                }
            }
            Command::AddRemoteCandidate(candidate) => {
                tracing::debug!(candidate = %candidate.candidate, "remote candidate");
                if let Some(peer) = self.peer.as_mut() {
                    peer.add_remote_candidate(&candidate).await;
                }
            }
            Command::RestartIce => {
                let Some(peer) = self.peer.as_ref() else {
                    return;
                };
                match peer.create_restart_offer().await {
                    Ok(offer) => self.describe(offer),
                    Err(err) => {
                        self.emit(EngineEvent::Warning(Warning::IceRestart(err.to_string())))
                    }
                }
            }
            Command::SayGoodbye(goodbye) => {
                if let Some(peer) = &self.peer {
                    peer.say_goodbye(goodbye).await;
                }
            }
            Command::ClosePeer => self.close_peer().await,
            Command::StartMedia => self.start_media().await,
            Command::StopMedia => {
                self.first_audio = None;
                self.device_switches = None;
                if let Some(media) = self.media.take() {
                    let summary = media.stop().await;
                    self.last_summary = Some(summary);
                }
            }
            Command::SetMuted(muted) => {
                if let Some(media) = &self.media {
                    media.set_muted(muted);
                }
            }
            Command::PlayTone(tone) => self.emit(EngineEvent::Tone(tone)),
            Command::Notify(Event::PhaseChanged(phase)) => self.emit(EngineEvent::Phase(phase)),
            Command::Notify(Event::RejectedBusy { peer }) => {
                self.emit(EngineEvent::RejectedBusy { peer })
            }
            Command::Notify(Event::MediaPath { up }) => self.emit(EngineEvent::MediaPath { up }),
            Command::Notify(Event::PeerCertificate { peer, fingerprint }) => {
                self.emit(EngineEvent::PeerCertificate { peer, fingerprint })
            }
            Command::Notify(Event::Verification(verification)) => {
                self.emit(EngineEvent::Verification(verification))
            }
            Command::Notify(Event::Ignored { what }) => tracing::debug!(%what, "ignored"),
            Command::Ended { peer, reason } => {
                let media = self.last_summary.take();
                self.emit(EngineEvent::Ended {
                    peer,
                    reason,
                    media,
                });
            }
        }
    }

    /// Starts building the peer connection in a task (see [`peer_setup`]).
    fn create_peer(&mut self, role: Role, remote_offer: Option<SessionDescription>) {
        self.peer_generation += 1;
        // The configured STUN/TURN servers, and the ones the signaling server issued
        // (whose TURN credentials may need refreshing first).
        let issued = self
            .signaling
            .as_ref()
            .map(SignalingClient::fresh_ice_servers);
        let setup = Setup {
            role,
            remote_offer,
            rtc: self.config.rtc.clone(),
            issued: async move {
                match issued {
                    Some(issued) => issued.await,
                    None => Vec::new(),
                }
            },
        };
        self.building = Some(peer_setup::spawn(
            self.peer_generation,
            setup,
            self.done_tx.clone(),
        ));
    }

    /// Ends everything about the current peer: a setup in flight is abandoned, waits for
    /// gathering are dropped, the connection is closed.
    async fn close_peer(&mut self) {
        self.peer_generation += 1;
        self.building = None;
        self.held.clear();
        for task in self.describing.drain(..) {
            task.abort();
        }
        self.rtc_events = None;
        if let Some(peer) = self.peer.take() {
            peer.close().await;
        }
    }

    async fn start_media(&mut self) {
        let Some(peer) = self.peer.as_mut() else {
            return;
        };
        let Some(remote) = peer.take_remote_audio() else {
            return self.feedback.push_back(Input::Failure(Failure::Connection(
                "the received-audio queue is gone".into(),
            )));
        };
        let writer = match peer.audio_writer().await {
            Ok(writer) => writer,
            Err(err) => {
                return self
                    .feedback
                    .push_back(Input::Failure(Failure::Connection(err.to_string())));
            }
        };
        // Taken with the audio queue; a peer without it (never) gives an empty channel.
        let reports = peer
            .take_peer_reports()
            .unwrap_or_else(|| tokio::sync::mpsc::channel(1).1);
        match MediaSession::start(&self.config.media, remote, writer, reports) {
            Ok(mut media) => {
                self.first_audio = media.take_first_audio();
                self.device_switches = media.take_device_switches();
                let meters = Meters(Arc::clone(media.levels()));
                self.media = Some(media);
                self.emit(EngineEvent::MediaStarted { meters });
                // The selected path is known now; report it without waiting a full interval.
                self.report_stats().await;
            }
            Err(MediaError::Audio(err)) => self
                .feedback
                .push_back(Input::Failure(Failure::AudioDevice(err.to_string()))),
            Err(MediaError::Codec(err)) => self
                .feedback
                .push_back(Input::Failure(Failure::Media(err.to_string()))),
        }
    }

    async fn report_stats(&self) {
        let (Some(peer), Some(media)) = (&self.peer, &self.media) else {
            return;
        };
        let rtc = peer.stats().await;
        let media = media.counters().snapshot();
        self.emit(EngineEvent::Stats { rtc, media });
    }
}

fn user_input(command: UserCommand) -> Input {
    match command {
        UserCommand::Call(peer) => Input::PlaceCall {
            peer,
            call_id: CallId::generate(&mut rand::rng()),
        },
        UserCommand::Accept => Input::Accept,
        UserCommand::Decline => Input::Decline,
        UserCommand::Hangup => Input::Hangup,
        UserCommand::SetMuted(muted) => Input::SetMuted(muted),
        UserCommand::Shutdown => Input::Hangup,
    }
}

async fn recv_opt<T>(rx: &mut Option<mpsc::UnboundedReceiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The first decoded frame's time; `None` if the media stopped before one.
async fn recv_first_audio(rx: &mut Option<oneshot::Receiver<Instant>>) -> Option<Instant> {
    match rx {
        Some(rx) => rx.await.ok(),
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
