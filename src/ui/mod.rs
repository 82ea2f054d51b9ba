//! The desktop app (iced). It routes between screens, bridges to the call engine and shows
//! what the engine reports; every decision about the call itself is the engine's.
//!
//! The call state shown is always the engine's `Phase`; the app only turns clicks and keys
//! into `UserCommand`s and phases into screens.

mod args;
mod clipboard;
mod config;
mod engine;
mod screen;
mod server;
mod sound;
mod theme;
mod widget;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use iced::event;
use iced::futures::Stream;
use iced::futures::stream;
use iced::keyboard::{self, Key, key};
use iced::widget::{button, center, column, container, row, text};
use iced::{Center, Element, Fill, Size, Subscription, Task, Theme, window};
use tokio::task::JoinHandle;
use voicecall_core::call::{EndReason, Phase};
use voicecall_core::config::{IdentityStore, Settings};
use voicecall_core::id::PeerId;
use voicecall_core::quality::MediaSummary;
use voicecall_engine::controller::{EngineEvent, SignalingState, UserCommand};

pub use args::GuiArgs;

use args::Overrides;
use clipboard::{Clipboard, SystemClipboard};
use config::Effective;
use engine::{CommandSink, Delivery, Launcher, TokioLauncher};
use screen::{ended, home, in_call, incoming, outgoing, settings};
use server::LocalServer;
use sound::TonePlayer;

/// At most this many problems are listed at the top of the window.
const MAX_NOTICES: usize = 4;
/// How long the app waits on exit for the engine to hang up and leave the server.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
const FRAME_INTERVAL: Duration = Duration::from_millis(33);
const SLOW_TICK: Duration = Duration::from_millis(250);

/// Opens the window and runs until it is closed.
pub fn run(args: GuiArgs) -> ExitCode {
    if let Err(why) = check_display() {
        eprintln!("voicecall: {why}");
        return ExitCode::from(1);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("voicecall-engine")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("voicecall: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let config_dir = args
        .config_dir
        .clone()
        .unwrap_or_else(voicecall_core::config::config_dir);
    let overrides = Overrides::from(&args);
    let engine_runtime = runtime.handle().clone();
    let boot = move || {
        App::new(
            Boot {
                config_dir: config_dir.clone(),
                overrides: overrides.clone(),
            },
            Environment {
                launcher: Box::new(TokioLauncher::new(engine_runtime.clone())),
                clipboard: Box::new(SystemClipboard::default()),
                side_effects: true,
            },
        )
    };
    let mut window = window::Settings {
        size: Size::new(560.0, 720.0),
        min_size: Some(Size::new(440.0, 560.0)),
        exit_on_close_request: false,
        ..window::Settings::default()
    };
    window.platform_specific.application_id = "voicecall".into();
    let application = iced::application(boot, App::update, App::view)
        .title(App::title)
        .subscription(App::subscription)
        .theme(App::theme)
        .window(window);
    // iced panics when it cannot reach the display server at all; say so in one line.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| application.run()))
        .map_err(|_| "the window system refused to open a window (details above)".to_owned())
        .and_then(|result| result.map_err(|e| e.to_string()));
    // The engine was already stopped and awaited on the way out; what is left are idle
    // connection tasks.
    runtime.shutdown_timeout(Duration::from_millis(300));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("voicecall: cannot open the window: {err}");
            ExitCode::from(1)
        }
    }
}

/// Fails with a readable reason when there is no display to open a window on.
fn check_display() -> Result<(), String> {
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        if !set("DISPLAY") && !set("WAYLAND_DISPLAY") && !set("WAYLAND_SOCKET") {
            return Err(
                "no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY \
                 is set); use `voicecall listen` or `voicecall call` without one"
                    .into(),
            );
        }
    }
    Ok(())
}

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

/// The engine currently in use.
struct Running {
    commands: Box<dyn CommandSink>,
}

