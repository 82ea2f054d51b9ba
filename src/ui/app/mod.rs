//! The app: routes messages between the screens and the concerns around them (the engine
//! lifecycle, the ID, the settings file, the bundled server, tones, notices, call links
//! handed over by later launches, incoming-call notifications). The call state shown is
//! always the engine's `Phase`; clicks and keys become `UserCommand`s.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use iced::futures::stream;
use iced::widget::{center, column, container};
use iced::{Element, Fill, Subscription, Task, Theme, event, window};
use tokio::sync::mpsc;
use voicecall_core::call::Phase;
use voicecall_core::config::servers_for_run;
use voicecall_core::id::PeerId;
use voicecall_core::link::{CallLink, LinkStep};
use voicecall_engine::controller::{
    Effective, EngineEvent, Meters, Overrides, SignalingState, UserCommand,
};
use voicecall_engine::rtc::{DtlsIdentity, IdentitySource};

use super::clipboard::Clipboard;
use super::contacts::ContactBook;
use super::engine::{Delivery, EngineSlot, Launcher};
use super::identity::{IdentityKeeper, print_id};
use super::instance::{self, Requests};
use super::notices::{self, Notices};
use super::notify::{self, Notifier};
use super::saved::SavedSettings;
use super::screen::{
    Screen, call_link, contacts, ended, home, in_call, incoming, outgoing, security, settings,
    welcome,
};
use super::server::{self, LocalServer};
use super::shortcut::{self, Shortcut};
use super::sound::TonePlayer;
use super::status::{self, Connection};
use super::{signals, theme};

mod engine_life;
mod input;
mod links;
mod routing;

const FRAME_INTERVAL: Duration = Duration::from_millis(33);
const SLOW_TICK: Duration = Duration::from_millis(250);

/// Where the app keeps its files and what the command line overrides.
pub struct Boot {
    pub config_dir: PathBuf,
    pub overrides: Overrides,
    /// A call link from the command line.
    pub link: Option<String>,
}

/// Everything with side effects outside the window, swappable for tests.
pub struct Environment {
    pub launcher: Box<dyn Launcher>,
    pub clipboard: Box<dyn Clipboard>,
    pub notifier: Box<dyn Notifier>,
    /// What later launches hand over (single instance), for the app's lifetime.
    pub requests: Option<Requests>,
    /// What the person did with notifications.
    pub notifications: Option<notify::Events>,
    /// Running from a checkout with a bundled server to start: with no server set up, the
    /// app uses it. Without one (an installed app) it asks for a server instead.
    pub bundled_server: bool,
    /// Play tones and start the bundled server (off in unit tests).
    pub side_effects: bool,
}

#[derive(Debug, Clone)]
pub enum Message {
    /// From the engine started as `generation`.
    Engine(u64, Delivery),
    Home(home::Message),
    Outgoing(outgoing::Message),
    Incoming(incoming::Message),
    InCall(in_call::Message),
    Ended(ended::Message),
    Settings(settings::Message),
    Contacts(contacts::Message),
    Security(security::Message),
    Welcome(welcome::Message),
    CallLink(call_link::Message),
    /// A later launch's request, handed over through the instance socket.
    Instance(instance::Request),
    Notification(notify::Event),
    /// The window gained (true) or lost the keyboard focus.
    Focused(bool),
    Tick(Instant),
    Shortcut(Shortcut),
    DismissNotices,
    RestartEngine,
    /// Whether something listens on the local default port (the probe for starting the
    /// bundled server), for the engine start numbered as given.
    LocalServerProbed(u64, bool),
    /// The window is closing or the process was asked to stop: hang up, then exit.
    Quit,
    Exit,
}

