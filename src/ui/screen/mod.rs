//! One module per screen, each with its `State`, `Message`, `Event` (what it tells the
//! app), `update` and small view functions that only format what the state holds.

pub mod call_link;
pub mod contacts;
pub mod ended;
pub mod home;
pub mod in_call;
pub mod incoming;
pub mod outgoing;
pub mod security;
pub mod settings;
pub mod welcome;

/// The screen on show.
pub enum Screen {
    Home,
    Outgoing(outgoing::State),
    Incoming(incoming::State),
    InCall(in_call::State),
    Ended(ended::State),
    Settings(Box<settings::State>),
    Contacts(contacts::State),
    /// No signaling server set up yet (an installed app's first start).
    Welcome(welcome::State),
    /// A call link was opened.
    CallLink(call_link::State),
}
