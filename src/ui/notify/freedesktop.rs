//! The freedesktop notification service over the session bus (zbus). One task owns the
//! connection: it is made when the first call rings (no bus, no notification: the window
//! still asks for attention), and the task listens for the service's ActionInvoked and
//! NotificationClosed signals about the one notification it has up.

use std::collections::HashMap;

use iced::futures::stream::{BoxStream, StreamExt};
use tokio::sync::mpsc;
use voicecall_core::id::PeerId;
use zbus::zvariant::Value;

use super::{Event, Notifier};

/// Action keys; "default" is the spec's key for clicking the notification itself.
const ACCEPT: &str = "accept";
const DECLINE: &str = "decline";
const DEFAULT: &str = "default";

#[zbus::proxy(
    interface = "org.freedesktop.Notifications",
    default_service = "org.freedesktop.Notifications",
    default_path = "/org/freedesktop/Notifications"
)]
trait Notifications {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: &str,
        replaces_id: u32,
        app_icon: &str,
        summary: &str,
        body: &str,
        actions: &[&str],
        hints: HashMap<&str, Value<'_>>,
        expire_timeout: i32,
    ) -> zbus::Result<u32>;

    fn close_notification(&self, id: u32) -> zbus::Result<()>;

    #[zbus(signal)]
    fn action_invoked(&self, id: u32, action_key: String) -> zbus::Result<()>;

    #[zbus(signal)]
    fn notification_closed(&self, id: u32, reason: u32) -> zbus::Result<()>;
}

enum Command {
    Ring(PeerId),
    Stop,
}

/// The notifier's side of the task.
pub struct Desktop {
    commands: mpsc::UnboundedSender<Command>,
}

impl Notifier for Desktop {
    fn ring(&mut self, peer: &PeerId) {
        let _ = self.commands.send(Command::Ring(peer.clone()));
    }

    fn stop(&mut self) {
        let _ = self.commands.send(Command::Stop);
    }
}

pub fn spawn(runtime: &tokio::runtime::Handle) -> (Desktop, super::Events) {
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (events, event_rx) = mpsc::unbounded_channel();
    runtime.spawn(run(command_rx, events));
    (Desktop { commands }, event_rx)
}

/// A signal about a notification.
enum Signal {
    Action(u32, String),
    Closed(u32),
}

struct Bus {
    proxy: NotificationsProxy<'static>,
    signals: BoxStream<'static, Signal>,
}

async fn connect() -> zbus::Result<Bus> {
    let connection = zbus::Connection::session().await?;
    let proxy = NotificationsProxy::new(&connection).await?;
    // Subscribed before anything is shown, so no click can come too early.
    let actions = proxy
        .receive_action_invoked()
        .await?
        .filter_map(|signal| async move {
            let args = signal.args().ok()?;
            Some(Signal::Action(args.id, args.action_key))
        });
    let closed = proxy
        .receive_notification_closed()
        .await?
        .filter_map(|signal| async move { Some(Signal::Closed(signal.args().ok()?.id)) });
    let signals = iced::futures::stream::select(actions, closed).boxed();
    Ok(Bus { proxy, signals })
}

async fn run(mut commands: mpsc::UnboundedReceiver<Command>, events: mpsc::UnboundedSender<Event>) {
    let mut bus: Option<Bus> = None;
    // The notification up now, and who it is about.
    let mut shown: Option<(u32, PeerId)> = None;
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                None => return,
                Some(Command::Ring(peer)) => {
                    if bus.is_none() {
                        match connect().await {
                            Ok(connected) => bus = Some(connected),
                            Err(err) => {
                                tracing::warn!(%err, "no desktop notifications (session bus)");
                                continue;
                            }
                        }
                    }
                    // A clone: the stream beside it in `Bus` is Send but not Sync, so no
                    // reference to the Bus may be held across an await.
                    let Some(proxy) = bus.as_ref().map(|b| b.proxy.clone()) else { continue };
                    let replaces = shown.as_ref().map_or(0, |(id, _)| *id);
                    match show(&proxy, replaces, &peer).await {
                        Ok(id) => shown = Some((id, peer)),
                        Err(err) => tracing::warn!(%err, "the notification service refused"),
                    }
                }
                Some(Command::Stop) => {
                    let proxy = bus.as_ref().map(|b| b.proxy.clone());
                    if let (Some((id, _)), Some(proxy)) = (shown.take(), proxy) {
                        let _ = proxy.close_notification(id).await;
                    }
                }
            },
            signal = next_signal(&mut bus) => match signal {
                // The bus went away: connect again for the next call.
                None => bus = None,
                Some(Signal::Action(id, key)) if shown.as_ref().is_some_and(|(s, _)| *s == id) => {
                    let Some((_, peer)) = shown.take() else { continue };
                    let event = match key.as_str() {
                        ACCEPT => Event::Accept(peer),
                        DECLINE => Event::Decline(peer),
                        _ => {
                            // Clicking the body leaves the call ringing in the window.
                            shown = Some((id, peer));
                            Event::Show
                        }
                    };
                    if events.send(event).is_err() {
                        return;
                    }
                }
                Some(Signal::Closed(id)) if shown.as_ref().is_some_and(|(s, _)| *s == id) => {
                    shown = None;
                }
                Some(Signal::Action(..) | Signal::Closed(_)) => {}
            },
        }
    }
}

/// The next signal; never, while there is no bus.
async fn next_signal(bus: &mut Option<Bus>) -> Option<Signal> {
    match bus.as_mut() {
        Some(bus) => bus.signals.next().await,
        None => std::future::pending().await,
    }
}

async fn show(
    proxy: &NotificationsProxy<'static>,
    replaces: u32,
    peer: &PeerId,
) -> zbus::Result<u32> {
    let mut hints = HashMap::new();
    // Critical: stays up until acted on, like a ringing phone.
    hints.insert("urgency", Value::U8(2));
    hints.insert("category", Value::from("call.incoming"));
    hints.insert("desktop-entry", Value::from(crate::ui::APP_ID));
    proxy
        .notify(
            "voicecall",
            replaces,
            "voicecall",
            &format!("{peer} is calling"),
            "Incoming call on voicecall",
            &[
                ACCEPT,
                "Accept",
                DECLINE,
                "Decline",
                DEFAULT,
                "Show voicecall",
            ],
            hints,
            0,
        )
        .await
}