/// The signaling connection, as the status line shows it.
#[derive(Debug, Clone, PartialEq)]
enum Signaling {
    /// The engine was (re)started and has not reported yet.
    Starting(String),
    Reported(SignalingState, String),
    /// The engine task ended.
    Stopped,
}

pub enum Screen {
    Home,
    Outgoing(outgoing::State),
    Incoming(incoming::State),
    InCall(in_call::State),
    Ended(ended::State),
    Settings(Box<settings::State>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    /// Enter: call (Home) or accept (incoming).
    Enter,
    /// Esc: cancel, decline, hang up, close.
    Escape,
    /// Ctrl+M.
    ToggleMute,
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
    /// The window is closing or the process was asked to stop: hang up, then exit.
    Quit,
    Exit,
}

pub struct App {
    env: Environment,
    config_dir: PathBuf,
    settings: Settings,
    /// False when `settings.toml` could not be read: nothing is then written behind the
    /// person's back (only an explicit Save replaces the file).
    settings_writable: bool,
    overrides: Overrides,
    identities: Option<IdentityStore>,
    /// Do not claim the remembered ID (the server refused it).
    fresh_identity: bool,
    claimed: Option<PeerId>,
    engine: Option<Running>,
    generation: u64,
    engine_tasks: Vec<JoinHandle<()>>,
    quitting: bool,
    own_id: Option<PeerId>,
    signaling: Signaling,
    server_status: server::Status,
    local_server: LocalServer,
    phase: Phase,
    meters: Option<voicecall_engine::controller::Meters>,
    screen: Screen,
    home: home::State,
    notices: Vec<String>,
    tones: TonePlayer,
}

impl App {
    pub fn new(boot: Boot, env: Environment) -> (Self, Task<Message>) {
        let mut notices = Vec::new();
        let (settings, settings_writable) = match Settings::load(&boot.config_dir) {
            Ok(settings) => (settings, true),
            Err(err) => {
                notices.push(format!(
                    "{err}. Using default settings for now; Save in Settings replaces the file."
                ));
                (Settings::default(), false)
            }
        };
        let identities = match IdentityStore::load(&boot.config_dir) {
            Ok(store) => Some(store),
            Err(err) => {
                notices.push(format!(
                    "{err}. You get a new ID this time; delete the file to start afresh."
                ));
                None
            }
        };
        let effective = Effective::new(&settings, &boot.overrides);
        let tones = TonePlayer::new(env.side_effects, effective.output_spec());
        let mut app = Self {
            env,
            config_dir: boot.config_dir,
            settings,
            settings_writable,
            overrides: boot.overrides,
            identities,
            fresh_identity: false,
            claimed: None,
            engine: None,
            generation: 0,
            engine_tasks: Vec::new(),
            quitting: false,
            own_id: None,
            signaling: Signaling::Stopped,
            server_status: server::Status::NotLocal,
            local_server: LocalServer::default(),
            phase: Phase::Idle,
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
            Message::Engine(generation, delivery) => {
                if generation != self.generation {
                    return Task::none();
                }
                match delivery {
                    Delivery::Event(event) => self.on_engine_event(event, now),
                    Delivery::Stopped => self.on_engine_stopped(),
                }
            }
            Message::Home(message) => {
                let context = home_context(
                    self.own_id.as_ref(),
                    &self.signaling,
                    &self.settings.recent_peers,
                );
                match self.home.update(message, context) {
                    Some(home::Event::Call(peer)) => self.place_call(peer),
                    Some(home::Event::Copy(text)) => {
                        let result = self.env.clipboard.copy(&text);
                        self.home.copied(result, now);
                        Task::none()
                    }
                    Some(home::Event::OpenSettings) => self.open_settings(),
                    None => Task::none(),
                }
            }
            Message::Outgoing(message) => {
                if let Screen::Outgoing(state) = &mut self.screen
                    && let Some(outgoing::Event::Cancel) = state.update(message)
                {
                    self.send(UserCommand::Hangup);
                }
                Task::none()
            }
            Message::Incoming(message) => {
                if let Screen::Incoming(state) = &mut self.screen {
                    match state.update(message) {
                        Some(incoming::Event::Accept) => self.send(UserCommand::Accept),
                        Some(incoming::Event::Decline) => self.send(UserCommand::Decline),
                        None => {}
                    }
                }
                Task::none()
            }
            Message::InCall(message) => {
                if let Screen::InCall(state) = &mut self.screen {
                    match state.update(message) {
                        Some(in_call::Event::SetMuted(muted)) => {
                            self.send(UserCommand::SetMuted(muted))
                        }
                        Some(in_call::Event::Hangup) => self.send(UserCommand::Hangup),
                        None => {}
                    }
                }
                Task::none()
            }
            Message::Ended(message) => {
                if let Screen::Ended(state) = &mut self.screen
                    && let Some(ended::Event::Done) = state.update(message)
                {
                    return self.go_home();
                }
                Task::none()
            }
            Message::Settings(message) => self.on_settings(message),
            Message::Tick(now) => self.tick(now),
            Message::Shortcut(shortcut) => self.on_shortcut(shortcut),
            Message::DismissNotices => {
                self.notices.clear();
                Task::none()
            }
            Message::RestartEngine => self.restart_engine(),
            Message::Quit => self.quit(),
            Message::Exit => {
                tracing::debug!("engine stopped; closing the window");
                self.local_server.stop();
                iced::exit()
            }
        }
    }

