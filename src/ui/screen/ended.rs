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
    pub peer: Option<PeerId>,
    pub reason: EndReason,
    pub until: Instant,
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
    pub fn new(peer: Option<PeerId>, reason: EndReason, now: Instant) -> Self {
        Self {
            peer,
            reason,
            until: now + SHOWN_FOR,
            summary: None,
        }
    }

    /// The call's audio numbers, when the engine reports them.
    pub fn set_media(&mut self, media: &MediaSummary) {
        self.summary = Some(format!(
            "{} audio frames sent, {} received",
            media.frames_sent, media.packets_received
        ));
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
        let with = self
            .peer
            .as_ref()
            .map(|peer| format!("Call with {peer} ended"))
            .unwrap_or_else(|| "Call ended".to_owned());
        let mut content = column![
            text(with)
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
