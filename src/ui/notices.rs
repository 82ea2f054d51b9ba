//! Problems listed at the top of the window until dismissed, and the words for the typed
//! problems the engine and the config builder report.

use iced::widget::{button, column, container, row, text};
use iced::{Center, Element, Fill};
use voicecall_core::device::Direction;
use voicecall_core::id::PeerId;
use voicecall_engine::controller::ConfigProblem;
use voicecall_engine::media::DeviceSwitch;

use crate::ui::theme;

/// At most this many problems are listed.
const MAX_NOTICES: usize = 4;

#[derive(Debug, Default)]
pub struct Notices {
    lines: Vec<String>,
}

impl Extend<String> for Notices {
    fn extend<I: IntoIterator<Item = String>>(&mut self, lines: I) {
        for line in lines {
            self.push(line);
        }
    }
}

impl Notices {
    /// Adds a line (once; the oldest goes when there are too many).
    pub fn push(&mut self, line: String) {
        if self.lines.contains(&line) {
            return;
        }
        self.lines.push(line);
        if self.lines.len() > MAX_NOTICES {
            self.lines.remove(0);
        }
    }

    pub fn dismiss(&mut self) {
        self.lines.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    #[cfg(test)]
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    pub fn view<'a, M: Clone + 'a>(&'a self, dismiss: M) -> Element<'a, M> {
        let lines = self
            .lines
            .iter()
            .map(|line| text(line.as_str()).size(theme::size::SMALL).into());
        container(
            row![
                column(lines).spacing(4).width(Fill),
                button(text("Dismiss").size(theme::size::SMALL))
                    .style(theme::link_button)
                    .on_press(dismiss),
            ]
            .spacing(8)
            .align_y(Center),
        )
        .padding(10)
        .width(Fill)
        .style(theme::notice)
        .into()
    }
}

/// A setting the app starts with anyway, in the app's words.
pub fn config_problem(problem: &ConfigProblem) -> String {
    match problem {
        ConfigProblem::NoServer => "no signaling server configured: add one in Settings".into(),
        ConfigProblem::Input(_) | ConfigProblem::Output(_) => {
            format!("{problem}; using the default")
        }
        other => other.to_string(),
    }
}

/// The server would not give back the ID we remembered.
pub fn id_refused(claimed: &PeerId) -> String {
    format!("The server would not give back your ID {claimed}; you have a new ID for now.")
}

/// A device of the running call went away.
pub fn device_switched(switch: &DeviceSwitch) -> String {
    let (device, another) = match switch.direction {
        Direction::Input => ("Microphone", "microphone"),
        Direction::Output => ("Speaker", "speaker"),
    };
    match &switch.to {
        Some(to) => format!("{device} disconnected — switched to {to}"),
        None => format!(
            "{device} disconnected — no other {another} found; the call goes on and one is \
             used as soon as it is plugged in"
        ),
    }
}

/// Someone called while we were in a call.
pub fn rejected_busy(peer: &PeerId) -> String {
    format!("{peer} called while you were busy; they were told so")
}

pub const ENGINE_STOPPED: &str =
    "The call engine stopped. Press Retry in the status bar to start it again.";