    fn send(&mut self, command: UserCommand) {
        let sent = self
            .engine
            .as_ref()
            .is_some_and(|engine| engine.commands.send(command));
        if !sent {
            self.notice("The call engine is not running; use Retry in the status bar".into());
        }
    }

    fn notice(&mut self, text: String) {
        if self.notices.contains(&text) {
            return;
        }
        self.notices.push(text);
        if self.notices.len() > MAX_NOTICES {
            self.notices.remove(0);
        }
    }

    fn place_call(&mut self, peer: PeerId) -> Task<Message> {
        self.send(UserCommand::Call(peer.clone()));
        self.remember_peer(&peer);
        Task::none()
    }

    /// Adds `peer` to the recent list and saves it (unless the settings file is broken).
    fn remember_peer(&mut self, peer: &PeerId) {
        let before = self.settings.recent_peers.clone();
        home::remember(&mut self.settings.recent_peers, peer);
        if before == self.settings.recent_peers || !self.settings_writable {
            return;
        }
        if let Err(err) = self.settings.save(&self.config_dir) {
            self.notice(format!(
                "Could not remember {peer} in the recent list: {err}"
            ));
        }
    }

    fn effective(&self) -> Effective {
        Effective::new(&self.settings, &self.overrides)
    }

    fn start_engine(&mut self) -> Task<Message> {
        let effective = self.effective();
        let primary = effective.primary_server().unwrap_or_default().to_owned();
        self.server_status = if self.env.side_effects {
            self.local_server.ensure(&primary)
        } else {
            server::Status::NotLocal
        };
        let identity = if self.fresh_identity {
            None
        } else {
            self.identities
                .as_ref()
                .and_then(|store| store.get(&primary))
        };
        self.claimed = identity.as_ref().map(|(id, _)| id.clone());
        let (config, problems) = effective.engine_config(identity);
        for problem in problems {
            self.notice(problem);
        }
        self.tones.set_output(effective.output_spec());
        self.generation += 1;
        let generation = self.generation;
        let link = self.env.launcher.launch(config);
        self.engine_tasks.extend(link.task);
        self.engine = Some(Running {
            commands: link.commands,
        });
        self.signaling = Signaling::Starting(primary);
        self.own_id = None;
        engine::deliveries(link.events, move |delivery| {
            Message::Engine(generation, delivery)
        })
    }

