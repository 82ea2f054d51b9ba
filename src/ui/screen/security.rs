//! The security panel of a live call: whose certificate this is to us (a verified
//! contact's, a changed one, a stranger's), the security code to read out, and the
//! "Codes match" button that verifies the contact and pins its certificate. Shown under
//! the Incoming screen (warnings only, before the call is accepted) and the In-call screen.

use iced::widget::{button, column, container, row, text};
use iced::{Center, Element, Fill};
use voicecall_core::contacts::Trust;
use voicecall_core::id::PeerId;
use voicecall_core::sas::{Fingerprint, Unverifiable, Verification};

use crate::ui::theme;

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub peer: PeerId,
    /// The contact's name, if the peer is one.
    name: Option<String>,
    pub fingerprint: Fingerprint,
    trust: Trust,
    verification: Option<Verification>,
    /// "Codes match" was pressed in this call.
    confirmed: bool,
}

#[derive(Debug, Clone)]
pub enum Message {
    CodesMatch,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Pin `fingerprint` for `peer`: the person says both codes match.
    CodesMatch {
        peer: PeerId,
        fingerprint: Fingerprint,
    },
}

impl State {
    pub fn new(peer: PeerId, name: Option<String>, fingerprint: Fingerprint, trust: Trust) -> Self {
        Self {
            peer,
            name,
            fingerprint,
            trust,
            verification: None,
            confirmed: false,
        }
    }

    pub fn verification(&mut self, verification: Verification) {
        self.verification = Some(verification);
    }

    /// The pin was saved: this call is with the verified key now.
    pub fn verified(&mut self, name: Option<String>) {
        self.trust = Trust::Verified;
        self.confirmed = true;
        self.name = name.or(self.name.take());
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::CodesMatch => Some(Event::CodesMatch {
                peer: self.peer.clone(),
                fingerprint: self.fingerprint.clone(),
            }),
        }
    }

    fn who(&self) -> &str {
        self.name.as_deref().unwrap_or(self.peer.as_str())
    }

    /// Under the ringing screen: only what must be said before answering.
    pub fn view_incoming(&self) -> Element<'_, Message> {
        match &self.trust {
            Trust::Changed { .. } => warning(self.trust.warning(self.who())),
            Trust::Verified => text(format!(
                "Verified: this is the key you confirmed with {}",
                self.who()
            ))
            .size(theme::size::SMALL)
            .style(theme::good_text)
            .into(),
            Trust::Stranger | Trust::Unverified => column![].into(),
        }
    }

    /// Under the In-call screen: the code, the trust and the button.
    pub fn view(&self) -> Element<'_, Message> {
        let mut panel = column![].spacing(8).width(Fill);
        if let Trust::Changed { .. } = self.trust {
            panel = panel.push(warning(self.trust.warning(self.who())));
        }
        let code: Element<'_, Message> = match &self.verification {
            None => text("Security code: waiting for both halves…")
                .size(theme::size::SMALL)
                .style(theme::muted_text)
                .into(),
            Some(Verification::Code(code)) => text(format!(
                "Security code {code} — read it out; it must match your peer's"
            ))
            .size(theme::size::BODY)
            .into(),
            Some(Verification::NotVerifiable(why)) => text(format!(
                "No security code for this call: {}",
                match why {
                    Unverifiable::PeerWithoutCommitment =>
                        "the other app is an older version (or someone removed its part on the way)",
                    Unverifiable::NoFingerprint => "a description declared no certificate",
                }
            ))
            .size(theme::size::SMALL)
            .style(theme::muted_text)
            .into(),
        };
        panel = panel.push(code);
        let has_code = matches!(self.verification, Some(Verification::Code(_)));
        panel = match (&self.trust, self.confirmed) {
            (Trust::Verified, true) => panel.push(
                text(format!("Marked {} as verified", self.who()))
                    .size(theme::size::SMALL)
                    .style(theme::good_text),
            ),
            (Trust::Verified, false) => panel.push(
                text(format!(
                    "Verified: this is the key you confirmed with {}",
                    self.who()
                ))
                .size(theme::size::SMALL)
                .style(theme::good_text),
            ),
            _ if has_code => panel.push(
                row![
                    text("Same code on both screens?")
                        .size(theme::size::SMALL)
                        .width(Fill),
                    button(text("Codes match").size(theme::size::SMALL))
                        .style(theme::plain_button)
                        .on_press(Message::CodesMatch),
                ]
                .spacing(10)
                .align_y(Center),
            ),
            _ => panel,
        };
        if has_code && !matches!(self.trust, Trust::Verified) {
            panel = panel.push(
                text("If the codes differ, hang up: someone may be listening in.")
                    .size(theme::size::SMALL)
                    .style(theme::muted_text),
            );
        }
        container(panel)
            .padding(12)
            .width(Fill)
            .style(theme::card)
            .into()
    }
}

fn warning<'a>(words: Option<String>) -> Element<'a, Message> {
    container(
        text(words.unwrap_or_default())
            .size(theme::size::BODY)
            .style(theme::error_text),
    )
    .padding(10)
    .width(Fill)
    .style(theme::notice)
    .into()
}
