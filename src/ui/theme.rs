//! Colours and shared styles: a light theme with a clearly green "call" and red "hang up".

use iced::widget::{button, container, text};
use iced::{Background, Border, Color, Theme, color};

pub const GREEN: Color = color!(0x1e8e4f);
pub const RED: Color = color!(0xc9372c);
pub const AMBER: Color = color!(0xb86e00);
pub const MUTED: Color = color!(0x5d6470);

pub fn theme() -> Theme {
    Theme::custom(
        "voicecall",
        iced::theme::Palette {
            background: color!(0xf6f7f9),
            text: color!(0x15181d),
            primary: color!(0x2f62d0),
            success: GREEN,
            warning: AMBER,
            danger: RED,
        },
    )
}

/// Sizes used across screens.
pub mod size {
    pub const TITLE: u32 = 28;
    pub const HEADING: u32 = 20;
    pub const BODY: u32 = 16;
    pub const SMALL: u32 = 14;
    pub const ID: u32 = 26;
}

/// A white card on the page background.
pub fn card(theme: &Theme) -> container::Style {
    let palette = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(Color::WHITE)),
        border: Border {
            color: palette.background.strong.color,
            width: 1.0,
            radius: 10.0.into(),
        },
        ..container::Style::default()
    }
}

/// A problem the person should read.
pub fn notice(_theme: &Theme) -> container::Style {
    container::Style {
        background: Some(Background::Color(color!(0xfdecea))),
        text_color: Some(color!(0x7a1c14)),
        border: Border {
            color: color!(0xf2b8b2),
            width: 1.0,
            radius: 6.0.into(),
        },
        ..container::Style::default()
    }
}

/// The status bar along the bottom.
pub fn status_bar(theme: &Theme) -> container::Style {
    let palette = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(palette.background.weak.color)),
        ..container::Style::default()
    }
}

pub fn error_text(_theme: &Theme) -> text::Style {
    text::Style { color: Some(RED) }
}

pub fn muted_text(_theme: &Theme) -> text::Style {
    text::Style { color: Some(MUTED) }
}

pub fn good_text(_theme: &Theme) -> text::Style {
    text::Style { color: Some(GREEN) }
}

/// Big round-cornered action buttons: green to call or answer, red to end or refuse.
pub fn call_button(theme: &Theme, status: button::Status) -> button::Style {
    white_text(rounded(button::success(theme, status)), status)
}

pub fn hangup_button(theme: &Theme, status: button::Status) -> button::Style {
    white_text(rounded(button::danger(theme, status)), status)
}

fn white_text(mut style: button::Style, status: button::Status) -> button::Style {
    style.text_color = match status {
        button::Status::Disabled => Color::WHITE.scale_alpha(0.8),
        _ => Color::WHITE,
    };
    style
}

pub fn plain_button(theme: &Theme, status: button::Status) -> button::Style {
    rounded(button::secondary(theme, status))
}

pub fn link_button(theme: &Theme, status: button::Status) -> button::Style {
    let mut style = button::text(theme, status);
    style.text_color = theme.extended_palette().primary.base.color;
    style
}

fn rounded(mut style: button::Style) -> button::Style {
    style.border.radius = 8.0.into();
    style
}
