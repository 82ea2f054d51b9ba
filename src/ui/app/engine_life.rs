//! The engine's lifecycle as the app sees it: starting it (after probing for the bundled
//! server), restarting, commands, the events it sends back, and quitting.

use super::*;

impl App {
    /// The settings in force; with no server set up, the bundled one where there is one.
    pub(super) fn effective(&self) -> Effective {
        let mut effective = Effective::new(self.saved.get(), &self.overrides);
        effective.servers = servers_for_run(&effective.servers, self.env.bundled_server);
        effective
    }

    /// Starts (or restarts) the engine. With the local default server, whether to start
    /// the bundled one is found out first, in a task: the window never waits for it.
    pub(super) fn start_engine(&mut self) -> Task<Message> {
        let primary = self
            .effective()
            .primary_server()
            .unwrap_or_default()
            .to_owned();
        self.starts += 1;
        if self.env.side_effects && self.local_server.needs_probe(&primary) {
            self.connection = Connection::Starting(primary);
            self.own_id = None;
            self.engine.retire();
            let start = self.starts;
            return Task::perform(server::something_listens(), move |listening| {
                Message::LocalServerProbed(start, listening)
            });
        }
        self.launch_engine(false)
    }

    /// `listening`: what the probe found on the local default port, if there was one.
    pub(super) fn launch_engine(&mut self, listening: bool) -> Task<Message> {
        let effective = self.effective();
        let primary = effective.primary_server().unwrap_or_default().to_owned();
        self.server_status = if self.env.side_effects {
            self.local_server.ensure(&primary, listening)
        } else {
            server::Status::NotLocal
        };
        let (mut config, problems) = effective.engine_config(self.identity.claim(&primary));
        config.rtc.identity = self.dtls.clone();
        for problem in &problems {
            self.notices.push(notices::config_problem(problem));
        }
        self.tones.set_output(effective.output_spec());
        self.connection = Connection::Starting(primary);
        self.own_id = None;
        self.engine.retire();
        let link = self.env.launcher.launch(config);
        self.engine.replace(link, Message::Engine)
    }

    pub(super) fn restart_engine(&mut self) -> Task<Message> {
        self.meters = None;
        self.tones.play(None);
        self.start_engine()
    }

    pub(super) fn send(&mut self, command: UserCommand) {
        if !self.engine.send(command) {
            self.notices
                .push("The call engine is not running; use Retry in the status bar".into());
        }
    }

    pub(super) fn on_engine_stopped(&mut self) -> Task<Message> {
        self.engine.stopped();
        if self.quitting {
            return Task::none();
        }
        self.connection = Connection::Stopped;
        self.meters = None;
        self.tones.play(None);
        self.notices.push(notices::ENGINE_STOPPED.into());
        self.leave_call_screens()
    }

    pub(super) fn on_engine_event(&mut self, event: EngineEvent, now: Instant) -> Task<Message> {
        match event {
            EngineEvent::Registered { id, token, .. } => {
                self.registered(id, &token);
                Task::none()
            }
            EngineEvent::Signaling { state, detail } => {
                let refused = matches!(state, SignalingState::Refused(_));
                self.connection = Connection::Reported(state, detail);
                // Our remembered ID is held elsewhere (another copy of the app?).
                if refused && let Some(claimed) = self.identity.refused() {
                    self.notices.push(notices::id_refused(&claimed));
                    return self.restart_engine();
                }
                Task::none()
            }
            EngineEvent::Phase(phase) => self.route(phase, now),
            EngineEvent::Tone(tone) => {
                self.tones.play(tone);
                Task::none()
            }
            EngineEvent::MediaStarted { meters } => {
                self.meters = Some(meters);
                Task::none()
            }
            EngineEvent::MediaPath { up } => {
                if let Screen::InCall(state) = &mut self.screen {
                    state.media_path(up);
                }
                Task::none()
            }
            EngineEvent::FirstAudio { .. } => Task::none(),
            EngineEvent::PeerCertificate { peer, fingerprint } => {
                let trust = self.contacts.trust(&peer, &fingerprint);
                let name = self.contacts.name_of(&peer);
                self.security = Some(security::State::new(peer, name, fingerprint, trust));
                Task::none()
            }
            EngineEvent::Verification(verification) => {
                if let Some(state) = &mut self.security {
                    state.verification(verification);
                }
                Task::none()
            }
            EngineEvent::Stats { rtc, .. } => {
                if let Screen::InCall(state) = &mut self.screen {
                    state.stats(rtc, now);
                }
                Task::none()
            }
            EngineEvent::Ended {
                peer,
                reason,
                media,
            } => {
                self.meters = None;
                self.security = None;
                let name = self.contacts.name_of(&peer);
                let state = ended::State::new(peer, reason, media.as_ref(), now).named(name);
                self.screen = Screen::Ended(state);
                Task::none()
            }
            EngineEvent::RejectedBusy { peer } => {
                self.notices.push(notices::rejected_busy(&peer));
                Task::none()
            }
            EngineEvent::DeviceSwitched(switch) => {
                self.notices.push(notices::device_switched(&switch));
                Task::none()
            }
            EngineEvent::Warning(warning) => {
                self.notices.push(warning.to_string());
                Task::none()
            }
        }
    }

    /// The server gave us `id` (again after every reconnect).
    pub(super) fn registered(&mut self, id: PeerId, token: &str) {
        if self.own_id.as_ref() != Some(&id) {
            print_id(&id);
        }
        let primary = self
            .effective()
            .primary_server()
            .unwrap_or_default()
            .to_owned();
        if let Err(err) = self.identity.granted(&primary, &id, token) {
            self.notices
                .push(format!("Could not remember your ID for next time: {err}"));
        }
        self.own_id = Some(id);
        if !self.connection.is_connected() {
            self.connection = Connection::Reported(SignalingState::Connected, primary);
        }
    }

    pub(super) fn quit(&mut self) -> Task<Message> {
        if self.quitting {
            return Task::none();
        }
        self.quitting = true;
        tracing::debug!("quitting: hanging up and leaving the server");
        self.tones.play(None);
        self.engine.shut_down().map(|()| Message::Exit)
    }
}
