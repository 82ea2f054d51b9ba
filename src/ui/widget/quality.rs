//! The in-call quality indicator: round-trip time, loss, jitter and bitrate, coloured when
//! the connection is poor.

use iced::widget::{column, container, text};
use iced::{Background, Border, Element, Theme};
use voicecall_core::quality::Quality;

use crate::ui::theme;

/// "Good connection" / "Poor connection" with the numbers; "Measuring…" before any.
pub fn badge<'a, Message: 'a>(quality: Option<&Quality>) -> Element<'a, Message> {
    let (label, detail, colour) = match quality {
        None => ("Measuring…", String::new(), theme::MUTED),
        Some(q) if q.is_poor() => ("Poor connection", q.summary(), theme::RED),
        Some(q) => ("Good connection", q.summary(), theme::GREEN),
    };
    let pill = container(
        text(label)
            .size(theme::size::SMALL)
            .color(iced::Color::WHITE),
    )
    .padding([3, 10])
    .style(move |_theme: &Theme| container::Style {
        background: Some(Background::Color(colour)),
        border: Border::default().rounded(10),
        ..container::Style::default()
    });
    column![
        pill,
        text(detail)
            .size(theme::size::SMALL)
            .style(theme::muted_text)
    ]
    .spacing(6)
    .into()
}