    fn restart_engine(&mut self) -> Task<Message> {
        if let Some(old) = self.engine.take() {
            old.commands.send(UserCommand::Shutdown);
        }
        self.meters = None;
        self.phase = Phase::Idle;
        self.tones.play(None);
        self.start_engine()
    }

    fn on_engine_stopped(&mut self) -> Task<Message> {
        self.engine = None;
        if self.quitting {
            return Task::none();
        }
        self.signaling = Signaling::Stopped;
        self.phase = Phase::Idle;
        self.meters = None;
        self.tones.play(None);
        self.notice(
            "The call engine stopped. Press Retry in the status bar to start it again.".into(),
        );
        match self.screen {
            Screen::Outgoing(_) | Screen::Incoming(_) | Screen::InCall(_) => self.go_home(),
            _ => Task::none(),
        }
    }

    fn on_engine_event(&mut self, event: EngineEvent, now: Instant) -> Task<Message> {
        match event {
            EngineEvent::Registered { id, token, .. } => {
                if self.own_id.as_ref() != Some(&id) {
                    print_id(&id);
                }
                let primary = self
                    .effective()
                    .primary_server()
                    .unwrap_or_default()
                    .to_owned();
                if !token.is_empty()
                    && let Some(store) = self.identities.as_mut()
                    && store
                        .get(&primary)
                        .is_none_or(|(stored, t)| stored != id || t != token)
                    && let Err(err) = store.set(&primary, &id, &token)
                {
                    self.notice(format!("Could not remember your ID for next time: {err}"));
                }
                self.own_id = Some(id);
                if !matches!(
                    self.signaling,
                    Signaling::Reported(SignalingState::Connected, _)
                ) {
                    self.signaling = Signaling::Reported(SignalingState::Connected, primary);
                }
                Task::none()
            }
            EngineEvent::Signaling { state, detail } => {
                let refused = state == SignalingState::Offline
                    && detail.starts_with("signaling server refused us");
                self.signaling = Signaling::Reported(state, detail);
                if refused && let Some(claimed) = self.claimed.take() {
                    // Our remembered ID is held elsewhere (another copy of the app?).
                    self.notice(format!(
                        "The server would not give back your ID {claimed}; you have a new ID for now."
                    ));
                    self.fresh_identity = true;
                    return self.restart_engine();
                }
                Task::none()
            }
            EngineEvent::Phase(phase) => {
                self.phase = phase.clone();
                self.route(phase, now)
            }
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
            EngineEvent::Ended { reason, media } => {
                self.meters = None;
                self.show_ended(None, reason, media.as_ref(), now);
                Task::none()
            }
            EngineEvent::RejectedBusy { peer } => {
                self.notice(format!(
                    "{peer} called while you were busy; they were told so"
                ));
                Task::none()
            }
            EngineEvent::Warning(warning) => {
                self.notice(warning);
                Task::none()
            }
        }
    }

    /// Shows the screen for the engine's phase.
    fn route(&mut self, phase: Phase, now: Instant) -> Task<Message> {
        match phase {
            Phase::Idle => match self.screen {
                Screen::Outgoing(_) | Screen::Incoming(_) | Screen::InCall(_) => self.go_home(),
                _ => Task::none(),
            },
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
                if let Screen::InCall(state) = &mut self.screen {
                    let first = state.since.is_none();
                    state.in_call(since, muted, now);
                    if first {
                        self.remember_peer(&peer);
                    }
                }
                Task::none()
            }
            Phase::Ended { peer, reason, .. } => {
                self.show_ended(Some(peer), reason, None, now);
                Task::none()
            }
        }
    }

