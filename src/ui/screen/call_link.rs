//! A call link was opened: ask before switching to a server we have not used, then ask
//! "Call …?". Nothing is dialled until the person presses Call.

use iced::widget::{button, column, row, text};
use iced::{Center, Element};
use voicecall_core::id::PeerId;
use voicecall_core::link::{CallLink, LinkStep, server_label};

use crate::ui::theme;

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub link: CallLink,
    pub step: LinkStep,
}

#[derive(Debug, Clone)]
pub enum Message {
    UseServer,
    Call,
    Cancel,
}

/// What the screen asks of the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Switch to this server (save it) and connect there.
    UseServer(String),
    Call(PeerId),
    Cancel,
}

/// What the screen shows but does not own.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Connected: a call can be placed now.
    pub online: bool,
    /// The server in use, if any.
    pub server: Option<&'a str>,
}

impl State {
    /// `current`: the servers the app uses now.
    pub fn new(link: CallLink, current: &[String]) -> Self {
        let step = link.first_step(current);
        Self { link, step }
    }

    /// The app switched to the link's server.
    pub fn server_switched(&mut self) {
        self.step = LinkStep::Confirm;
    }

    pub fn update(&mut self, message: Message, context: Context<'_>) -> Option<Event> {
        match (message, &self.step) {
            (Message::UseServer, LinkStep::AskServer(server)) => {
                Some(Event::UseServer(server.clone()))
            }
            (Message::Call, LinkStep::Confirm) if context.online => {
                Some(Event::Call(self.link.peer.clone()))
            }
            (Message::Cancel, _) => Some(Event::Cancel),
            _ => None,
        }
    }

    pub fn title(&self) -> String {
        match self.step {
            LinkStep::AskServer(_) => "voicecall — call link".into(),
            LinkStep::Confirm => format!("voicecall — call {}?", self.link.peer),
        }
    }

    pub fn view(&self, context: Context<'_>) -> Element<'_, Message> {
        match &self.step {
            LinkStep::AskServer(server) => self.ask_server(server, context),
            LinkStep::Confirm => self.confirm(context),
        }
    }

    fn ask_server<'a>(&'a self, server: &'a str, context: Context<'_>) -> Element<'a, Message> {
        let label = server_label(server);
        let now = match context.server {
            Some(ours) => format!("You use {} now; your ID there is kept.", server_label(ours)),
            None => "No server is set up yet.".into(),
        };
        column![
            text("Use another server?").size(theme::size::TITLE),
            text(format!(
                "This link calls {} on the server {label}, which you have not used.",
                self.link.peer
            ))
            .size(theme::size::BODY),
            text(now).size(theme::size::BODY),
            text(server)
                .size(theme::size::SMALL)
                .style(theme::muted_text),
            row![
                button(text(format!("Use {label}")).center())
                    .padding([10, 16])
                    .style(theme::call_button)
                    .on_press(Message::UseServer),
                button(text("Cancel").center())
                    .padding([10, 16])
                    .style(theme::plain_button)
                    .on_press(Message::Cancel),
            ]
            .spacing(16),
        ]
        .spacing(16)
        .align_x(Center)
        .into()
    }

    fn confirm(&self, context: Context<'_>) -> Element<'_, Message> {
        let hint = if context.online {
            "Enter calls · Esc cancels"
        } else {
            "Connecting to the server…"
        };
        column![
            text(format!("Call {}?", self.link.peer)).size(theme::size::TITLE + 6),
            text("From a call link")
                .size(theme::size::HEADING)
                .style(theme::muted_text),
            row![
                button(text("Call").size(theme::size::HEADING).center())
                    .width(150)
                    .padding([12, 16])
                    .style(theme::call_button)
                    .on_press_maybe(context.online.then_some(Message::Call)),
                button(text("Cancel").size(theme::size::HEADING).center())
                    .width(150)
                    .padding([12, 16])
                    .style(theme::plain_button)
                    .on_press(Message::Cancel),
            ]
            .spacing(24),
            text(hint).size(theme::size::SMALL).style(theme::muted_text),
        ]
        .spacing(18)
        .align_x(Center)
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = "https://voice.example.org";

    fn link(server: Option<&str>) -> CallLink {
        CallLink::new(PeerId::parse("k7m-q2x-9fd").expect("id"), server)
    }

    fn context(online: bool) -> Context<'static> {
        Context {
            online,
            server: Some(OURS),
        }
    }

    #[test]
    fn call_only_after_the_server_question_and_only_when_online() {
        let mut state = State::new(link(Some("https://other.example.org")), &[OURS.into()]);
        assert_eq!(state.update(Message::Call, context(true)), None);
        assert_eq!(
            state.update(Message::UseServer, context(true)),
            Some(Event::UseServer("https://other.example.org".into()))
        );
        state.server_switched();
        assert_eq!(state.update(Message::Call, context(false)), None);
        assert_eq!(
            state.update(Message::Call, context(true)),
            Some(Event::Call(link(None).peer))
        );
        assert_eq!(
            state.update(Message::Cancel, context(true)),
            Some(Event::Cancel)
        );
    }

    #[test]
    fn our_own_server_needs_no_question() {
        let state = State::new(link(Some(OURS)), &[OURS.into()]);
        assert_eq!(state.step, LinkStep::Confirm);
        let mut ui = iced_test::simulator(state.view(context(true)));
        assert!(ui.find("Call k7m-q2x-9fd?").is_ok());
    }
}
