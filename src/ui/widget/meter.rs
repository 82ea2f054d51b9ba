//! A horizontal level meter for a microphone or speaker.

use iced::widget::{column, progress_bar, row, text};
use iced::{Background, Element, Fill, Theme};

use crate::ui::theme;

/// The lowest level the meter shows; quieter is an empty bar.
const FLOOR_DB: f32 = -60.0;

/// How full the bar is for a level in dBFS (0 = empty at -60 dB, 1 = full scale).
pub fn fill(dbfs: f32) -> f32 {
    if !dbfs.is_finite() {
        return 0.0;
    }
    ((dbfs - FLOOR_DB) / -FLOOR_DB).clamp(0.0, 1.0)
}

/// `label` above a bar showing `dbfs`.
pub fn level_meter<'a, Message: 'a>(label: &'a str, dbfs: f32) -> Element<'a, Message> {
    let value = fill(dbfs);
    let bar = progress_bar(0.0..=1.0, value)
        .girth(10)
        .style(move |theme: &Theme| {
            let palette = theme.extended_palette();
            let colour = if dbfs > -3.0 {
                theme::RED
            } else if dbfs > -12.0 {
                theme::AMBER
            } else {
                theme::GREEN
            };
            iced::widget::progress_bar::Style {
                background: Background::Color(palette.background.strong.color),
                bar: Background::Color(colour),
                border: iced::Border::default().rounded(5),
            }
        });
    let reading = if dbfs <= FLOOR_DB {
        "silent".to_owned()
    } else {
        format!("{dbfs:.0} dB")
    };
    column![
        row![
            text(label).size(theme::size::SMALL).width(Fill),
            text(reading)
                .size(theme::size::SMALL)
                .style(theme::muted_text)
        ],
        bar
    ]
    .spacing(4)
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_maps_decibels_onto_the_bar() {
        assert_eq!(fill(-96.0), 0.0);
        assert_eq!(fill(0.0), 1.0);
        assert!((fill(-30.0) - 0.5).abs() < 1e-6);
        assert_eq!(fill(f32::NAN), 0.0);
        assert_eq!(fill(6.0), 1.0);
    }
}