    fn show_ended(
        &mut self,
        peer: Option<PeerId>,
        reason: EndReason,
        media: Option<&MediaSummary>,
        now: Instant,
    ) {
        if let Screen::Ended(state) = &mut self.screen
            && state.reason == reason
        {
            if state.peer.is_none() {
                state.peer = peer;
            }
            if let Some(media) = media {
                state.set_media(media);
            }
            return;
        }
        let peer = peer.or_else(|| match &self.screen {
            Screen::Outgoing(state) => Some(state.peer.clone()),
            Screen::Incoming(state) => Some(state.peer.clone()),
            Screen::InCall(state) => Some(state.peer.clone()),
            _ => None,
        });
        let mut state = ended::State::new(peer, reason, now);
        if let Some(media) = media {
            state.set_media(media);
        }
        self.screen = Screen::Ended(state);
    }

    fn go_home(&mut self) -> Task<Message> {
        self.screen = Screen::Home;
        iced::widget::operation::focus(home::PEER_INPUT)
    }

    fn open_settings(&mut self) -> Task<Message> {
        self.screen = Screen::Settings(Box::new(settings::State::new(
            &self.settings,
            &self.overrides,
        )));
        Task::perform(
            async {
                tokio::task::spawn_blocking(settings::list_devices)
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()))
            },
            |result| Message::Settings(settings::Message::DevicesListed(result)),
        )
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
        match state.update(message, &self.settings) {
            Some(settings::Event::Save(new)) => {
                if let Err(err) = new.save(&self.config_dir) {
                    state.save_failed(format!("Could not save: {err}"));
                    return Task::none();
                }
                let before = self.effective();
                self.settings = new;
                self.settings_writable = true;
                let home = self.go_home();
                if self.effective() != before {
                    self.fresh_identity = false;
                    return Task::batch([home, self.restart_engine()]);
                }
                home
            }
            Some(settings::Event::Cancel) => self.go_home(),
            None if reveal => iced::widget::operation::snap_to_end(settings::PAGE),
            None => Task::none(),
        }
    }

    fn tick(&mut self, now: Instant) -> Task<Message> {
        self.home.tick(now);
        self.tones.poll();
        if let Some(problem) = self.local_server.check() {
            self.notice(problem);
        }
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
            Screen::Settings(state) => state.tick(now),
            Screen::Home | Screen::Outgoing(_) | Screen::Incoming(_) => {}
        }
        Task::none()
    }

    fn on_shortcut(&mut self, shortcut: Shortcut) -> Task<Message> {
        match (shortcut, &self.screen) {
            (Shortcut::Enter, Screen::Home) => {
                let context = home_context(
                    self.own_id.as_ref(),
                    &self.signaling,
                    &self.settings.recent_peers,
                );
                match self.home.call(context) {
                    Some(home::Event::Call(peer)) => self.place_call(peer),
                    _ => Task::none(),
                }
            }
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

    fn quit(&mut self) -> Task<Message> {
        if self.quitting {
            return Task::none();
        }
        self.quitting = true;
        tracing::debug!("quitting: hanging up and leaving the server");
        self.tones.play(None);
        if let Some(engine) = &self.engine {
            engine.commands.send(UserCommand::Shutdown);
        }
        let tasks = std::mem::take(&mut self.engine_tasks);
        Task::perform(engine::join_all(tasks, SHUTDOWN_GRACE), |()| Message::Exit)
    }

    pub fn subscription(&self) -> Subscription<Message> {
        let mut subscriptions = vec![
            event::listen_with(shortcut),
            window::close_requests().map(|_| Message::Quit),
            Subscription::run(termination_signals),
        ];
        let frames = match &self.screen {
            Screen::InCall(_) => true,
            Screen::Settings(state) => state.wants_frames(),
            _ => false,
        };
        let slow = matches!(self.screen, Screen::Ended(_))
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
                    &self.signaling,
                    &self.settings.recent_peers,
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
            page = page.push(self.notices_view());
        }
        page = page.push(container(body).height(Fill).width(Fill));
        column![page, self.status_bar()].into()
    }

    fn notices_view(&self) -> Element<'_, Message> {
        let lines = self
            .notices
            .iter()
            .map(|notice| text(notice.as_str()).size(theme::size::SMALL).into());
        container(
            row![
                column(lines).spacing(4).width(Fill),
                button(text("Dismiss").size(theme::size::SMALL))
                    .style(theme::link_button)
                    .on_press(Message::DismissNotices),
            ]
            .spacing(8)
            .align_y(Center),
        )
        .padding(10)
        .width(Fill)
        .style(theme::notice)
        .into()
    }

    fn status_bar(&self) -> Element<'_, Message> {
        let (colour, line) = status_line(&self.signaling);
        let mut bar = row![
            text("●").color(colour),
            text(line).size(theme::size::SMALL).width(Fill),
        ]
        .spacing(8)
        .align_y(Center);
        if matches!(
            self.signaling,
            Signaling::Stopped | Signaling::Reported(SignalingState::Offline, _)
        ) {
            bar = bar.push(
                button(text("Retry").size(theme::size::SMALL))
                    .style(theme::plain_button)
                    .on_press(Message::RestartEngine),
            );
        }
        let mut content = column![bar].spacing(2);
        if let Some(server) = self.server_status.describe() {
            content = content.push(
                text(server)
                    .size(theme::size::SMALL)
                    .style(theme::muted_text),
            );
        }
        container(content)
            .padding([8, 20])
            .width(Fill)
            .style(theme::status_bar)
            .into()
    }

    #[cfg(test)]
    fn engine_event(&mut self, event: EngineEvent) -> Task<Message> {
        self.update(Message::Engine(self.generation, Delivery::Event(event)))
    }
}

