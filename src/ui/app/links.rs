//! Call links (from the command line or a later launch), the first-run welcome screen
//! and incoming-call notifications.

use super::*;

impl App {
    /// A call link from the command line or a later launch: checked, then shown (after
    /// the call, if one is going on). The window comes forward either way.
    pub(super) fn open_link(&mut self, text: &str) -> Task<Message> {
        let link = match CallLink::parse(text) {
            Ok(link) => link,
            Err(err) => {
                self.notices
                    .push(format!("Could not open the call link: {err}"));
                return raise_window();
            }
        };
        let current = self.effective().servers;
        if Some(&link.peer) == self.own_id.as_ref()
            && link.first_step(&current) == LinkStep::Confirm
        {
            self.notices.push(format!(
                "That call link is yours ({}): send it to the person who should call you",
                link.peer
            ));
            return raise_window();
        }
        let busy = matches!(
            self.screen,
            Screen::Outgoing(_) | Screen::Incoming(_) | Screen::InCall(_)
        );
        if busy {
            self.notices.push(format!(
                "The call link to {} opens when this call is over",
                link.peer
            ));
            self.pending_link = Some(link);
            return raise_window();
        }
        Task::batch([self.show_link(link), raise_window()])
    }

    pub(super) fn show_link(&mut self, link: CallLink) -> Task<Message> {
        self.home.fill(&link.peer);
        let current = self.effective().servers;
        self.screen = Screen::CallLink(call_link::State::new(link, &current));
        Task::none()
    }

    pub(super) fn on_call_link(&mut self, message: call_link::Message) -> Task<Message> {
        let online = self.own_id.is_some() && self.connection.is_connected();
        let effective = self.effective();
        let context = call_link::Context {
            online,
            server: effective.primary_server(),
        };
        let Screen::CallLink(state) = &mut self.screen else {
            return Task::none();
        };
        match state.update(message, context) {
            Some(call_link::Event::UseServer(server)) => {
                let mut new = self.saved.get().clone();
                new.servers = vec![server];
                if let Err(err) = self.saved.replace(new) {
                    self.notices
                        .push(format!("Could not save the server: {err}"));
                    return Task::none();
                }
                state.server_switched();
                // The person chose this server: it wins over the command line's for the
                // rest of this run.
                self.overrides.servers.clear();
                self.identity.settings_changed();
                self.restart_engine()
            }
            Some(call_link::Event::Call(peer)) => self.place_call(peer),
            Some(call_link::Event::Cancel) => self.go_home(),
            None => Task::none(),
        }
    }

    pub(super) fn on_welcome(&mut self, message: welcome::Message) -> Task<Message> {
        let Screen::Welcome(state) = &mut self.screen else {
            return Task::none();
        };
        let Some(welcome::Event::Connect(servers)) = state.update(message) else {
            return Task::none();
        };
        let mut new = self.saved.get().clone();
        new.servers = servers;
        if let Err(err) = self.saved.replace(new) {
            state.save_failed(format!("Could not save: {err}"));
            return Task::none();
        }
        self.identity.settings_changed();
        let home = self.go_home();
        Task::batch([self.start_engine(), home])
    }

    pub(super) fn on_notification(&mut self, event: notify::Event) -> Task<Message> {
        let ringing =
            |peer: &PeerId| matches!(&self.screen, Screen::Incoming(state) if state.peer == *peer);
        match event {
            notify::Event::Accept(peer) if ringing(&peer) => {
                self.notified = false;
                self.send(UserCommand::Accept);
                raise_window()
            }
            notify::Event::Decline(peer) if ringing(&peer) => {
                self.notified = false;
                self.send(UserCommand::Decline);
                Task::none()
            }
            notify::Event::Show => raise_window(),
            notify::Event::Accept(_) | notify::Event::Decline(_) => Task::none(),
        }
    }

    /// Takes the notification down once its call no longer rings.
    pub(super) fn withdraw_notification(&mut self) {
        if self.notified && !matches!(self.screen, Screen::Incoming(_)) {
            self.notified = false;
            self.env.notifier.stop();
        }
    }
}
