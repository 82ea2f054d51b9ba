//! Which screen shows: the call phase routes between the call screens; Home, Settings,
//! Contacts and the security check open and close here.

use super::*;

impl App {
    /// Shows the screen for the engine's phase.
    pub(super) fn route(&mut self, phase: Phase, now: Instant) -> Task<Message> {
        match phase {
            Phase::Idle => self.leave_call_screens(),
            Phase::Outgoing { peer, ringing, .. } => {
                let name = self.contacts.name_of(&peer);
                self.screen = Screen::Outgoing(outgoing::State::new(peer, ringing).named(name));
                Task::none()
            }
            Phase::Incoming { peer, .. } => {
                if matches!(&self.screen, Screen::Incoming(state) if state.peer == peer) {
                    return Task::none();
                }
                if !self.focused {
                    self.env.notifier.ring(&peer);
                    self.notified = true;
                }
                let name = self.contacts.name_of(&peer);
                self.screen = Screen::Incoming(incoming::State::new(peer).named(name));
                window::oldest().and_then(|id| {
                    window::request_user_attention(id, Some(window::UserAttention::Critical))
                })
            }
            Phase::Connecting { peer, .. } => {
                if !matches!(&self.screen, Screen::InCall(state) if state.peer == peer) {
                    let name = self.contacts.name_of(&peer);
                    self.screen = Screen::InCall(in_call::State::connecting(peer).named(name));
                }
                Task::none()
            }
            Phase::InCall {
                peer, since, muted, ..
            } => {
                if !matches!(&self.screen, Screen::InCall(state) if state.peer == peer) {
                    let name = self.contacts.name_of(&peer);
                    self.screen =
                        Screen::InCall(in_call::State::connecting(peer.clone()).named(name));
                }
                let Screen::InCall(state) = &mut self.screen else {
                    return Task::none();
                };
                let answered = state.since.is_none();
                state.in_call(since, muted, now);
                if answered {
                    self.remember_peer(&peer);
                }
                Task::none()
            }
        }
    }

    /// Home, if a call screen is up (the call it shows is gone).
    pub(super) fn leave_call_screens(&mut self) -> Task<Message> {
        match self.screen {
            Screen::Outgoing(_) | Screen::Incoming(_) | Screen::InCall(_) => {
                self.security = None;
                self.go_home()
            }
            Screen::Home
            | Screen::Ended(_)
            | Screen::Settings(_)
            | Screen::Contacts(_)
            | Screen::Welcome(_)
            | Screen::CallLink(_) => Task::none(),
        }
    }

    /// Home; or the call link opened during the call; or Welcome while no server is set up.
    pub(super) fn go_home(&mut self) -> Task<Message> {
        if let Some(link) = self.pending_link.take() {
            return self.show_link(link);
        }
        if self.effective().servers.is_empty() {
            self.screen = Screen::Welcome(welcome::State::default());
            return iced::widget::operation::focus(welcome::SERVER_INPUT);
        }
        self.screen = Screen::Home;
        iced::widget::operation::focus(home::PEER_INPUT)
    }

    pub(super) fn place_call(&mut self, peer: PeerId) -> Task<Message> {
        self.send(UserCommand::Call(peer.clone()));
        self.remember_peer(&peer);
        Task::none()
    }

    pub(super) fn remember_peer(&mut self, peer: &PeerId) {
        self.notices.extend(self.saved.remember_peer(peer));
    }

    pub(super) fn open_settings(&mut self) -> Task<Message> {
        // With no server saved, show the bundled one in use, so Save keeps it.
        let mut shown = self.saved.get().clone();
        shown.servers = servers_for_run(&shown.servers, self.env.bundled_server);
        let state = settings::State::new(&shown, &self.overrides);
        self.screen = Screen::Settings(Box::new(state));
        list_devices()
    }

    pub(super) fn on_settings(&mut self, message: settings::Message) -> Task<Message> {
        let before = self.effective();
        let Screen::Settings(state) = &mut self.screen else {
            return Task::none();
        };
        // The tests report at the bottom of the page: bring it into view.
        let reveal = matches!(
            message,
            settings::Message::ToggleMicTest | settings::Message::TestSpeaker
        );
        match state.update(message, self.saved.get()) {
            Some(settings::Event::Save(new)) => {
                if let Err(err) = self.saved.replace(new) {
                    state.save_failed(format!("Could not save: {err}"));
                    return Task::none();
                }
                let home = self.go_home();
                if self.effective() == before {
                    return home;
                }
                self.identity.settings_changed();
                Task::batch([home, self.restart_engine()])
            }
            Some(settings::Event::Cancel) => self.go_home(),
            None if reveal => iced::widget::operation::snap_to_end(settings::PAGE),
            None => Task::none(),
        }
    }

    pub(super) fn open_contacts(&mut self, state: contacts::State) -> Task<Message> {
        let focus_name = !state.is_empty_form();
        self.screen = Screen::Contacts(state);
        if focus_name {
            iced::widget::operation::focus(contacts::NAME_INPUT)
        } else {
            Task::none()
        }
    }

    pub(super) fn on_contacts(&mut self, message: contacts::Message) -> Task<Message> {
        let Screen::Contacts(state) = &mut self.screen else {
            return Task::none();
        };
        let result = match state.update(message) {
            Some(contacts::Event::Save { id, name }) => self.contacts.save(&id, &name),
            Some(contacts::Event::Remove(id)) => self.contacts.remove(&id),
            Some(contacts::Event::Unverify(id)) => self.contacts.unverify(&id),
            Some(contacts::Event::Call(peer)) => return self.place_call(peer),
            Some(contacts::Event::Back) => return self.go_home(),
            None => return Task::none(),
        };
        if let Screen::Contacts(state) = &mut self.screen {
            state.done(result);
        }
        Task::none()
    }

    /// "Codes match": the contact is verified and its certificate pinned.
    pub(super) fn on_security(&mut self, message: security::Message) -> Task<Message> {
        let Some(state) = &mut self.security else {
            return Task::none();
        };
        let Some(security::Event::CodesMatch { peer, fingerprint }) = state.update(message) else {
            return Task::none();
        };
        match self.contacts.verify(&peer, &fingerprint) {
            Ok(()) => {
                let name = self.contacts.name_of(&peer);
                if let Some(state) = &mut self.security {
                    state.verified(name);
                }
            }
            Err(problem) => self.notices.push(problem),
        }
        Task::none()
    }
}
