//! Incoming calls noticed while the window is in the background: a desktop notification
//! with Accept and Decline (freedesktop D-Bus `org.freedesktop.Notifications` on Linux and
//! the BSDs). The notification is withdrawn as soon as the call stops ringing. Elsewhere
//! nothing is shown; the window still asks for attention.

#[cfg(all(unix, not(target_os = "macos")))]
mod freedesktop;

use tokio::sync::mpsc;
use voicecall_core::id::PeerId;

/// What the person did with a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Accept(PeerId),
    Decline(PeerId),
    /// Clicked the notification itself: bring the window forward.
    Show,
}

/// Shows and withdraws the incoming-call notification.
pub trait Notifier {
    /// `peer` is calling.
    fn ring(&mut self, peer: &PeerId);
    /// The call stopped ringing (answered, declined, cancelled): withdraw it.
    fn stop(&mut self);
}

/// What the person did, as the app receives it.
pub type Events = mpsc::UnboundedReceiver<Event>;

/// The platform's notifier, running on `runtime`, and where its events arrive.
pub fn desktop(runtime: &tokio::runtime::Handle) -> (Box<dyn Notifier>, Events) {
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        let (notifier, events) = freedesktop::spawn(runtime);
        (Box::new(notifier), events)
    }
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    {
        let _ = runtime;
        let (_, events) = mpsc::unbounded_channel();
        (Box::new(Silent), events)
    }
}

/// Shows nothing (tests, and platforms without a notifier here).
pub struct Silent;

impl Notifier for Silent {
    fn ring(&mut self, _peer: &PeerId) {}
    fn stop(&mut self) {}
}
