//! Contacts: the people saved by name, whether their security key was verified, and
//! adding, renaming, removing, un-verifying and calling them. The rules (valid names,
//! what verified means, where it is saved) are `voicecall_core::contacts`'.

use iced::widget::{Id, button, column, row, scrollable, text, text_input};
use iced::{Center, Element, Fill, Shrink};
use voicecall_core::contacts::Contact;
use voicecall_core::id::PeerId;

use crate::ui::theme;
use crate::ui::widget::page::{card, header};

/// The name field of the add form, focused when the screen opens for an ID.
pub const NAME_INPUT: Id = Id::new("contact-name");

#[derive(Debug, Clone, Default)]
pub struct State {
    new_id: String,
    new_name: String,
    /// The contact being renamed, and the name typed so far.
    editing: Option<(PeerId, String)>,
    /// What went wrong with the last change.
    error: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    NewId(String),
    NewName(String),
    Add,
    /// Rename: the contact and its current name.
    Edit(PeerId, String),
    EditName(String),
    SaveEdit,
    CancelEdit,
    Remove(PeerId),
    Unverify(PeerId),
    Call(PeerId),
    Back,
}

/// What the screen asks of the app (which answers with [`State::done`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Save { id: PeerId, name: String },
    Remove(PeerId),
    Unverify(PeerId),
    Call(PeerId),
    Back,
}

impl State {
    /// The screen with the add form holding `id` (Recent's "Save").
    pub fn adding(id: &str) -> Self {
        Self {
            new_id: id.to_owned(),
            ..Self::default()
        }
    }

    /// Whether the add form is empty (nothing to name yet).
    pub fn is_empty_form(&self) -> bool {
        self.new_id.is_empty()
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::NewId(id) => self.new_id = id,
            Message::NewName(name) => self.new_name = name,
            Message::Add => match PeerId::parse(&self.new_id) {
                Ok(id) => {
                    return Some(Event::Save {
                        id,
                        name: self.new_name.clone(),
                    });
                }
                Err(err) => self.error = Some(err.to_string()),
            },
            Message::Edit(id, name) => {
                self.editing = Some((id, name));
                self.error = None;
            }
            Message::EditName(name) => {
                if let Some((_, typed)) = &mut self.editing {
                    *typed = name;
                }
            }
            Message::SaveEdit => {
                let (id, name) = self.editing.clone()?;
                return Some(Event::Save { id, name });
            }
            Message::CancelEdit => self.editing = None,
            Message::Remove(id) => return Some(Event::Remove(id)),
            Message::Unverify(id) => return Some(Event::Unverify(id)),
            Message::Call(id) => return Some(Event::Call(id)),
            Message::Back => return Some(Event::Back),
        }
        None
    }

    /// How the app's change went.
    pub fn done(&mut self, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.new_id.clear();
                self.new_name.clear();
                self.editing = None;
                self.error = None;
            }
            Err(why) => self.error = Some(why),
        }
    }

    pub fn view<'a>(&'a self, contacts: Vec<&'a Contact>, online: bool) -> Element<'a, Message> {
        let header = header(
            "Contacts",
            [button(text("Back"))
                .style(theme::plain_button)
                .on_press(Message::Back)
                .into()],
        );
        let list: Element<'a, Message> = if contacts.is_empty() {
            text("No contacts yet. Save someone from Recent on Home, or add an ID below.")
                .size(theme::size::SMALL)
                .style(theme::muted_text)
                .into()
        } else {
            scrollable(
                column(contacts.into_iter().map(|c| self.entry(c, online)))
                    .spacing(10)
                    .width(Fill),
            )
            .height(Shrink)
            .into()
        };
        let mut page = column![header, card(list), self.add_form()].spacing(16);
        if let Some(error) = &self.error {
            page = page.push(
                text(error.as_str())
                    .size(theme::size::SMALL)
                    .style(theme::error_text),
            );
        }
        page.into()
    }

    fn entry<'a>(&'a self, contact: &'a Contact, online: bool) -> Element<'a, Message> {
        let id = &contact.id;
        if let Some((editing, typed)) = &self.editing
            && editing == id
        {
            return row![
                text_input("Name", typed)
                    .on_input(Message::EditName)
                    .on_submit(Message::SaveEdit)
                    .padding(6)
                    .width(Fill),
                button(text("Save")).on_press(Message::SaveEdit),
                button(text("Cancel"))
                    .style(theme::plain_button)
                    .on_press(Message::CancelEdit),
            ]
            .spacing(8)
            .align_y(Center)
            .into();
        }
        let status: Element<'a, Message> = match &contact.verified {
            Some(_) => text("verified")
                .size(theme::size::SMALL)
                .style(theme::good_text)
                .into(),
            None => text("not verified")
                .size(theme::size::SMALL)
                .style(theme::muted_text)
                .into(),
        };
        let mut actions = row![
            button(text("Call").size(theme::size::SMALL))
                .style(theme::call_button)
                .on_press_maybe(online.then(|| Message::Call(id.clone()))),
            button(text("Rename").size(theme::size::SMALL))
                .style(theme::plain_button)
                .on_press(Message::Edit(id.clone(), contact.name.clone())),
        ]
        .spacing(6);
        if contact.verified.is_some() {
            actions = actions.push(
                button(text("Forget key").size(theme::size::SMALL))
                    .style(theme::plain_button)
                    .on_press(Message::Unverify(id.clone())),
            );
        }
        actions = actions.push(
            button(text("Remove").size(theme::size::SMALL))
                .style(theme::hangup_button)
                .on_press(Message::Remove(id.clone())),
        );
        row![
            column![
                text(contact.name.as_str()).size(theme::size::BODY),
                row![
                    text(id.as_str())
                        .size(theme::size::SMALL)
                        .style(theme::muted_text),
                    status
                ]
                .spacing(10),
            ]
            .width(Fill),
            actions,
        ]
        .spacing(10)
        .align_y(Center)
        .into()
    }

    fn add_form(&self) -> Element<'_, Message> {
        card(
            column![
                text("Add a contact").size(theme::size::HEADING),
                row![
                    text_input("Their ID", &self.new_id)
                        .on_input(Message::NewId)
                        .padding(8)
                        .width(Fill),
                    text_input("Name, e.g. Alice", &self.new_name)
                        .id(NAME_INPUT)
                        .on_input(Message::NewName)
                        .on_submit(Message::Add)
                        .padding(8)
                        .width(Fill),
                    button(text("Save")).on_press(Message::Add),
                ]
                .spacing(8)
                .align_y(Center),
            ]
            .spacing(8),
        )
    }
}
