//! Welcome: no signaling server is set up (an installed app's first start). Says what the
//! server is for and where to get one, and takes its address.

use iced::widget::{Id, button, column, container, row, text, text_input};
use iced::{Center, Element, Fill};
use voicecall_core::config::parse_servers;

use crate::ui::theme;

/// The address field, focused when the screen opens.
pub const SERVER_INPUT: Id = Id::new("welcome-server");

#[derive(Debug, Default)]
pub struct State {
    input: String,
    /// What is wrong with the address, or with saving it.
    error: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Input(String),
    Connect,
}

/// What Welcome asks of the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Save these servers and connect.
    Connect(Vec<String>),
}

impl State {
    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Input(value) => {
                self.input = value;
                self.error = None;
                None
            }
            Message::Connect => match parse_servers(&self.input) {
                Ok(servers) => Some(Event::Connect(servers)),
                Err(err) => {
                    self.error = Some(err.to_string());
                    None
                }
            },
        }
    }

    /// Saving failed: say so under the field.
    pub fn save_failed(&mut self, why: String) {
        self.error = Some(why);
    }

    pub fn view(&self) -> Element<'_, Message> {
        let field = text_input("https://voice.example.org", &self.input)
            .id(SERVER_INPUT)
            .on_input(Message::Input)
            .on_submit(Message::Connect)
            .size(theme::size::HEADING)
            .padding(10);
        let connect = button(text("Connect").size(theme::size::HEADING).center())
            .padding([10, 16])
            .style(theme::call_button)
            .on_press(Message::Connect);
        let hint = match &self.error {
            Some(err) => text(err.as_str())
                .size(theme::size::SMALL)
                .style(theme::error_text),
            None => text("Separate several servers with commas; the first is tried first.")
                .size(theme::size::SMALL)
                .style(theme::muted_text),
        };
        let card = container(
            column![
                text("Signaling server").size(theme::size::HEADING),
                row![field, connect].spacing(10).align_y(Center),
                hint,
            ]
            .spacing(10),
        )
        .padding(16)
        .width(Fill)
        .style(theme::card);
        column![
            text("Welcome to voicecall").size(theme::size::TITLE),
            text(
                "Calls go straight from you to the person you call, but to find each \
                 other both apps connect to the same signaling server. Enter the address \
                 of yours: ask the person who invited you, or run one with the \
                 voicecall-server package."
            )
            .size(theme::size::BODY),
            card,
            text(
                "Opening a call link (voicecall:…?server=…) also offers to set it. \
                 You can change it later in Settings."
            )
            .size(theme::size::SMALL)
            .style(theme::muted_text),
        ]
        .spacing(16)
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_takes_checked_addresses_and_explains_bad_ones() {
        let mut state = State::default();
        assert_eq!(state.update(Message::Connect), None);
        assert_eq!(
            state.error.as_deref(),
            Some("enter at least one server, e.g. https://voice.example.org")
        );
        state.update(Message::Input("voice.example.org".into()));
        assert_eq!(state.error, None, "typing clears the error");
        assert_eq!(state.update(Message::Connect), None);
        {
            let mut ui = iced_test::simulator(state.view());
            assert!(
                ui.find(
                    "\"voice.example.org\" is not a server address (http://, https://, ws:// or wss://)"
                )
                .is_ok()
            );
        }
        state.update(Message::Input(" https://voice.example.org ".into()));
        assert_eq!(
            state.update(Message::Connect),
            Some(Event::Connect(vec!["https://voice.example.org".into()]))
        );
    }
}
