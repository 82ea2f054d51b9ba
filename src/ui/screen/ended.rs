//! Ended: why the call ended, for a few seconds, then back to Home.

use std::time::{Duration, Instant};

use iced::widget::{button, column, text};
use iced::{Center, Element};
use voicecall_core::call::EndReason;
use voicecall_core::id::PeerId;
use voicecall_core::quality::MediaSummary;

use crate::ui::theme;

/// How long the reason stays on screen.
pub const SHOWN_FOR: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub peer: PeerId,
    pub reason: EndReason,
    pub until: Instant,
    /// The contact's name, if the peer is one.
    pub name: Option<String>,
    /// The call's audio numbers, when audio ran.
    summary: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Dismiss,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Time is up (or the person dismissed it): go Home.
    Done,
}

impl State {
    pub fn new(
        peer: PeerId,
        reason: EndReason,
        media: Option<&MediaSummary>,
        now: Instant,
    ) -> Self {
        Self {
            peer,
            reason,
            until: now + SHOWN_FOR,
            name: None,
            summary: media.map(|media| {
                format!(
                    "{} audio frames sent, {} received",
                    media.frames_sent, media.packets_received
                )
            }),
        }
    }

    /// Shown by `name` (a contact's) instead of the ID.
    pub fn named(mut self, name: Option<String>) -> Self {
        self.name = name;
        self
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Dismiss => Some(Event::Done),
        }
    }

    pub fn tick(&mut self, now: Instant) -> Option<Event> {
        (now >= self.until).then_some(Event::Done)
    }

    /// "Call ended: hung up by peer", in words.
    pub fn headline(&self) -> String {
        let reason = self.reason.to_string();
        let mut chars = reason.chars();
        let capitalised: String = match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        };
        capitalised
    }

    pub fn view(&self) -> Element<'_, Message> {
        let mut content = column![
            text(match &self.name {
                Some(name) => format!("Call with {name} ({}) ended", self.peer),
                None => format!("Call with {} ended", self.peer),
            })
            .size(theme::size::HEADING)
            .style(theme::muted_text),
            text(self.headline()).size(theme::size::TITLE),
        ]
        .spacing(14)
        .align_x(Center);
        if let Some(summary) = &self.summary {
            content = content.push(
                text(summary.as_str())
                    .size(theme::size::SMALL)
                    .style(theme::muted_text),
            );
        }
        content
            .push(
                button(text("OK").center())
                    .width(100)
                    .padding([8, 16])
                    .style(theme::plain_button)
                    .on_press(Message::Dismiss),
            )
            .into()
    }
}
