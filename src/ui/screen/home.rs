//! Home: your ID to share, a field for theirs, recent peers (by name when saved).

use std::time::{Duration, Instant};

use iced::widget::{Id, button, column, row, scrollable, space, text, text_input};
use iced::{Center, Element, Shrink};
use voicecall_core::contacts::ContactStore;
use voicecall_core::id::PeerId;

use crate::ui::theme;
use crate::ui::widget::page::{card, header};

/// The peer ID field, focused when Home opens.
pub const PEER_INPUT: Id = Id::new("peer-id");
/// How long "Copied" stays after copying the ID.
pub const COPIED_FOR: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub struct State {
    peer_input: String,
    copy_feedback: Option<CopyFeedback>,
}

#[derive(Debug, Clone, PartialEq)]
enum CopyFeedback {
    Copied { until: Instant },
    Failed(String),
}

#[derive(Debug, Clone)]
pub enum Message {
    PeerInput(String),
    /// Typing in the (read-only) own-ID field: ignored, but keeps it selectable.
    OwnIdEdited,
    /// Copy the ID alone.
    Copy,
    /// Copy a `voicecall:` link to call us on our server.
    CopyLink,
    Call,
    PickRecent(String),
    OpenSettings,
    OpenContacts,
    /// Save a recent ID as a contact.
    SaveContact(String),
}

/// What Home asks of the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Call(PeerId),
    /// Put this text on the clipboard, then tell us how it went with [`State::copied`].
    Copy(String),
    /// Put a call link to us on the clipboard (the app knows our server), then tell us
    /// how it went with [`State::copied`].
    CopyLink,
    OpenSettings,
    OpenContacts,
    /// Open Contacts to name this ID.
    SaveContact(String),
}

/// What Home shows but does not own.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub own_id: Option<&'a PeerId>,
    /// Connected to the signaling server (calls can be placed).
    pub online: bool,
    pub recent: &'a [String],
    /// Names for IDs.
    pub contacts: &'a ContactStore,
}

impl State {
    pub fn update(&mut self, message: Message, context: Context<'_>) -> Option<Event> {
        match message {
            Message::PeerInput(value) => {
                self.peer_input = value;
                None
            }
            Message::OwnIdEdited => None,
            Message::Copy => context.own_id.map(|id| Event::Copy(id.to_string())),
            Message::CopyLink => context.own_id.map(|_| Event::CopyLink),
            Message::Call => self.call(context),
            Message::PickRecent(peer) => {
                self.peer_input = peer;
                None
            }
            Message::OpenSettings => Some(Event::OpenSettings),
            Message::OpenContacts => Some(Event::OpenContacts),
            Message::SaveContact(id) => Some(Event::SaveContact(id)),
        }
    }

    /// Enter on Home (also when the field does not have focus).
    pub fn call(&mut self, context: Context<'_>) -> Option<Event> {
        let peer = self.validated(context)?.ok()?;
        context.online.then_some(Event::Call(peer))
    }

    /// Puts `peer` in the field (from a call link), ready for Call.
    pub fn fill(&mut self, peer: &PeerId) {
        self.peer_input = peer.to_string();
    }

    #[cfg(test)]
    pub fn peer_input(&self) -> &str {
        &self.peer_input
    }

    /// `None` while the field is empty; otherwise the peer or what is wrong with it.
    pub fn validated(&self, context: Context<'_>) -> Option<Result<PeerId, String>> {
        if self.peer_input.trim().is_empty() {
            return None;
        }
        Some(match PeerId::parse(&self.peer_input) {
            Ok(peer) if Some(&peer) == context.own_id => {
                Err("that is your own ID; enter the ID of the person to call".into())
            }
            Ok(peer) => Ok(peer),
            Err(err) => Err(err.to_string()),
        })
    }

    /// The clipboard's answer to [`Event::Copy`].
    pub fn copied(&mut self, result: Result<(), String>, now: Instant) {
        self.copy_feedback = Some(match result {
            Ok(()) => CopyFeedback::Copied {
                until: now + COPIED_FOR,
            },
            Err(why) => CopyFeedback::Failed(format!("Could not copy: {why}")),
        });
    }

    /// Clears "Copied" once its time is up.
    pub fn tick(&mut self, now: Instant) {
        if let Some(CopyFeedback::Copied { until }) = &self.copy_feedback
            && now >= *until
        {
            self.copy_feedback = None;
        }
    }

    /// Whether a timer must run for [`State::tick`].
    pub fn wants_tick(&self) -> bool {
        matches!(self.copy_feedback, Some(CopyFeedback::Copied { .. }))
    }

