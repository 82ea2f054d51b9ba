//! Feeds inputs to the call machine and carries out its commands.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use tokio::time::MissedTickBehavior;

use super::command::UserCommand;
use super::config::EngineConfig;
use super::event::{EngineEvent, Meters, SignalingState};
use crate::media::MediaSession;
use crate::rtc::{RtcEvent, RtcPeer};
use crate::signaling::{SignalingClient, SignalingEvent};
use voicecall_core::call::{CallMachine, Command, Event, Input, Role};
use voicecall_core::id::CallId;
use voicecall_core::quality::MediaSummary;
use voicecall_core::signaling::message::SessionDescription;

pub(super) struct Executor {
    config: EngineConfig,
    machine: CallMachine,
    signaling: Option<SignalingClient>,
    events: mpsc::UnboundedSender<EngineEvent>,
    peer: Option<RtcPeer>,
    /// Events of the current peer connection; replaced with each new peer so a closed
    /// connection's late events can never reach the next call.
    rtc_events: Option<mpsc::UnboundedReceiver<RtcEvent>>,
    media: Option<MediaSession>,
    /// Fires when the running call's first remote audio frame is decoded.
    first_audio: Option<oneshot::Receiver<Instant>>,
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
        Self {
            config,
            machine,
            signaling: Some(signaling),
            events,
            peer: None,
            rtc_events: None,
            media: None,
            first_audio: None,
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

    /// Feeds queued inputs and carries out commands until nothing is left to do.
    async fn settle(&mut self) {
        while let Some(input) = self.feedback.pop_front() {
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
            // Let the hang-up reach the server before leaving it.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
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
                self.emit(EngineEvent::Warning(format!("server: {}", err.message)));
                Some(Input::ServerError(err))
            }
            SignalingEvent::Malformed { event, error } => {
                self.emit(EngineEvent::Warning(format!(
                    "ignored a malformed `{event}` message: {error}"
                )));
                None
            }
            SignalingEvent::Disconnected { reason } => {
                self.emit(EngineEvent::Signaling {
                    state: SignalingState::Reconnecting,
                    detail: reason,
                });
                None
            }
            SignalingEvent::Reconnecting { attempt, server } => {
                self.emit(EngineEvent::Signaling {
                    state: SignalingState::Reconnecting,
                    detail: format!("attempt {attempt} to {server}"),
                });
                None
            }
            SignalingEvent::Closed(reason) => {
                self.emit(EngineEvent::Signaling {
                    state: SignalingState::Offline,
                    detail: reason.to_string(),
                });
                None
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
            RtcEvent::GatheringComplete | RtcEvent::RemoteTrack => None,
        }
    }

    async fn execute(&mut self, command: Command) {
        match command {
            Command::Send(msg) => {
                tracing::debug!(event = msg.body.event(), to = %msg.to, "signaling out");
                if let Some(signaling) = &self.signaling {
                    signaling.send(msg);
                }
            }
            Command::CreatePeer { role, remote_offer } => {
                self.create_peer(role, remote_offer).await
            }
            Command::ApplyRemote(desc) => {
                let Some(peer) = self.peer.as_mut() else {
                    return;
                };
                match peer.apply_remote(&desc).await {
                    Ok(Some(answer)) => self.feedback.push_back(Input::LocalDescription(answer)),
                    Ok(None) => {}
                    Err(err) => self.feedback.push_back(Input::Failure(err.to_string())),
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
                    Ok(offer) => self.feedback.push_back(Input::LocalDescription(offer)),
                    Err(err) => self.emit(EngineEvent::Warning(format!("ICE restart: {err}"))),
                }
            }
            Command::ClosePeer => {
                self.rtc_events = None;
                if let Some(peer) = self.peer.take() {
                    peer.close().await;
                }
            }
            Command::StartMedia => self.start_media().await,
            Command::StopMedia => {
                self.first_audio = None;
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

    async fn create_peer(&mut self, role: Role, remote_offer: Option<SessionDescription>) {
        let (tx, rx) = mpsc::unbounded_channel();
        // The configured STUN/TURN servers, and the ones the signaling server issued (whose
        // TURN credentials may need refreshing first).
        let mut rtc = self.config.rtc.clone();
        if let Some(signaling) = &self.signaling {
            rtc.ice_servers.extend(signaling.fresh_ice_servers().await);
        }
        let mut peer = match RtcPeer::new(&rtc, tx).await {
            Ok(peer) => peer,
            Err(err) => return self.feedback.push_back(Input::Failure(err.to_string())),
        };
        let local = match (role, remote_offer) {
            (Role::Caller, _) => peer.create_offer().await.map(Some),
            (Role::Callee, Some(offer)) => peer.apply_remote(&offer).await,
            (Role::Callee, None) => Ok(None),
        };
        self.peer = Some(peer);
        self.rtc_events = Some(rx);
        match local {
            Ok(Some(desc)) => self.feedback.push_back(Input::LocalDescription(desc)),
            Ok(None) => {}
            Err(err) => self.feedback.push_back(Input::Failure(err.to_string())),
        }
    }

    async fn start_media(&mut self) {
        let Some(peer) = self.peer.as_mut() else {
            return;
        };
        let Some(remote) = peer.take_remote_audio() else {
            return self
                .feedback
                .push_back(Input::Failure("the received-audio queue is gone".into()));
        };
        let writer = match peer.audio_writer().await {
            Ok(writer) => writer,
            Err(err) => return self.feedback.push_back(Input::Failure(err.to_string())),
        };
        // Taken with the audio queue; a peer without it (never) gives an empty channel.
        let reports = peer
            .take_peer_reports()
            .unwrap_or_else(|| tokio::sync::mpsc::channel(1).1);
        match MediaSession::start(&self.config.media, remote, writer, reports) {
            Ok(mut media) => {
                self.first_audio = media.take_first_audio();
                let meters = Meters(Arc::clone(media.levels()));
                self.media = Some(media);
                self.emit(EngineEvent::MediaStarted { meters });
                // The selected path is known now; report it without waiting a full interval.
                self.report_stats().await;
            }
            Err(err) => self.feedback.push_back(Input::Failure(err.to_string())),
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
