//! The signaling connection as the status bar shows it.

use iced::widget::{button, column, container, row, text};
use iced::{Center, Color, Element, Fill};
use voicecall_engine::controller::SignalingState;

use crate::ui::server;
use crate::ui::theme;

#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    /// The engine was (re)started for this server and has not reported yet.
    Starting(String),
    /// What the engine reported last, with its detail for people.
    Reported(SignalingState, String),
    /// The engine task ended.
    Stopped,
}

impl Connection {
    /// Calls can be placed.
    pub fn is_connected(&self) -> bool {
        matches!(self, Connection::Reported(SignalingState::Connected, _))
    }

    /// Nothing will happen unless the person asks for another try.
    pub fn offers_retry(&self) -> bool {
        match self {
            Connection::Stopped => true,
            Connection::Reported(state, _) => state.is_offline(),
            Connection::Starting(_) => false,
        }
    }

    /// The dot's colour and the line next to it.
    pub fn line(&self) -> (Color, String) {
        match self {
            Connection::Starting(server) if server.is_empty() => {
                (theme::RED, "No signaling server configured".into())
            }
            Connection::Starting(server) => (theme::AMBER, format!("Connecting to {server}…")),
            Connection::Reported(SignalingState::Connected, server) => {
                (theme::GREEN, format!("Connected to {server}"))
            }
            Connection::Reported(SignalingState::Reconnecting, detail) => {
                (theme::AMBER, format!("Reconnecting… ({detail})"))
            }
            Connection::Reported(SignalingState::Offline | SignalingState::Refused(_), detail) => {
                (theme::RED, format!("Offline: {detail}"))
            }
            Connection::Stopped => (theme::RED, "Offline: the call engine stopped".into()),
        }
    }
}

/// The bar at the bottom: the connection, a Retry button when offline, and what became of
/// the bundled server.
pub fn bar<'a, M: Clone + 'a>(
    connection: &Connection,
    server: &server::Status,
    retry: M,
) -> Element<'a, M> {
    let (colour, line) = connection.line();
    let mut bar = row![
        text("●").color(colour),
        text(line).size(theme::size::SMALL).width(Fill),
    ]
    .spacing(8)
    .align_y(Center);
    if connection.offers_retry() {
        bar = bar.push(
            button(text("Retry").size(theme::size::SMALL))
                .style(theme::plain_button)
                .on_press(retry),
        );
    }
    let mut content = column![bar].spacing(2);
    if let Some(server) = server.describe() {
        content = content.push(
            text(server)
                .size(theme::size::SMALL)
                .style(theme::muted_text),
        );
    }
    container(content)
        .padding([8, 20])
        .width(Fill)
        .style(theme::status_bar)
        .into()
}
