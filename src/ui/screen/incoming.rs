//! Incoming: someone is calling us.

use iced::widget::{button, column, row, text};
use iced::{Center, Element};
use voicecall_core::id::PeerId;

use crate::ui::theme;

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub peer: PeerId,
    /// The contact's name, if the caller is one.
    pub name: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Accept,
    Decline,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Accept,
    Decline,
}

impl State {
    pub fn new(peer: PeerId) -> Self {
        Self { peer, name: None }
    }

    /// Shown by `name` (a contact's) above the ID.
    pub fn named(mut self, name: Option<String>) -> Self {
        self.name = name;
        self
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        Some(match message {
            Message::Accept => Event::Accept,
            Message::Decline => Event::Decline,
        })
    }

    pub fn view(&self) -> Element<'_, Message> {
        let who: Element<'_, Message> = match &self.name {
            Some(name) => column![
                text(name.as_str()).size(theme::size::TITLE + 6),
                text(self.peer.as_str())
                    .size(theme::size::SMALL)
                    .style(theme::muted_text),
            ]
            .align_x(Center)
            .into(),
            None => text(self.peer.as_str()).size(theme::size::TITLE + 6).into(),
        };
        column![
            text("Incoming call")
                .size(theme::size::HEADING)
                .style(theme::muted_text),
            who,
            text("is calling you").size(theme::size::HEADING),
            row![
                button(text("Accept").size(theme::size::HEADING).center())
                    .width(150)
                    .padding([12, 16])
                    .style(theme::call_button)
                    .on_press(Message::Accept),
                button(text("Decline").size(theme::size::HEADING).center())
                    .width(150)
                    .padding([12, 16])
                    .style(theme::hangup_button)
                    .on_press(Message::Decline),
            ]
            .spacing(24),
            text("Enter accepts · Esc declines")
                .size(theme::size::SMALL)
                .style(theme::muted_text),
        ]
        .spacing(18)
        .align_x(Center)
        .into()
    }
}
