//! Time and keys: the frame tick that drives meters, timers and notices, and keyboard
//! shortcuts.

use super::*;

impl App {
    pub(super) fn tick(&mut self, now: Instant) -> Task<Message> {
        self.home.tick(now);
        self.tones.poll();
        self.notices.extend(self.local_server.check());
        match &mut self.screen {
            Screen::InCall(state) => {
                let levels = self.meters.as_ref().map(|meters| meters.0.as_ref());
                state.tick(now, levels);
            }
            Screen::Ended(state) => {
                if state.tick(now).is_some() {
                    return self.go_home();
                }
            }
            Screen::Settings(state) => {
                state.tick(now);
                if state.relist_due(now) {
                    return list_devices();
                }
            }
            Screen::Home
            | Screen::Outgoing(_)
            | Screen::Incoming(_)
            | Screen::Contacts(_)
            | Screen::Welcome(_)
            | Screen::CallLink(_) => {}
        }
        Task::none()
    }

    pub(super) fn on_shortcut(&mut self, shortcut: Shortcut) -> Task<Message> {
        match (shortcut, &self.screen) {
            (Shortcut::Enter, Screen::Home) => match self.home.call(home_context(
                self.own_id.as_ref(),
                &self.connection,
                &self.saved,
                &self.contacts,
            )) {
                Some(home::Event::Call(peer)) => self.place_call(peer),
                _ => Task::none(),
            },
            (Shortcut::Enter, Screen::Incoming(_)) => {
                self.send(UserCommand::Accept);
                Task::none()
            }
            (Shortcut::Enter | Shortcut::Escape, Screen::Ended(_)) => self.go_home(),
            (Shortcut::Escape, Screen::Outgoing(_) | Screen::InCall(_)) => {
                self.send(UserCommand::Hangup);
                Task::none()
            }
            (Shortcut::Escape, Screen::Incoming(_)) => {
                self.send(UserCommand::Decline);
                Task::none()
            }
            (Shortcut::Escape, Screen::Settings(_)) => self.on_settings(settings::Message::Cancel),
            (Shortcut::Escape, Screen::Contacts(_)) => self.go_home(),
            (Shortcut::Enter, Screen::CallLink(_)) => self.on_call_link(call_link::Message::Call),
            (Shortcut::Escape, Screen::CallLink(_)) => {
                self.on_call_link(call_link::Message::Cancel)
            }
            (Shortcut::Enter, Screen::Welcome(_)) => self.on_welcome(welcome::Message::Connect),
            (Shortcut::ToggleMute, Screen::InCall(state)) if state.since.is_some() => {
                let muted = !state.muted;
                self.send(UserCommand::SetMuted(muted));
                Task::none()
            }
            _ => Task::none(),
        }
    }
}