pub struct App {
    env: Environment,
    pub(super) saved: SavedSettings,
    overrides: Overrides,
    identity: IdentityKeeper,
    pub(super) engine: EngineSlot,
    quitting: bool,
    own_id: Option<PeerId>,
    connection: Connection,
    server_status: server::Status,
    local_server: LocalServer,
    /// Counts engine starts: a probe answer for an older one is ignored.
    starts: u64,
    meters: Option<Meters>,
    pub(super) screen: Screen,
    pub(super) home: home::State,
    pub(super) notices: Notices,
    tones: TonePlayer,
    pub(super) contacts: ContactBook,
    /// The live call's peer certificate, its trust and its security code.
    pub(super) security: Option<security::State>,
    /// This installation's DTLS certificate, the same for every call (`None`: none could
    /// be made; each call then gets a fresh one).
    dtls: Option<DtlsIdentity>,
    /// Whether the window has the keyboard focus: a call that rings while it has not is
    /// announced with a notification too.
    focused: bool,
    /// A notification is up for the ringing call.
    notified: bool,
    /// A call link opened during a call, shown when the call is over.
    pending_link: Option<CallLink>,
}

impl App {
    pub fn new(boot: Boot, mut env: Environment) -> (Self, Task<Message>) {
        let mut listening = Vec::new();
        if let Some(requests) = env.requests.take() {
            listening.push(listen(requests, Message::Instance));
        }
        if let Some(notifications) = env.notifications.take() {
            listening.push(listen(notifications, Message::Notification));
        }
        let mut notices = Notices::default();
        let (saved, problem) = SavedSettings::load(&boot.config_dir);
        notices.extend(problem);
        let (identity, problem) = IdentityKeeper::load(&boot.config_dir);
        notices.extend(problem);
        let (contacts, problem) = ContactBook::load(&boot.config_dir);
        notices.extend(problem);
        let dtls = match DtlsIdentity::load_or_create(&boot.config_dir) {
            Ok((dtls, IdentitySource::Replaced { reason, .. })) => {
                notices.push(format!(
                    "Your security key file was unusable ({reason}) and was replaced: contacts \
                     who verified you will be warned of a changed key."
                ));
                Some(dtls)
            }
            Ok((dtls, _)) => Some(dtls),
            Err(err) => {
                notices.push(format!("{err}; each call gets a new key"));
                None
            }
        };
        let effective = Effective::new(saved.get(), &boot.overrides);
        let tones = TonePlayer::new(env.side_effects, effective.output_spec());
        let mut app = Self {
            env,
            saved,
            overrides: boot.overrides,
            identity,
            engine: EngineSlot::default(),
            quitting: false,
            own_id: None,
            connection: Connection::Stopped,
            server_status: server::Status::NotLocal,
            local_server: LocalServer::default(),
            starts: 0,
            meters: None,
            screen: Screen::Home,
            home: home::State::default(),
            notices,
            tones,
            contacts,
            security: None,
            dtls,
            focused: false,
            notified: false,
            pending_link: None,
        };
        let start = if app.effective().servers.is_empty() {
            app.connection = Connection::Starting(String::new());
            app.go_home()
        } else {
            Task::batch([
                app.start_engine(),
                iced::widget::operation::focus(home::PEER_INPUT),
            ])
        };
        listening.push(start);
        if let Some(link) = &boot.link {
            listening.push(app.open_link(link));
        }
        (app, Task::batch(listening))
    }

    pub fn title(&self) -> String {
        let label = |peer: &PeerId| self.contacts.label(peer);
        match &self.screen {
            Screen::Outgoing(state) => format!("voicecall — calling {}", label(&state.peer)),
            Screen::Incoming(state) => format!("voicecall — {} is calling", label(&state.peer)),
            Screen::InCall(state) if state.since.is_none() => {
                format!("voicecall — connecting to {}", label(&state.peer))
            }
            Screen::InCall(state) => format!("voicecall — in call with {}", label(&state.peer)),
            Screen::Home | Screen::Ended(_) | Screen::Settings(_) | Screen::Contacts(_) => {
                "voicecall".into()
            }
            Screen::CallLink(state) => state.title(),
            Screen::Welcome(_) => "voicecall".into(),
        }
    }