    pub fn view<'a>(&'a self, context: Context<'a>) -> Element<'a, Message> {
        column![
            self.header(),
            own_id_card(context.own_id, self.copy_feedback.as_ref()),
            self.call_card(context),
            recent_list(context.recent, context.contacts),
        ]
        .spacing(16)
        .into()
    }

    fn header(&self) -> Element<'_, Message> {
        header(
            "voicecall",
            [
                button(text("Contacts"))
                    .style(theme::plain_button)
                    .on_press(Message::OpenContacts)
                    .into(),
                button(text("Settings"))
                    .style(theme::plain_button)
                    .on_press(Message::OpenSettings)
                    .into(),
            ],
        )
    }

    fn call_card<'a>(&'a self, context: Context<'a>) -> Element<'a, Message> {
        let validated = self.validated(context);
        let can_call = context.online && matches!(&validated, Some(Ok(_)));
        let field = text_input("Their ID, e.g. k7m-q2x-9fd", &self.peer_input)
            .id(PEER_INPUT)
            .on_input(Message::PeerInput)
            .on_submit(Message::Call)
            .size(theme::size::HEADING)
            .padding(10);
        let call = button(text("Call").size(theme::size::HEADING).center())
            .width(120)
            .padding([10, 16])
            .style(theme::call_button)
            .on_press_maybe(can_call.then_some(Message::Call));
        let hint: Element<'a, Message> = match (validated, context.online) {
            (Some(Err(why)), _) => text(why)
                .size(theme::size::SMALL)
                .style(theme::error_text)
                .into(),
            (_, false) => text("Not connected to the server: calls are not possible right now")
                .size(theme::size::SMALL)
                .style(theme::muted_text)
                .into(),
            _ => text("Press Enter or Call")
                .size(theme::size::SMALL)
                .style(theme::muted_text)
                .into(),
        };
        card(
            column![
                text("Call someone").size(theme::size::HEADING),
                row![field, call].spacing(10).align_y(Center),
                hint,
            ]
            .spacing(10),
        )
    }
}

fn own_id_card<'a>(
    own_id: Option<&'a PeerId>,
    feedback: Option<&'a CopyFeedback>,
) -> Element<'a, Message> {
    let body: Element<'a, Message> = match own_id {
        Some(id) => {
            let field = text_input("", id.as_str())
                .on_input(|_| Message::OwnIdEdited)
                .size(theme::size::ID)
                .padding(8);
            let copy = |label, message| {
                button(text(label).center())
                    .width(Shrink)
                    .padding([10, 16])
                    .style(theme::plain_button)
                    .on_press(message)
            };
            column![
                field,
                row![
                    copy("Copy ID", Message::Copy),
                    copy("Copy call link", Message::CopyLink)
                ]
                .spacing(10),
            ]
            .spacing(10)
            .into()
        }
        None => text("Waiting for the server to give you an ID…")
            .size(theme::size::BODY)
            .style(theme::muted_text)
            .into(),
    };
    let feedback: Element<'a, Message> = match feedback {
        Some(CopyFeedback::Copied { .. }) => text("Copied")
            .size(theme::size::SMALL)
            .style(theme::good_text)
            .into(),
        Some(CopyFeedback::Failed(why)) => text(why.as_str())
            .size(theme::size::SMALL)
            .style(theme::error_text)
            .into(),
        None => text("Share it, or a call link that opens voicecall ready to call you")
            .size(theme::size::SMALL)
            .style(theme::muted_text)
            .into(),
    };
    card(column![text("Your ID").size(theme::size::HEADING), body, feedback].spacing(8))
}

fn recent_list<'a>(recent: &'a [String], contacts: &'a ContactStore) -> Element<'a, Message> {
    if recent.is_empty() {
        return space().into();
    }
    let entries = recent.iter().map(|peer| {
        let name = PeerId::parse(peer)
            .ok()
            .and_then(|id| contacts.name_of(&id).map(str::to_owned));
        let label = match &name {
            Some(name) => format!("{name} · {peer}"),
            None => peer.clone(),
        };
        let pick = button(text(label))
            .style(theme::link_button)
            .padding([2, 4])
            .on_press(Message::PickRecent(peer.clone()));
        match name {
            Some(_) => pick.into(),
            None => row![
                pick,
                button(text("Save").size(theme::size::SMALL))
                    .style(theme::link_button)
                    .padding([2, 4])
                    .on_press(Message::SaveContact(peer.clone())),
            ]
            .spacing(6)
            .align_y(Center)
            .into(),
        }
    });
    card(
        column![
            text("Recent").size(theme::size::HEADING),
            scrollable(column(entries).spacing(2)).height(Shrink),
        ]
        .spacing(6),
    )
}