fn home_context<'a>(
    own_id: Option<&'a PeerId>,
    signaling: &Signaling,
    recent: &'a [String],
) -> home::Context<'a> {
    home::Context {
        own_id,
        online: own_id.is_some()
            && matches!(signaling, Signaling::Reported(SignalingState::Connected, _)),
        recent,
    }
}

fn status_line(signaling: &Signaling) -> (iced::Color, String) {
    match signaling {
        Signaling::Starting(server) if server.is_empty() => {
            (theme::RED, "No signaling server configured".into())
        }
        Signaling::Starting(server) => (theme::AMBER, format!("Connecting to {server}…")),
        Signaling::Reported(SignalingState::Connected, server) => {
            (theme::GREEN, format!("Connected to {server}"))
        }
        Signaling::Reported(SignalingState::Reconnecting, detail) => {
            (theme::AMBER, format!("Reconnecting… ({detail})"))
        }
        Signaling::Reported(SignalingState::Offline, detail) => {
            (theme::RED, format!("Offline: {detail}"))
        }
        Signaling::Stopped => (theme::RED, "Offline: the call engine stopped".into()),
    }
}

/// Like the headless client: the ID as one line on stdout, for scripts and tests.
fn print_id(id: &PeerId) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{id}");
    let _ = out.flush();
}

fn shortcut(event: iced::Event, status: event::Status, _window: window::Id) -> Option<Message> {
    let iced::Event::Keyboard(keyboard::Event::KeyPressed { key, modifiers, .. }) = event else {
        return None;
    };
    let shortcut = match key.as_ref() {
        Key::Named(key::Named::Enter) if status == event::Status::Ignored => Shortcut::Enter,
        Key::Named(key::Named::Escape) => Shortcut::Escape,
        Key::Character("m" | "M") if modifiers.command() => Shortcut::ToggleMute,
        _ => return None,
    };
    Some(Message::Shortcut(shortcut))
}

/// Ctrl+C or SIGTERM: leave like closing the window does (hang up first).
fn termination_signals() -> impl Stream<Item = Message> {
    stream::once(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut terminate = signal(SignalKind::terminate()).ok();
            let terminated = async {
                match terminate.as_mut() {
                    Some(terminate) => {
                        terminate.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = terminated => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        Message::Quit
    })
}
