//! The app: routes messages between the screens and the concerns around them (the engine
//! lifecycle, the ID, the settings file, the bundled server, tones, notices). The call
//! state shown is always the engine's `Phase`; clicks and keys become `UserCommand`s.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use iced::widget::{center, column, container};
use iced::{Element, Fill, Subscription, Task, Theme, event, window};
use voicecall_core::call::Phase;
use voicecall_core::id::PeerId;
use voicecall_engine::controller::{
    Effective, EngineEvent, Meters, Overrides, SignalingState, UserCommand,
};

use super::clipboard::Clipboard;
use super::engine::{Delivery, EngineSlot, Launcher};
use super::identity::{IdentityKeeper, print_id};
use super::notices::{self, Notices};
use super::saved::SavedSettings;
use super::screen::{Screen, ended, home, in_call, incoming, outgoing, settings};
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
}

/// Everything with side effects outside the window, swappable for tests.
pub struct Environment {
    pub launcher: Box<dyn Launcher>,
    pub clipboard: Box<dyn Clipboard>,
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
}

impl App {
    pub fn new(boot: Boot, env: Environment) -> (Self, Task<Message>) {
        let mut notices = Notices::default();
        let (saved, problem) = SavedSettings::load(&boot.config_dir);
        notices.extend(problem);
        let (identity, problem) = IdentityKeeper::load(&boot.config_dir);
        notices.extend(problem);
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
        };
        let start = app.start_engine();
        (
            app,
            Task::batch([start, iced::widget::operation::focus(home::PEER_INPUT)]),
        )
    }

    pub fn title(&self) -> String {
        match &self.screen {
            Screen::Outgoing(state) => format!("voicecall — calling {}", state.peer),
            Screen::Incoming(state) => format!("voicecall — {} is calling", state.peer),
            Screen::InCall(state) if state.since.is_none() => {
                format!("voicecall — connecting to {}", state.peer)
            }
            Screen::InCall(state) => format!("voicecall — in call with {}", state.peer),
            Screen::Home | Screen::Ended(_) | Screen::Settings(_) => "voicecall".into(),
        }
    }

    pub fn theme(&self) -> Theme {
        theme::theme()
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        let now = Instant::now();
        match message {
            Message::Engine(generation, delivery) if self.engine.is_current(generation) => {
                match delivery {
                    Delivery::Event(event) => self.on_engine_event(event, now),
                    Delivery::Stopped => self.on_engine_stopped(),
                }
            }
            Message::Engine(..) => Task::none(),
            Message::Home(message) => match self.home.update(
                message,
                home_context(self.own_id.as_ref(), &self.connection, &self.saved),
            ) {
                Some(home::Event::Call(peer)) => self.place_call(peer),
                Some(home::Event::Copy(text)) => {
                    let result = self.env.clipboard.copy(&text);
                    self.home.copied(result, now);
                    Task::none()
                }
                Some(home::Event::OpenSettings) => self.open_settings(),
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

    fn effective(&self) -> Effective {
        Effective::new(self.saved.get(), &self.overrides)
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
        let (config, problems) = effective.engine_config(self.identity.claim(&primary));
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
            EngineEvent::Verification { code } => {
                if let Screen::InCall(state) = &mut self.screen {
                    state.verification(code);
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
                let state = ended::State::new(peer, reason, media.as_ref(), now);
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
                self.screen = Screen::Outgoing(outgoing::State::new(peer, ringing));
                Task::none()
            }
            Phase::Incoming { peer, .. } => {
                if matches!(&self.screen, Screen::Incoming(state) if state.peer == peer) {
                    return Task::none();
                }
                self.screen = Screen::Incoming(incoming::State::new(peer));
                window::oldest().and_then(|id| {
                    window::request_user_attention(id, Some(window::UserAttention::Critical))
                })
            }
            Phase::Connecting { peer, .. } => {
                if !matches!(&self.screen, Screen::InCall(state) if state.peer == peer) {
                    self.screen = Screen::InCall(in_call::State::connecting(peer));
                }
                Task::none()
            }
            Phase::InCall {
                peer, since, muted, ..
            } => {
                if !matches!(&self.screen, Screen::InCall(state) if state.peer == peer) {
                    self.screen = Screen::InCall(in_call::State::connecting(peer.clone()));
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
            Screen::Outgoing(_) | Screen::Incoming(_) | Screen::InCall(_) => self.go_home(),
            Screen::Home | Screen::Ended(_) | Screen::Settings(_) => Task::none(),
        }
    }

    fn go_home(&mut self) -> Task<Message> {
        self.screen = Screen::Home;
        iced::widget::operation::focus(home::PEER_INPUT)
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
        let state = settings::State::new(self.saved.get(), &self.overrides);
        self.screen = Screen::Settings(Box::new(state));
        list_devices()
    }

    fn on_settings(&mut self, message: settings::Message) -> Task<Message> {
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
                let before = Effective::new(self.saved.get(), &self.overrides);
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
            Screen::Home | Screen::Outgoing(_) | Screen::Incoming(_) => {}
        }
        Task::none()
    }

    fn on_shortcut(&mut self, shortcut: Shortcut) -> Task<Message> {
        match (shortcut, &self.screen) {
            (Shortcut::Enter, Screen::Home) => match self.home.call(home_context(
                self.own_id.as_ref(),
                &self.connection,
                &self.saved,
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
        let body: Element<'_, Message> = match &self.screen {
            Screen::Home => self
                .home
                .view(home_context(
                    self.own_id.as_ref(),
                    &self.connection,
                    &self.saved,
                ))
                .map(Message::Home),
            Screen::Outgoing(state) => center(state.view().map(Message::Outgoing)).into(),
            Screen::Incoming(state) => center(state.view().map(Message::Incoming)).into(),
            Screen::InCall(state) => center(state.view().map(Message::InCall)).into(),
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
            Delivery::Event(event),
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
) -> home::Context<'a> {
    home::Context {
        own_id,
        online: own_id.is_some() && connection.is_connected(),
        recent: &saved.get().recent_peers,
    }
}
