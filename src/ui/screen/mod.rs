//! One module per screen, each with its `State`, `Message`, `Event` (what it tells the
//! app), `update` and `view`.

pub mod ended;
pub mod home;
pub mod in_call;
pub mod incoming;
pub mod outgoing;
pub mod settings;
