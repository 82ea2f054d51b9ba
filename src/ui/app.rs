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

    // ----- the engine ---------------------------------------------------------------

    /// The settings in force; with no server set up, the bundled one where there is one.
    fn effective(&self) -> Effective {
        let mut effective = Effective::new(self.saved.get(), &self.overrides);
        effective.servers = servers_for_run(&effective.servers, self.env.bundled_server);
        effective
    }

    /// Starts (or restarts) the engine. With the local default server, whether to start
    /// the bundled one is found out first, in a task: the window never waits for it.
    fn start_engine(&mut self) -> Task<Message> {
        let primary = self
            .effective()
            .primary_server()
            .unwrap_or_default()
            .to_owned();
        self.starts += 1;
        if self.env.side_effects && self.local_server.needs_probe(&primary) {
            self.connection = Connection::Starting(primary);
            self.own_id = None;
            self.engine.retire();
            let start = self.starts;
            return Task::perform(server::something_listens(), move |listening| {
                Message::LocalServerProbed(start, listening)
            });
        }
        self.launch_engine(false)
    }

    /// `listening`: what the probe found on the local default port, if there was one.
    fn launch_engine(&mut self, listening: bool) -> Task<Message> {
        let effective = self.effective();
        let primary = effective.primary_server().unwrap_or_default().to_owned();
        self.server_status = if self.env.side_effects {
            self.local_server.ensure(&primary, listening)
        } else {
            server::Status::NotLocal
        };
        let (mut config, problems) = effective.engine_config(self.identity.claim(&primary));
        config.rtc.identity = self.dtls.clone();
        for problem in &problems {
            self.notices.push(notices::config_problem(problem));
        }
        self.tones.set_output(effective.output_spec());
        self.connection = Connection::Starting(primary);
        self.own_id = None;
        self.engine.retire();
        let link = self.env.launcher.launch(config);
        self.engine.replace(link, Message::Engine)
    }

    fn restart_engine(&mut self) -> Task<Message> {
        self.meters = None;
        self.tones.play(None);
        self.start_engine()
    }

    fn send(&mut self, command: UserCommand) {
        if !self.engine.send(command) {
            self.notices
                .push("The call engine is not running; use Retry in the status bar".into());
        }
    }

    fn on_engine_stopped(&mut self) -> Task<Message> {
        self.engine.stopped();
        if self.quitting {
            return Task::none();
        }
        self.connection = Connection::Stopped;
        self.meters = None;
        self.tones.play(None);
        self.notices.push(notices::ENGINE_STOPPED.into());
        self.leave_call_screens()
    }

    fn on_engine_event(&mut self, event: EngineEvent, now: Instant) -> Task<Message> {
        match event {
            EngineEvent::Registered { id, token, .. } => {
                self.registered(id, &token);
                Task::none()
            }
            EngineEvent::Signaling { state, detail } => {
                let refused = matches!(state, SignalingState::Refused(_));
                self.connection = Connection::Reported(state, detail);
                // Our remembered ID is held elsewhere (another copy of the app?).
                if refused && let Some(claimed) = self.identity.refused() {
                    self.notices.push(notices::id_refused(&claimed));
                    return self.restart_engine();
                }
                Task::none()
            }
            EngineEvent::Phase(phase) => self.route(phase, now),
            EngineEvent::Tone(tone) => {
                self.tones.play(tone);
                Task::none()
            }
            EngineEvent::MediaStarted { meters } => {
                self.meters = Some(meters);
                Task::none()
            }
            EngineEvent::MediaPath { up } => {
                if let Screen::InCall(state) = &mut self.screen {
                    state.media_path(up);
                }
                Task::none()
            }
            EngineEvent::FirstAudio { .. } => Task::none(),
            EngineEvent::PeerCertificate { peer, fingerprint } => {
                let trust = self.contacts.trust(&peer, &fingerprint);
                let name = self.contacts.name_of(&peer);
                self.security = Some(security::State::new(peer, name, fingerprint, trust));
                Task::none()
            }
            EngineEvent::Verification(verification) => {
                if let Some(state) = &mut self.security {
                    state.verification(verification);
                }
                Task::none()
            }
            EngineEvent::Stats { rtc, .. } => {
                if let Screen::InCall(state) = &mut self.screen {
                    state.stats(rtc, now);
                }
                Task::none()
            }
            EngineEvent::Ended {
                peer,
                reason,
                media,
            } => {
                self.meters = None;
                self.security = None;
                let name = self.contacts.name_of(&peer);
                let state = ended::State::new(peer, reason, media.as_ref(), now).named(name);
                self.screen = Screen::Ended(state);
                Task::none()
            }
            EngineEvent::RejectedBusy { peer } => {
                self.notices.push(notices::rejected_busy(&peer));
                Task::none()
            }
            EngineEvent::DeviceSwitched(switch) => {
                self.notices.push(notices::device_switched(&switch));
                Task::none()
            }
            EngineEvent::Warning(warning) => {
                self.notices.push(warning.to_string());
                Task::none()
            }
        }
    }

    /// The server gave us `id` (again after every reconnect).
    fn registered(&mut self, id: PeerId, token: &str) {
        if self.own_id.as_ref() != Some(&id) {
            print_id(&id);
        }
        let primary = self
            .effective()
            .primary_server()
            .unwrap_or_default()
            .to_owned();
        if let Err(err) = self.identity.granted(&primary, &id, token) {
            self.notices
                .push(format!("Could not remember your ID for next time: {err}"));
        }
        self.own_id = Some(id);
        if !self.connection.is_connected() {
            self.connection = Connection::Reported(SignalingState::Connected, primary);
        }
    }

    fn quit(&mut self) -> Task<Message> {
        if self.quitting {
            return Task::none();
        }
        self.quitting = true;
        tracing::debug!("quitting: hanging up and leaving the server");
        self.tones.play(None);
        self.engine.shut_down().map(|()| Message::Exit)
    }

    // ----- screens ------------------------------------------------------------------

    /// Shows the screen for the engine's phase.
    fn route(&mut self, phase: Phase, now: Instant) -> Task<Message> {
        match phase {
            Phase::Idle => self.leave_call_screens(),
            Phase::Outgoing { peer, ringing, .. } => {
                let name = self.contacts.name_of(&peer);
                self.screen = Screen::Outgoing(outgoing::State::new(peer, ringing).named(name));
                Task::none()
            }
            Phase::Incoming { peer, .. } => {
                if matches!(&self.screen, Screen::Incoming(state) if state.peer == peer) {
                    return Task::none();
                }
                if !self.focused {
                    self.env.notifier.ring(&peer);
                    self.notified = true;
                }
                let name = self.contacts.name_of(&peer);
                self.screen = Screen::Incoming(incoming::State::new(peer).named(name));
                window::oldest().and_then(|id| {
                    window::request_user_attention(id, Some(window::UserAttention::Critical))
                })
            }
            Phase::Connecting { peer, .. } => {
                if !matches!(&self.screen, Screen::InCall(state) if state.peer == peer) {
                    let name = self.contacts.name_of(&peer);
                    self.screen = Screen::InCall(in_call::State::connecting(peer).named(name));
                }
                Task::none()
            }
            Phase::InCall {
                peer, since, muted, ..
            } => {
                if !matches!(&self.screen, Screen::InCall(state) if state.peer == peer) {
                    let name = self.contacts.name_of(&peer);
                    self.screen =
                        Screen::InCall(in_call::State::connecting(peer.clone()).named(name));
                }
                let Screen::InCall(state) = &mut self.screen else {
                    return Task::none();
                };
                let answered = state.since.is_none();
                state.in_call(since, muted, now);
                if answered {
                    self.remember_peer(&peer);
                }
                Task::none()
            }
        }
    }

    /// Home, if a call screen is up (the call it shows is gone).
    fn leave_call_screens(&mut self) -> Task<Message> {
        match self.screen {
            Screen::Outgoing(_) | Screen::Incoming(_) | Screen::InCall(_) => {
                self.security = None;
                self.go_home()
            }
            Screen::Home
            | Screen::Ended(_)
            | Screen::Settings(_)
            | Screen::Contacts(_)
            | Screen::Welcome(_)
            | Screen::CallLink(_) => Task::none(),
        }
    }

    /// Home; or the call link opened during the call; or Welcome while no server is set up.
    fn go_home(&mut self) -> Task<Message> {
        if let Some(link) = self.pending_link.take() {
            return self.show_link(link);
        }
        if self.effective().servers.is_empty() {
            self.screen = Screen::Welcome(welcome::State::default());
            return iced::widget::operation::focus(welcome::SERVER_INPUT);
        }
        self.screen = Screen::Home;
        iced::widget::operation::focus(home::PEER_INPUT)
    }

    // ----- call links, the welcome screen, notifications ----------------------------

    /// A call link from the command line or a later launch: checked, then shown (after
    /// the call, if one is going on). The window comes forward either way.
    fn open_link(&mut self, text: &str) -> Task<Message> {
        let link = match CallLink::parse(text) {
            Ok(link) => link,
            Err(err) => {
                self.notices
                    .push(format!("Could not open the call link: {err}"));
                return raise_window();
            }
        };
        let current = self.effective().servers;
        if Some(&link.peer) == self.own_id.as_ref()
            && link.first_step(&current) == LinkStep::Confirm
        {
            self.notices.push(format!(
                "That call link is yours ({}): send it to the person who should call you",
                link.peer
            ));
            return raise_window();
        }
        let busy = matches!(
            self.screen,
            Screen::Outgoing(_) | Screen::Incoming(_) | Screen::InCall(_)
        );
        if busy {
            self.notices.push(format!(
                "The call link to {} opens when this call is over",
                link.peer
            ));
            self.pending_link = Some(link);
            return raise_window();
        }
        Task::batch([self.show_link(link), raise_window()])
    }

    fn show_link(&mut self, link: CallLink) -> Task<Message> {
        self.home.fill(&link.peer);
        let current = self.effective().servers;
        self.screen = Screen::CallLink(call_link::State::new(link, &current));
        Task::none()
    }

    fn on_call_link(&mut self, message: call_link::Message) -> Task<Message> {
        let online = self.own_id.is_some() && self.connection.is_connected();
        let effective = self.effective();
        let context = call_link::Context {
            online,
            server: effective.primary_server(),
        };
        let Screen::CallLink(state) = &mut self.screen else {
            return Task::none();
        };
        match state.update(message, context) {
            Some(call_link::Event::UseServer(server)) => {
                let mut new = self.saved.get().clone();
                new.servers = vec![server];
                if let Err(err) = self.saved.replace(new) {
                    self.notices
                        .push(format!("Could not save the server: {err}"));
                    return Task::none();
                }
                state.server_switched();
                // The person chose this server: it wins over the command line's for the
                // rest of this run.
                self.overrides.servers.clear();
                self.identity.settings_changed();
                self.restart_engine()
            }
            Some(call_link::Event::Call(peer)) => self.place_call(peer),
            Some(call_link::Event::Cancel) => self.go_home(),
            None => Task::none(),
        }
    }

    fn on_welcome(&mut self, message: welcome::Message) -> Task<Message> {
        let Screen::Welcome(state) = &mut self.screen else {
            return Task::none();
        };
        let Some(welcome::Event::Connect(servers)) = state.update(message) else {
            return Task::none();
        };
        let mut new = self.saved.get().clone();
        new.servers = servers;
        if let Err(err) = self.saved.replace(new) {
            state.save_failed(format!("Could not save: {err}"));
            return Task::none();
        }
        self.identity.settings_changed();
        let home = self.go_home();
        Task::batch([self.start_engine(), home])
    }

    fn on_notification(&mut self, event: notify::Event) -> Task<Message> {
        let ringing =
            |peer: &PeerId| matches!(&self.screen, Screen::Incoming(state) if state.peer == *peer);
        match event {
            notify::Event::Accept(peer) if ringing(&peer) => {
                self.notified = false;
                self.send(UserCommand::Accept);
                raise_window()
            }
            notify::Event::Decline(peer) if ringing(&peer) => {
                self.notified = false;
                self.send(UserCommand::Decline);
                Task::none()
            }
            notify::Event::Show => raise_window(),
            notify::Event::Accept(_) | notify::Event::Decline(_) => Task::none(),
        }
    }

    /// Takes the notification down once its call no longer rings.
    fn withdraw_notification(&mut self) {
        if self.notified && !matches!(self.screen, Screen::Incoming(_)) {
            self.notified = false;
            self.env.notifier.stop();
        }
    }

    fn place_call(&mut self, peer: PeerId) -> Task<Message> {
        self.send(UserCommand::Call(peer.clone()));
        self.remember_peer(&peer);
        Task::none()
    }

    fn remember_peer(&mut self, peer: &PeerId) {
        self.notices.extend(self.saved.remember_peer(peer));
    }

    fn open_settings(&mut self) -> Task<Message> {
        // With no server saved, show the bundled one in use, so Save keeps it.
        let mut shown = self.saved.get().clone();
        shown.servers = servers_for_run(&shown.servers, self.env.bundled_server);
        let state = settings::State::new(&shown, &self.overrides);
        self.screen = Screen::Settings(Box::new(state));
        list_devices()
    }

    fn on_settings(&mut self, message: settings::Message) -> Task<Message> {
        let before = self.effective();
        let Screen::Settings(state) = &mut self.screen else {
            return Task::none();
        };
        // The tests report at the bottom of the page: bring it into view.
        let reveal = matches!(
            message,
            settings::Message::ToggleMicTest | settings::Message::TestSpeaker
        );
        match state.update(message, self.saved.get()) {
            Some(settings::Event::Save(new)) => {
                if let Err(err) = self.saved.replace(new) {
                    state.save_failed(format!("Could not save: {err}"));
                    return Task::none();
                }
                let home = self.go_home();
                if self.effective() == before {
                    return home;
                }
                self.identity.settings_changed();
                Task::batch([home, self.restart_engine()])
            }
            Some(settings::Event::Cancel) => self.go_home(),
            None if reveal => iced::widget::operation::snap_to_end(settings::PAGE),
            None => Task::none(),
        }
    }

    fn open_contacts(&mut self, state: contacts::State) -> Task<Message> {
        let focus_name = !state.is_empty_form();
        self.screen = Screen::Contacts(state);
        if focus_name {
            iced::widget::operation::focus(contacts::NAME_INPUT)
        } else {
            Task::none()
        }
    }

    fn on_contacts(&mut self, message: contacts::Message) -> Task<Message> {
        let Screen::Contacts(state) = &mut self.screen else {
            return Task::none();
        };
        let result = match state.update(message) {
            Some(contacts::Event::Save { id, name }) => self.contacts.save(&id, &name),
            Some(contacts::Event::Remove(id)) => self.contacts.remove(&id),
            Some(contacts::Event::Unverify(id)) => self.contacts.unverify(&id),
            Some(contacts::Event::Call(peer)) => return self.place_call(peer),
            Some(contacts::Event::Back) => return self.go_home(),
            None => return Task::none(),
        };
        if let Screen::Contacts(state) = &mut self.screen {
            state.done(result);
        }
        Task::none()
    }

    /// "Codes match": the contact is verified and its certificate pinned.
    fn on_security(&mut self, message: security::Message) -> Task<Message> {
        let Some(state) = &mut self.security else {
            return Task::none();
        };
        let Some(security::Event::CodesMatch { peer, fingerprint }) = state.update(message) else {
            return Task::none();
        };
        match self.contacts.verify(&peer, &fingerprint) {
            Ok(()) => {
                let name = self.contacts.name_of(&peer);
                if let Some(state) = &mut self.security {
                    state.verified(name);
                }
            }
            Err(problem) => self.notices.push(problem),
        }
        Task::none()
    }

    fn tick(&mut self, now: Instant) -> Task<Message> {
        self.home.tick(now);
        self.tones.poll();
        self.notices.extend(self.local_server.check());
        match &mut self.screen {
            Screen::InCall(state) => {
                let levels = self.meters.as_ref().map(|meters| meters.0.as_ref());
                state.tick(now, levels);
            }
            Screen::Ended(state) => {
                if state.tick(now).is_some() {
                    return self.go_home();
                }
            }
            Screen::Settings(state) => {
                state.tick(now);
                if state.relist_due(now) {
                    return list_devices();
                }
            }
            Screen::Home
            | Screen::Outgoing(_)
            | Screen::Incoming(_)
            | Screen::Contacts(_)
            | Screen::Welcome(_)
            | Screen::CallLink(_) => {}
        }
        Task::none()
    }

    fn on_shortcut(&mut self, shortcut: Shortcut) -> Task<Message> {
        match (shortcut, &self.screen) {
            (Shortcut::Enter, Screen::Home) => match self.home.call(home_context(
                self.own_id.as_ref(),
                &self.connection,
                &self.saved,
                &self.contacts,
            )) {
                Some(home::Event::Call(peer)) => self.place_call(peer),
                _ => Task::none(),
            },
            (Shortcut::Enter, Screen::Incoming(_)) => {
                self.send(UserCommand::Accept);
                Task::none()
            }
            (Shortcut::Enter | Shortcut::Escape, Screen::Ended(_)) => self.go_home(),
            (Shortcut::Escape, Screen::Outgoing(_) | Screen::InCall(_)) => {
                self.send(UserCommand::Hangup);
                Task::none()
            }
            (Shortcut::Escape, Screen::Incoming(_)) => {
                self.send(UserCommand::Decline);
                Task::none()
            }
            (Shortcut::Escape, Screen::Settings(_)) => self.on_settings(settings::Message::Cancel),
            (Shortcut::Escape, Screen::Contacts(_)) => self.go_home(),
            (Shortcut::Enter, Screen::CallLink(_)) => self.on_call_link(call_link::Message::Call),
            (Shortcut::Escape, Screen::CallLink(_)) => {
                self.on_call_link(call_link::Message::Cancel)
            }
            (Shortcut::Enter, Screen::Welcome(_)) => self.on_welcome(welcome::Message::Connect),
            (Shortcut::ToggleMute, Screen::InCall(state)) if state.since.is_some() => {
                let muted = !state.muted;
                self.send(UserCommand::SetMuted(muted));
                Task::none()
            }
            _ => Task::none(),
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
