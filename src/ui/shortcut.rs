//! Keyboard shortcuts, wherever the focus is.

use iced::event;
use iced::keyboard::{self, Key, key};
use iced::window;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    /// Enter: call (Home) or accept (incoming).
    Enter,
    /// Esc: cancel, decline, hang up, close.
    Escape,
    /// Ctrl+M.
    ToggleMute,
}

/// The shortcut a key press stands for. Enter only counts when no widget took it (the
/// peer ID field submits on its own).
pub fn from_event(
    event: iced::Event,
    status: event::Status,
    _window: window::Id,
) -> Option<Shortcut> {
    let iced::Event::Keyboard(keyboard::Event::KeyPressed { key, modifiers, .. }) = event else {
        return None;
    };
    match key.as_ref() {
        Key::Named(key::Named::Enter) if status == event::Status::Ignored => Some(Shortcut::Enter),
        Key::Named(key::Named::Escape) => Some(Shortcut::Escape),
        Key::Character("m" | "M") if modifiers.command() => Some(Shortcut::ToggleMute),
        _ => None,
    }
}
