//! In call: who, for how long, mute, levels, connection quality, hang up. Also shown while
//! the media path is still connecting after an answer.

use std::time::{Duration, Instant};

use iced::widget::{button, column, container, row, text};
use iced::{Center, Element, Fill};
use voicecall_core::id::PeerId;
use voicecall_core::quality::RtcStats;
use voicecall_engine::audio::Levels;

use crate::ui::theme;
use crate::ui::widget::meter::level_meter;
use crate::ui::widget::quality::badge;
use voicecall_core::quality::Quality;

#[derive(Debug, Clone)]
pub struct State {
    pub peer: PeerId,
    /// `None` while connecting; the call's start once audio flows.
    pub since: Option<Instant>,
    pub muted: bool,
    elapsed: Duration,
    mic_dbfs: f32,
    speaker_dbfs: f32,
    quality: Option<Quality>,
    last_stats: Option<(RtcStats, Instant)>,
    /// The contact's name, if the peer is one.
    pub name: Option<String>,
    /// The media path is down and the engine is restoring it.
    reconnecting: bool,
}

#[derive(Debug, Clone)]
pub enum Message {
    ToggleMute,
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    SetMuted(bool),
    Hangup,
}

const SILENT_DB: f32 = -96.0;

impl State {
    pub fn connecting(peer: PeerId) -> Self {
        Self {
            peer,
            since: None,
            muted: false,
            elapsed: Duration::ZERO,
            mic_dbfs: SILENT_DB,
            speaker_dbfs: SILENT_DB,
            quality: None,
            last_stats: None,
            name: None,
            reconnecting: false,
        }
    }

    pub fn media_path(&mut self, up: bool) {
        self.reconnecting = !up;
    }

    /// Shown by `name` (a contact's) above the ID.
    pub fn named(mut self, name: Option<String>) -> Self {
        self.name = name;
        self
    }

    /// The engine says the call is up (again: muted may have changed).
    pub fn in_call(&mut self, since: Instant, muted: bool, now: Instant) {
        self.since = Some(since);
        self.muted = muted;
        self.elapsed = now.saturating_duration_since(since);
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        Some(match message {
            Message::ToggleMute => Event::SetMuted(!self.muted),
            Message::End => Event::Hangup,
        })
    }

    /// Frame tick: the clock and the meters.
    pub fn tick(&mut self, now: Instant, levels: Option<&Levels>) {
        if let Some(since) = self.since {
            self.elapsed = now.saturating_duration_since(since);
        }
        if let Some(levels) = levels {
            self.mic_dbfs = if self.muted {
                SILENT_DB
            } else {
                levels.input().rms_dbfs()
            };
            self.speaker_dbfs = levels.output().rms_dbfs();
        }
    }

    pub fn stats(&mut self, rtc: RtcStats, now: Instant) {
        let previous = self.last_stats.as_ref().map(|(stats, at)| (stats, *at));
        self.quality = Some(Quality::between(previous, &rtc, now));
        self.last_stats = Some((rtc, now));
    }

    #[cfg(test)]
    pub fn quality(&self) -> Option<&Quality> {
        self.quality.as_ref()
    }

    /// "03:07" (or "1:02:03" past an hour).
    pub fn clock(&self) -> String {
        format_clock(self.elapsed)
    }

    pub fn view(&self) -> Element<'_, Message> {
        let status = match self.since {
            None => "Connecting…".to_owned(),
            Some(_) if self.reconnecting => format!("{} · reconnecting…", self.clock()),
            Some(_) => self.clock(),
        };
        let mute_label = if self.muted { "Unmute" } else { "Mute" };
        let mute_style = if self.muted {
            theme::call_button
        } else {
            theme::plain_button
        };
        let meters = container(
            column![
                level_meter(
                    if self.muted {
                        "Microphone (muted)"
                    } else {
                        "Microphone"
                    },
                    self.mic_dbfs
                ),
                level_meter("Speaker", self.speaker_dbfs),
                badge(self.quality.as_ref()),
            ]
            .spacing(12),
        )
        .padding(16)
        .width(Fill)
        .style(theme::card);
        column![
            text("In call with")
                .size(theme::size::HEADING)
                .style(theme::muted_text),
            text(self.name.as_deref().unwrap_or(self.peer.as_str())).size(theme::size::TITLE + 6),
            text(if self.name.is_some() {
                self.peer.as_str()
            } else {
                ""
            })
            .size(theme::size::SMALL)
            .style(theme::muted_text),
            text(status).size(theme::size::TITLE),
            meters,
            row![
                button(text(mute_label).size(theme::size::HEADING).center())
                    .width(130)
                    .padding([10, 16])
                    .style(mute_style)
                    .on_press(Message::ToggleMute),
                button(text("End Call").size(theme::size::HEADING).center())
                    .width(160)
                    .padding([10, 16])
                    .style(theme::hangup_button)
                    .on_press(Message::End),
            ]
            .spacing(20),
            text("Ctrl+M mutes · Esc ends the call")
                .size(theme::size::SMALL)
                .style(theme::muted_text),
        ]
        .spacing(14)
        .align_x(Center)
        .into()
    }
}

pub fn format_clock(elapsed: Duration) -> String {
    let total = elapsed.as_secs();
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes:02}:{seconds:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_minutes_and_seconds() {
        assert_eq!(format_clock(Duration::from_secs(0)), "00:00");
        assert_eq!(format_clock(Duration::from_secs(187)), "03:07");
        assert_eq!(format_clock(Duration::from_secs(3723)), "1:02:03");
    }

    #[test]
    fn the_timer_runs_from_the_phase_start() {
        let t0 = Instant::now();
        let mut state = State::connecting(PeerId::parse("abc-def-ghj").expect("id"));
        state.tick(t0 + Duration::from_secs(5), None);
        assert_eq!(state.since, None);
        state.in_call(t0, false, t0);
        state.tick(t0 + Duration::from_secs(65), None);
        assert_eq!(state.clock(), "01:05");
        assert_eq!(
            state.update(Message::ToggleMute),
            Some(Event::SetMuted(true))
        );
    }
}
