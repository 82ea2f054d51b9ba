//! The frame every full-page screen shares: a title row with its actions, and cards.

use iced::widget::{Row, container, text};
use iced::{Center, Element, Fill};

use crate::ui::theme;

/// A bordered block of related content.
pub fn card<'a, M: 'a>(content: impl Into<Element<'a, M>>) -> Element<'a, M> {
    container(content)
        .padding(16)
        .width(Fill)
        .style(theme::card)
        .into()
}

/// The page's title on the left, its actions (buttons) on the right.
pub fn header<'a, M: 'a>(
    title: &'a str,
    actions: impl IntoIterator<Item = Element<'a, M>>,
) -> Element<'a, M> {
    Row::new()
        .push(text(title).size(theme::size::TITLE).width(Fill))
        .extend(actions)
        .spacing(8)
        .align_y(Center)
        .into()
}
