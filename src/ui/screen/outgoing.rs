//! Outgoing: we are calling someone; they have not answered yet.

use iced::widget::{button, column, text};
use iced::{Center, Element};
use voicecall_core::id::PeerId;

use crate::ui::theme;

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub peer: PeerId,
    /// Their app reported that it rings.
    pub ringing: bool,
    /// The contact's name, if the peer is one.
    pub name: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Cancel,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Cancel,
}

impl State {
    pub fn new(peer: PeerId, ringing: bool) -> Self {
        Self {
            peer,
            ringing,
            name: None,
        }
    }

    /// Shown by `name` (a contact's) instead of the ID.
    pub fn named(mut self, name: Option<String>) -> Self {
        self.name = name;
        self
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Cancel => Some(Event::Cancel),
        }
    }

    pub fn headline(&self) -> String {
        match &self.name {
            Some(name) => format!("Calling {name} ({})…", self.peer),
            None => format!("Calling {}…", self.peer),
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let progress = if self.ringing {
            "Ringing…"
        } else {
            "Reaching them…"
        };
        column![
            text(self.headline()).size(theme::size::TITLE),
            text(progress)
                .size(theme::size::HEADING)
                .style(theme::muted_text),
            button(text("Cancel").size(theme::size::HEADING).center())
                .width(160)
                .padding([10, 16])
                .style(theme::hangup_button)
                .on_press(Message::Cancel),
            text("Esc cancels")
                .size(theme::size::SMALL)
                .style(theme::muted_text),
        ]
        .spacing(18)
        .align_x(Center)
        .into()
    }
}
