//! One module per screen, each with its `State`, `Message`, `Event` (what it tells the
//! app), `update` and small view functions that only format what the state holds.

pub mod contacts;
pub mod ended;
pub mod home;
pub mod in_call;
pub mod incoming;
pub mod outgoing;
pub mod security;
pub mod settings;

/// The screen on show.
pub enum Screen {
    Home,
    Outgoing(outgoing::State),
    Incoming(incoming::State),
    InCall(in_call::State),
    Ended(ended::State),
    Settings(Box<settings::State>),
    Contacts(contacts::State),
}