    pub fn theme(&self) -> Theme {
        theme::theme()
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        let now = Instant::now();
        match message {
            Message::Engine(generation, delivery) if self.engine.is_current(generation) => {
                let task = match delivery {
                    Delivery::Event(event) => self.on_engine_event(*event, now),
                    Delivery::Stopped => self.on_engine_stopped(),
                };
                self.withdraw_notification();
                task
            }
            Message::Engine(..) => Task::none(),
            Message::Home(message) => match self.home.update(
                message,
                home_context(
                    self.own_id.as_ref(),
                    &self.connection,
                    &self.saved,
                    &self.contacts,
                ),
            ) {
                Some(home::Event::Call(peer)) => self.place_call(peer),
                Some(home::Event::Copy(text)) => {
                    let result = self.env.clipboard.copy(&text);
                    self.home.copied(result, now);
                    Task::none()
                }
                Some(home::Event::CopyLink) => {
                    let Some(id) = self.own_id.clone() else {
                        return Task::none();
                    };
                    let link = CallLink::new(id, self.effective().primary_server());
                    let result = self.env.clipboard.copy(&link.to_string());
                    self.home.copied(result, now);
                    Task::none()
                }
                Some(home::Event::OpenSettings) => self.open_settings(),
                Some(home::Event::OpenContacts) => self.open_contacts(contacts::State::default()),
                Some(home::Event::SaveContact(id)) => {
                    self.open_contacts(contacts::State::adding(&id))
                }
                None => Task::none(),
            },
            Message::Outgoing(message) => {
                if let Screen::Outgoing(state) = &mut self.screen
                    && let Some(outgoing::Event::Cancel) = state.update(message)
                {
                    self.send(UserCommand::Hangup);
                }
                Task::none()
            }
            Message::Incoming(message) => {
                let event = match &mut self.screen {
                    Screen::Incoming(state) => state.update(message),
                    _ => None,
                };
                match event {
                    Some(incoming::Event::Accept) => self.send(UserCommand::Accept),
                    Some(incoming::Event::Decline) => self.send(UserCommand::Decline),
                    None => {}
                }
                Task::none()
            }
            Message::InCall(message) => {
                let event = match &mut self.screen {
                    Screen::InCall(state) => state.update(message),
                    _ => None,
                };
                match event {
                    Some(in_call::Event::SetMuted(muted)) => {
                        self.send(UserCommand::SetMuted(muted))
                    }
                    Some(in_call::Event::Hangup) => self.send(UserCommand::Hangup),
                    None => {}
                }
                Task::none()
            }
            Message::Ended(message) => {
                let event = match &mut self.screen {
                    Screen::Ended(state) => state.update(message),
                    _ => None,
                };
                match event {
                    Some(ended::Event::Done) => self.go_home(),
                    None => Task::none(),
                }
            }
            Message::Settings(message) => self.on_settings(message),
            Message::Contacts(message) => self.on_contacts(message),
            Message::Security(message) => self.on_security(message),
            Message::Welcome(message) => self.on_welcome(message),
            Message::CallLink(message) => self.on_call_link(message),
            Message::Instance(instance::Request::Open(link)) => self.open_link(&link),
            Message::Instance(instance::Request::Show) => raise_window(),
            Message::Notification(event) => self.on_notification(event),
            Message::Focused(focused) => {
                self.focused = focused;
                Task::none()
            }
            Message::Tick(now) => self.tick(now),
            Message::Shortcut(shortcut) => self.on_shortcut(shortcut),
            Message::DismissNotices => {
                self.notices.dismiss();
                Task::none()
            }
            Message::RestartEngine => self.restart_engine(),
            Message::LocalServerProbed(start, listening) if start == self.starts => {
                self.launch_engine(listening)
            }
            Message::LocalServerProbed(..) => Task::none(),
            Message::Quit => self.quit(),
            Message::Exit => {
                tracing::debug!("engine stopped; closing the window");
                self.local_server.stop();
                iced::exit()
            }
        }
    }

    pub fn subscription(&self) -> Subscription<Message> {
        let mut subscriptions = vec![
            event::listen_with(shortcut::from_event).map(Message::Shortcut),
            event::listen_with(focus_change).map(Message::Focused),
            window::close_requests().map(|_| Message::Quit),
            Subscription::run(signals::termination).map(|()| Message::Quit),
        ];
        let frames = match &self.screen {
            Screen::InCall(_) => true,
            Screen::Settings(state) => state.wants_frames(),
            _ => false,
        };
        let slow = matches!(self.screen, Screen::Ended(_) | Screen::Settings(_))
            || self.home.wants_tick()
            || self.tones.current().is_some()
            || matches!(self.server_status, server::Status::Started(_));
        if frames {
            subscriptions.push(iced::time::every(FRAME_INTERVAL).map(Message::Tick));
        } else if slow {
            subscriptions.push(iced::time::every(SLOW_TICK).map(Message::Tick));
        }
        Subscription::batch(subscriptions)
    }

    pub fn view(&self) -> Element<'_, Message> {
        let effective = self.effective();
        let body: Element<'_, Message> = match &self.screen {
            Screen::Home => self
                .home
                .view(home_context(
                    self.own_id.as_ref(),
                    &self.connection,
                    &self.saved,
                    &self.contacts,
                ))
                .map(Message::Home),
            Screen::Welcome(state) => state.view().map(Message::Welcome),
            Screen::CallLink(state) => center(
                state
                    .view(call_link::Context {
                        online: self.own_id.is_some() && self.connection.is_connected(),
                        server: effective.primary_server(),
                    })
                    .map(Message::CallLink),
            )
            .into(),
            Screen::Outgoing(state) => center(state.view().map(Message::Outgoing)).into(),
            Screen::Incoming(state) => {
                let mut screen = column![state.view().map(Message::Incoming)]
                    .spacing(16)
                    .align_x(iced::Center);
                if let Some(security) = self.security.as_ref().filter(|s| s.peer == state.peer) {
                    screen = screen.push(security.view_incoming().map(Message::Security));
                }
                center(screen).into()
            }
            Screen::InCall(state) => {
                let mut screen = column![state.view().map(Message::InCall)].spacing(14);
                if let Some(security) = self.security.as_ref().filter(|s| s.peer == state.peer) {
                    screen = screen.push(security.view().map(Message::Security));
                }
                center(screen).into()
            }
            Screen::Contacts(state) => state
                .view(
                    self.contacts.list(),
                    self.own_id.is_some() && self.connection.is_connected(),
                )
                .map(Message::Contacts),
            Screen::Ended(state) => center(state.view().map(Message::Ended)).into(),
            Screen::Settings(state) => state.view().map(Message::Settings),
        };
        let mut page = column![].spacing(12).padding(20).height(Fill);
        if !self.notices.is_empty() {
            page = page.push(self.notices.view(Message::DismissNotices));
        }
        page = page.push(container(body).height(Fill).width(Fill));
        let bar = status::bar(
            &self.connection,
            &self.server_status,
            Message::RestartEngine,
        );
        column![page, bar].into()
    }

    #[cfg(test)]
    pub(super) fn engine_event(&mut self, event: EngineEvent) -> Task<Message> {
        self.update(Message::Engine(
            self.engine.generation(),
            Delivery::Event(Box::new(event)),
        ))
    }
}

/// Lists the audio devices off the UI thread (slow on some systems).
fn list_devices() -> Task<Message> {
    Task::perform(
        async {
            tokio::task::spawn_blocking(settings::list_devices)
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
        },
        |result| Message::Settings(settings::Message::DevicesListed(result)),
    )
}

/// What Home shows but does not own. Takes fields, not the app, so that `self.home` can be
/// borrowed mutably beside it.
fn home_context<'a>(
    own_id: Option<&'a PeerId>,
    connection: &Connection,
    saved: &'a SavedSettings,
    contacts: &'a ContactBook,
) -> home::Context<'a> {
    home::Context {
        own_id,
        online: own_id.is_some() && connection.is_connected(),
        recent: &saved.get().recent_peers,
        contacts: contacts.store(),
    }
}

/// Brings the window to the front (a call link arrived, a notification was clicked).
fn raise_window() -> Task<Message> {
    window::oldest().and_then(window::gain_focus)
}

/// The window's focus changes.
fn focus_change(event: iced::Event, _status: event::Status, _window: window::Id) -> Option<bool> {
    match event {
        iced::Event::Window(window::Event::Focused) => Some(true),
        iced::Event::Window(window::Event::Unfocused) => Some(false),
        _ => None,
    }
}

/// Messages from a channel that lives as long as the app.
fn listen<T: Send + 'static>(
    receiver: mpsc::UnboundedReceiver<T>,
    to_message: fn(T) -> Message,
) -> Task<Message> {
    let items = stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    Task::run(items, to_message)
}
