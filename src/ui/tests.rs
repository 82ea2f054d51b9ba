//! The app's logic with a fake engine and a headless UI (`iced_test`): what a person sees
//! and what reaches the engine when they click, type and press keys. No network, no audio.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use iced_test::{Simulator, simulator};
use tokio::sync::mpsc;
use voicecall_core::call::{EndReason, Failure, Phase, Role};
use voicecall_core::config::{IdentityStore, Settings};
use voicecall_core::id::{CallId, PeerId};
use voicecall_core::quality::MediaSummary;
use voicecall_core::signaling::message::{ErrorCode, ServerError};
use voicecall_engine::controller::{
    EngineConfig, EngineEvent, Overrides, SignalingState, UserCommand, Warning,
};

use super::app::{App, Boot, Environment, Message};
use super::clipboard::Clipboard;
use super::engine::{CommandSink, Delivery, Launcher, Link};
use super::instance::Request;
use super::notify::{self, Notifier};
use super::screen::{Screen, home, settings, welcome};
use super::shortcut::Shortcut;

const ME: &str = "abc-def-ghj";
const PEER: &str = "k7m-q2x-9fd";

type Shared<T> = Arc<Mutex<Vec<T>>>;

fn lock<T>(shared: &Shared<T>) -> std::sync::MutexGuard<'_, Vec<T>> {
    shared.lock().expect("test mutex")
}

struct Recorder(Shared<UserCommand>);

impl CommandSink for Recorder {
    fn send(&self, command: UserCommand) -> bool {
        lock(&self.0).push(command);
        true
    }
}

/// Records the configs it was started with and the commands it was sent.
struct FakeLauncher {
    commands: Shared<UserCommand>,
    configs: Shared<EngineConfig>,
    /// Kept so the event channels stay open, as a live engine's would.
    senders: Shared<mpsc::UnboundedSender<EngineEvent>>,
}

impl Launcher for FakeLauncher {
    fn launch(&self, config: EngineConfig) -> Link {
        lock(&self.configs).push(config);
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.senders).push(tx);
        Link {
            commands: Box::new(Recorder(Arc::clone(&self.commands))),
            events: rx,
            task: None,
        }
    }
}

struct FakeClipboard {
    copied: Shared<String>,
    fail: bool,
}

impl Clipboard for FakeClipboard {
    fn copy(&mut self, text: &str) -> Result<(), String> {
        if self.fail {
            return Err("no clipboard on this test machine".into());
        }
        lock(&self.copied).push(text.to_owned());
        Ok(())
    }
}

/// Records what it was asked to show: "ring PEER" and "stop".
struct FakeNotifier(Shared<String>);

impl Notifier for FakeNotifier {
    fn ring(&mut self, peer: &PeerId) {
        lock(&self.0).push(format!("ring {peer}"));
    }

    fn stop(&mut self) {
        lock(&self.0).push("stop".into());
    }
}

/// How the app under test is started.
struct Start {
    overrides: Overrides,
    clipboard_fails: bool,
    /// A checkout with the bundled server (the default), or an installed app.
    bundled_server: bool,
    link: Option<String>,
}

impl Default for Start {
    fn default() -> Self {
        Self {
            overrides: Overrides::default(),
            clipboard_fails: false,
            bundled_server: true,
            link: None,
        }
    }
}

struct Harness {
    app: App,
    commands: Shared<UserCommand>,
    configs: Shared<EngineConfig>,
    copied: Shared<String>,
    notified: Shared<String>,
    dir: tempfile::TempDir,
}

fn peer(id: &str) -> PeerId {
    PeerId::parse(id).expect("valid test id")
}

impl Harness {
    fn new() -> Self {
        Self::with(
            tempfile::tempdir().expect("tempdir"),
            Overrides::default(),
            false,
        )
    }

    fn with(dir: tempfile::TempDir, overrides: Overrides, clipboard_fails: bool) -> Self {
        Self::start(
            dir,
            Start {
                overrides,
                clipboard_fails,
                ..Start::default()
            },
        )
    }

    fn start(dir: tempfile::TempDir, start: Start) -> Self {
        let Start {
            overrides,
            clipboard_fails,
            bundled_server,
            link,
        } = start;
        let notified = Shared::default();
        let commands = Shared::default();
        let configs = Shared::default();
        let copied = Shared::default();
        let launcher = FakeLauncher {
            commands: Arc::clone(&commands),
            configs: Arc::clone(&configs),
            senders: Shared::default(),
        };
        let (app, _task) = App::new(
            Boot {
                config_dir: dir.path().to_path_buf(),
                overrides,
                link,
            },
            Environment {
                launcher: Box::new(launcher),
                clipboard: Box::new(FakeClipboard {
                    copied: Arc::clone(&copied),
                    fail: clipboard_fails,
                }),
                notifier: Box::new(FakeNotifier(Arc::clone(&notified))),
                requests: None,
                notifications: None,
                bundled_server,
                side_effects: false,
            },
        );
        Self {
            app,
            commands,
            configs,
            copied,
            notified,
            dir,
        }
    }

    fn registered(&mut self) {
        self.event(EngineEvent::Registered {
            id: peer(ME),
            token: "token-of-me-123456".into(),
            reclaimed: false,
        });
    }

    fn notifications(&self) -> Vec<String> {
        lock(&self.notified).clone()
    }

    /// Registered and connected, as after a normal start.
    fn online() -> Self {
        let mut harness = Self::new();
        harness.registered();
        harness
    }

    fn event(&mut self, event: EngineEvent) {
        let _ = self.app.engine_event(event);
    }

    fn phase(&mut self, phase: Phase) {
        self.event(EngineEvent::Phase(phase));
    }

    fn send(&mut self, message: Message) {
        let _ = self.app.update(message);
    }

    /// Runs `interact` on the current view, then feeds the messages it produced to the app.
    fn interact(&mut self, interact: impl FnOnce(&mut Simulator<'_, Message>)) -> usize {
        let messages: Vec<Message> = {
            let mut ui = simulator(self.app.view());
            interact(&mut ui);
            ui.into_messages().collect()
        };
        let produced = messages.len();
        for message in messages {
            let _ = self.app.update(message);
        }
        produced
    }

    fn click(&mut self, label: &str) -> usize {
        self.interact(|ui| {
            ui.click(label)
                .unwrap_or_else(|e| panic!("no {label:?} to click: {e:?}"));
        })
    }

    /// Empties the peer ID field, then types `text` into it.
    fn type_peer_id(&mut self, text: &str) {
        self.send(Message::Home(home::Message::PeerInput(String::new())));
        self.interact(|ui| {
            ui.click(home::PEER_INPUT).expect("the peer ID field");
            ui.typewrite(text);
        });
    }

    fn shows(&self, label: &str) -> bool {
        let mut ui = simulator(self.app.view());
        ui.find(label).is_ok()
    }

    fn sent(&self) -> Vec<UserCommand> {
        lock(&self.commands).clone()
    }

    fn title(&self) -> String {
        self.app.title()
    }
}

fn outgoing(ringing: bool) -> Phase {
    Phase::Outgoing {
        peer: peer(PEER),
        call_id: CallId::parse("call1").expect("call id"),
        since: Instant::now(),
        ringing,
    }
}

fn incoming() -> Phase {
    Phase::Incoming {
        peer: peer(PEER),
        call_id: CallId::parse("call2").ok(),
        since: Instant::now(),
    }
}

fn in_call(since: Instant, muted: bool) -> Phase {
    Phase::InCall {
        peer: peer(PEER),
        call_id: None,
        role: Role::Callee,
        since,
        muted,
    }
}

fn ended(reason: EndReason) -> EngineEvent {
    EngineEvent::Ended {
        peer: peer(PEER),
        reason,
        media: None,
    }
}

#[test]
fn typing_an_id_and_clicking_call_places_the_call_and_shows_calling() {
    let mut h = Harness::online();
    assert!(h.shows(ME), "own ID on Home");
    assert_eq!(h.title(), "voicecall");
    h.type_peer_id(PEER);
    assert!(h.shows(PEER), "the field holds what was typed");
    h.click("Call");
    assert_eq!(h.sent(), vec![UserCommand::Call(peer(PEER))]);
    assert_eq!(h.app.saved.get().recent_peers, vec![PEER.to_owned()]);
    let saved = Settings::load(h.dir.path()).expect("settings saved");
    assert_eq!(
        saved.recent_peers,
        vec![PEER.to_owned()],
        "recent list saved"
    );

    // The screen follows the engine's phase, not the click.
    h.phase(outgoing(false));
    assert!(h.shows(&format!("Calling {PEER}…")));
    assert!(h.shows("Cancel"));
    assert_eq!(h.title(), format!("voicecall — calling {PEER}"));
    h.phase(outgoing(true));
    assert!(h.shows("Ringing…"));
    h.click("Cancel");
    assert_eq!(h.sent().last(), Some(&UserCommand::Hangup));
}

#[test]
fn enter_in_the_field_calls_too() {
    let mut h = Harness::online();
    h.interact(|ui| {
        ui.click(home::PEER_INPUT).expect("field");
        ui.typewrite(PEER);
        ui.tap_key(iced::keyboard::key::Named::Enter);
    });
    assert_eq!(h.sent(), vec![UserCommand::Call(peer(PEER))]);
}

#[test]
fn an_invalid_id_shows_why_and_call_is_disabled() {
    let mut h = Harness::online();
    h.type_peer_id("NOT AN ID!");
    assert!(
        h.shows("peer ID \"not an id!\" may only contain a–z, 0–9 and '-' (not at either end)"),
        "error under the field"
    );
    assert_eq!(h.click("Call"), 0, "a disabled button sends nothing");
    h.send(Message::Shortcut(Shortcut::Enter));
    assert!(h.sent().is_empty());

    // Calling yourself makes no sense either.
    h.type_peer_id(ME);
    assert!(h.shows("that is your own ID; enter the ID of the person to call"));
    assert_eq!(h.click("Call"), 0);
}

#[test]
fn call_is_disabled_while_offline() {
    let mut h = Harness::new();
    assert!(h.shows("Waiting for the server to give you an ID…"));
    assert!(h.shows("Connecting to http://127.0.0.1:3000…"));
    h.type_peer_id(PEER);
    assert_eq!(h.click("Call"), 0);
    h.event(EngineEvent::Signaling {
        state: SignalingState::Offline,
        detail: "signaling server http://127.0.0.1:3000 is unreachable: refused".into(),
    });
    assert!(h.shows("Offline: signaling server http://127.0.0.1:3000 is unreachable: refused"));
    assert!(h.shows("Retry"));
    assert!(h.sent().is_empty());
    h.click("Retry");
    assert_eq!(lock(&h.configs).len(), 2, "Retry starts a new engine");
}

#[test]
fn incoming_call_accept_then_end_returns_home() {
    let mut h = Harness::online();
    h.phase(incoming());
    assert!(h.shows("Accept") && h.shows("Decline"));
    assert!(h.shows(PEER));
    assert_eq!(h.title(), format!("voicecall — {PEER} is calling"));
    h.click("Accept");
    assert_eq!(h.sent(), vec![UserCommand::Accept]);

    h.phase(Phase::Connecting {
        peer: peer(PEER),
        call_id: None,
        role: Role::Callee,
        since: Instant::now(),
    });
    assert!(h.shows("Connecting…"));
    let since = Instant::now() - Duration::from_secs(65);
    h.phase(in_call(since, false));
    assert!(h.shows("End Call") && h.shows("Mute"));
    assert!(h.shows("01:05"), "timer from the phase's start");
    assert_eq!(h.title(), format!("voicecall — in call with {PEER}"));
    assert!(h.shows("Measuring…"));
    assert_eq!(
        h.app.saved.get().recent_peers,
        vec![PEER.to_owned()],
        "an answered call goes into the recent list"
    );

    h.click("End Call");
    assert_eq!(h.sent().last(), Some(&UserCommand::Hangup));
    h.event(ended(EndReason::HungUp));
    assert!(h.shows("Hung up"));
    assert_eq!(h.title(), "voicecall");
    h.phase(Phase::Idle);
    assert!(h.shows("Hung up"), "the reason stays for a while");
    h.send(Message::Tick(Instant::now() + Duration::from_secs(4)));
    assert!(h.shows("Call someone"), "back Home");
}

#[test]
fn declining_and_keyboard_shortcuts_reach_the_engine() {
    let mut h = Harness::online();
    h.phase(incoming());
    h.click("Decline");
    assert_eq!(h.sent(), vec![UserCommand::Decline]);

    h.phase(incoming());
    h.send(Message::Shortcut(Shortcut::Enter));
    assert_eq!(h.sent().last(), Some(&UserCommand::Accept));
    h.phase(in_call(Instant::now(), false));
    h.send(Message::Shortcut(Shortcut::ToggleMute));
    assert_eq!(h.sent().last(), Some(&UserCommand::SetMuted(true)));
    h.phase(in_call(Instant::now(), true));
    assert!(
        h.shows("Unmute"),
        "the button follows the phase's muted flag"
    );
    assert!(h.shows("Microphone (muted)"));
    h.send(Message::Shortcut(Shortcut::Escape));
    assert_eq!(h.sent().last(), Some(&UserCommand::Hangup));

    h.phase(incoming());
    h.send(Message::Shortcut(Shortcut::Escape));
    assert_eq!(h.sent().last(), Some(&UserCommand::Decline));
}

#[test]
fn ended_shows_the_reason_then_goes_home_after_the_timeout() {
    let mut h = Harness::online();
    h.phase(outgoing(true));
    h.event(ended(EndReason::Declined));
    assert!(h.shows("Declined"));
    assert!(h.shows(&format!("Call with {PEER} ended")));
    h.send(Message::Tick(Instant::now() + Duration::from_secs(1)));
    assert!(h.shows("Declined"), "still there after a second");
    h.send(Message::Tick(Instant::now() + Duration::from_secs(4)));
    assert!(matches!(h.app.screen, Screen::Home));
    assert!(h.shows("Call someone"));

    for (reason, words) in [
        (EndReason::Busy, "Busy"),
        (EndReason::NoAnswer, "No answer"),
        (EndReason::PeerNotFound, "Peer not found"),
        (EndReason::ConnectionLost, "Connection lost"),
        (EndReason::HungUpByPeer, "Hung up by peer"),
        // A callee whose media path failed before our answer arrived: not "Declined".
        (EndReason::ConnectFailed, "Could not connect"),
    ] {
        h.event(ended(reason));
        assert!(h.shows(words), "{words}");
        h.send(Message::Shortcut(Shortcut::Escape));
    }
}

#[test]
fn calling_while_the_engine_is_offline_ends_with_a_readable_reason() {
    let mut h = Harness::online();
    h.event(ended(EndReason::Failed(Failure::NotConnected)));
    assert!(h.shows("Failed: not connected to the signaling server"));
}

#[test]
fn copy_puts_the_id_on_the_clipboard_and_says_copied_for_a_while() {
    let mut h = Harness::online();
    h.click("Copy ID");
    assert_eq!(lock(&h.copied).clone(), vec![ME.to_owned()]);
    assert!(h.shows("Copied"));
    h.send(Message::Tick(Instant::now() + Duration::from_secs(3)));
    assert!(!h.shows("Copied"), "the note goes away");
}

#[test]
fn a_clipboard_failure_is_shown_not_swallowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = Harness::with(dir, Overrides::default(), true);
    h.event(EngineEvent::Registered {
        id: peer(ME),
        token: String::new(),
        reclaimed: false,
    });
    h.click("Copy ID");
    assert!(h.shows("Could not copy: no clipboard on this test machine"));
}

#[test]
fn recent_peers_fill_the_field() {
    let mut h = Harness::online();
    h.type_peer_id(PEER);
    h.click("Call");
    h.event(ended(EndReason::Busy));
    h.send(Message::Shortcut(Shortcut::Escape));
    assert!(h.shows("Recent"));
    h.send(Message::Home(home::Message::PeerInput(String::new())));
    h.click(PEER);
    assert_eq!(h.app.home.peer_input(), PEER);
}

#[test]
fn the_id_is_remembered_per_server_and_claimed_next_time() {
    let h = Harness::online();
    let store = IdentityStore::load(h.dir.path()).expect("identity saved");
    assert_eq!(
        store.get("http://127.0.0.1:3000"),
        Some((peer(ME), "token-of-me-123456".into()))
    );
    let dir = h.dir;
    let again = Harness::with(dir, Overrides::default(), false);
    let configs = lock(&again.configs).clone();
    assert_eq!(configs[0].signaling.id, Some(peer(ME)));
    assert_eq!(
        configs[0].signaling.token.as_deref(),
        Some("token-of-me-123456")
    );
}

#[test]
fn a_refused_id_falls_back_to_a_fresh_one() {
    let h = Harness::online();
    let mut again = Harness::with(h.dir, Overrides::default(), false);
    again.event(EngineEvent::Signaling {
        state: SignalingState::Refused(ErrorCode::IdTaken),
        detail: "signaling server refused us: taken".into(),
    });
    let configs = lock(&again.configs).clone();
    assert_eq!(configs.len(), 2);
    assert_eq!(configs[1].signaling.id, None);
    assert!(again.shows(&format!(
        "The server would not give back your ID {ME}; you have a new ID for now."
    )));
}

#[test]
fn only_a_refusal_gives_up_the_remembered_id_whatever_the_detail_says() {
    let h = Harness::online();
    let mut again = Harness::with(h.dir, Overrides::default(), false);
    // Offline for another reason, in words that once triggered the fallback.
    again.event(EngineEvent::Signaling {
        state: SignalingState::Offline,
        detail: "signaling server refused us (IdTaken): taken".into(),
    });
    assert_eq!(lock(&again.configs).len(), 1, "no restart");
    assert!(again.shows("Offline: signaling server refused us (IdTaken): taken"));
    assert!(again.shows("Retry"));
    // A refusal when no remembered ID was claimed: nothing to give up either.
    let mut fresh = Harness::new();
    fresh.event(EngineEvent::Signaling {
        state: SignalingState::Refused(ErrorCode::RateLimited),
        detail: "signaling server refused us: slow down".into(),
    });
    assert_eq!(lock(&fresh.configs).len(), 1);
    assert!(fresh.shows("Offline: signaling server refused us: slow down"));
}

#[test]
fn the_end_of_a_call_shows_its_audio_numbers() {
    let mut h = Harness::online();
    h.phase(in_call(Instant::now(), false));
    h.event(EngineEvent::Ended {
        peer: peer(PEER),
        reason: EndReason::HungUpByPeer,
        media: Some(MediaSummary {
            frames_sent: 250,
            packets_received: 248,
            ..MediaSummary::default()
        }),
    });
    assert!(h.shows("Hung up by peer"));
    assert!(h.shows(&format!("Call with {PEER} ended")));
    assert!(h.shows("250 audio frames sent, 248 received"));
}

#[test]
fn overrides_are_used_but_not_saved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let overrides = Overrides {
        servers: vec!["http://127.0.0.1:9".into()],
        input: Some("silence".into()),
        output: Some("discard".into()),
        bind: vec!["127.0.0.1".parse().expect("ip")],
        ..Overrides::default()
    };
    let mut h = Harness::with(dir, overrides, false);
    {
        let configs = lock(&h.configs);
        assert_eq!(
            configs[0].signaling.servers,
            vec!["http://127.0.0.1:9".to_owned()]
        );
        assert_eq!(configs[0].rtc.bind.len(), 1);
    }
    h.event(EngineEvent::Registered {
        id: peer(ME),
        token: "t-123456789".into(),
        reclaimed: false,
    });
    h.type_peer_id(PEER);
    h.click("Call");
    let saved = Settings::load(h.dir.path()).expect("saved");
    assert_eq!(
        saved.servers,
        Settings::default().servers,
        "override not saved"
    );
    assert_eq!(saved.input_device, "default");
}

#[test]
fn settings_save_writes_the_file_and_restarts_the_engine() {
    let mut h = Harness::online();
    h.click("Settings");
    assert!(matches!(h.app.screen, Screen::Settings(_)));
    h.send(Message::Settings(settings::Message::DevicesListed(Ok(
        settings::Devices::default(),
    ))));
    assert!(h.shows("no input devices found"));
    assert!(h.shows("no output devices found"));
    h.send(Message::Settings(settings::Message::Servers(
        "http://10.1.2.3:3000".into(),
    )));
    h.send(Message::Settings(settings::Message::Input(
        "silence".into(),
    )));
    h.click("Save");
    assert!(matches!(h.app.screen, Screen::Home));
    let saved = Settings::load(h.dir.path()).expect("saved");
    assert_eq!(saved.servers, vec!["http://10.1.2.3:3000".to_owned()]);
    assert_eq!(saved.input_device, "silence");
    let configs = lock(&h.configs).clone();
    assert_eq!(configs.len(), 2, "new servers restart the engine");
    assert_eq!(configs[1].signaling.servers, saved.servers);
    assert!(h.shows("Connecting to http://10.1.2.3:3000…"));

    // Nothing engine-relevant changed: no restart.
    h.click("Settings");
    h.click("Save");
    assert_eq!(lock(&h.configs).len(), 2);
}

#[test]
fn a_broken_settings_file_is_reported_and_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(Settings::path(dir.path()), "servers = 5").expect("write");
    let mut h = Harness::with(dir, Overrides::default(), false);
    let path = Settings::path(h.dir.path());
    assert!(
        h.app
            .notices
            .lines()
            .iter()
            .any(|n| n.contains("settings.toml")),
        "{:?}",
        h.app.notices
    );
    h.event(EngineEvent::Registered {
        id: peer(ME),
        token: "t-123456789".into(),
        reclaimed: false,
    });
    h.type_peer_id(PEER);
    h.click("Call");
    assert_eq!(
        std::fs::read_to_string(&path).expect("still there"),
        "servers = 5",
        "the broken file was not overwritten"
    );
    h.click("Dismiss");
    assert!(h.app.notices.is_empty());
}

#[test]
fn engine_warnings_and_busy_callers_are_shown() {
    let mut h = Harness::online();
    h.event(EngineEvent::Warning(Warning::Server(ServerError {
        code: ErrorCode::RateLimited,
        message: "rate limited".into(),
        event: None,
        target: None,
        call_id: None,
    })));
    h.event(EngineEvent::RejectedBusy { peer: peer(PEER) });
    assert!(h.shows("server: rate limited"));
    assert!(h.shows(&format!(
        "{PEER} called while you were busy; they were told so"
    )));
}

#[test]
fn a_stopped_engine_is_reported_with_a_retry() {
    let mut h = Harness::online();
    h.phase(in_call(Instant::now(), false));
    let generation = h.app.engine.generation();
    h.send(Message::Engine(generation, Delivery::Stopped));
    assert!(matches!(h.app.screen, Screen::Home));
    assert!(h.shows("Offline: the call engine stopped"));
    h.click("Retry");
    assert_eq!(lock(&h.configs).len(), 2);
}

#[test]
fn events_of_a_replaced_engine_are_ignored() {
    let mut h = Harness::online();
    let old = h.app.engine.generation();
    h.send(Message::RestartEngine);
    h.send(Message::Engine(
        old,
        Delivery::Event(Box::new(EngineEvent::Phase(incoming()))),
    ));
    assert!(matches!(h.app.screen, Screen::Home));
}

#[test]
fn in_call_stats_show_quality() {
    let mut h = Harness::online();
    h.phase(in_call(Instant::now(), false));
    let stats = |received: u64, lost: i64| voicecall_core::quality::RtcStats {
        packets_received: received,
        packets_lost: lost,
        rtt_ms: Some(40.0),
        ..Default::default()
    };
    h.event(EngineEvent::Stats {
        rtc: stats(100, 0),
        media: Default::default(),
    });
    assert!(h.shows("Good connection"));
    h.event(EngineEvent::Stats {
        rtc: stats(150, 20),
        media: Default::default(),
    });
    assert!(h.shows("Poor connection"));
    let Screen::InCall(state) = &h.app.screen else {
        panic!("in call");
    };
    assert!(state.quality().is_some_and(|q| q.loss_percent > 5.0));
}

// ----- an installed app, call links, notifications -------------------------------------

const LINK_SERVER: &str = "https://voice.example.org";

#[test]
fn an_installed_app_without_a_server_asks_for_one_instead_of_starting_anything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = Start {
        bundled_server: false,
        ..Start::default()
    };
    let mut h = Harness::start(dir, start);
    assert!(matches!(h.app.screen, Screen::Welcome(_)));
    assert!(h.shows("Welcome to voicecall"));
    assert!(h.shows("No signaling server configured"));
    assert!(lock(&h.configs).is_empty(), "no engine without a server");
    assert_eq!(h.click("Connect"), 1);
    assert!(h.shows("enter at least one server, e.g. https://voice.example.org"));
    h.send(Message::Welcome(welcome::Message::Input(
        LINK_SERVER.into(),
    )));
    h.click("Connect");
    assert!(matches!(h.app.screen, Screen::Home));
    let saved = Settings::load(h.dir.path()).expect("saved");
    assert_eq!(saved.servers, vec![LINK_SERVER.to_owned()]);
    let configs = lock(&h.configs).clone();
    assert_eq!(configs.len(), 1);
    assert_eq!(configs[0].signaling.servers, vec![LINK_SERVER.to_owned()]);
}

#[test]
fn a_checkout_without_a_saved_server_uses_the_bundled_one_and_settings_show_it() {
    let mut h = Harness::online();
    assert_eq!(
        lock(&h.configs)[0].signaling.servers,
        vec!["http://127.0.0.1:3000".to_owned()]
    );
    h.click("Settings");
    h.click("Save");
    let saved = Settings::load(h.dir.path()).expect("saved");
    assert_eq!(saved.servers, vec!["http://127.0.0.1:3000".to_owned()]);
    assert_eq!(lock(&h.configs).len(), 1, "same server: no restart");
}

#[test]
fn a_call_link_fills_in_the_call_and_dials_only_when_asked() {
    let mut h = Harness::online();
    h.send(Message::Instance(Request::Open(format!(
        "voicecall:{PEER}?server=http://127.0.0.1:3000"
    ))));
    assert!(h.shows(&format!("Call {PEER}?")));
    assert_eq!(h.title(), format!("voicecall — call {PEER}?"));
    assert!(h.sent().is_empty(), "nothing dialled on its own");
    assert_eq!(h.app.home.peer_input(), PEER);
    h.send(Message::Shortcut(Shortcut::Escape));
    assert!(matches!(h.app.screen, Screen::Home));
    assert!(h.sent().is_empty());
    assert_eq!(h.app.home.peer_input(), PEER, "the peer stays in the field");

    h.send(Message::Instance(Request::Open(format!(
        "voicecall:{PEER}"
    ))));
    h.click("Call");
    assert_eq!(h.sent(), vec![UserCommand::Call(peer(PEER))]);
}

#[test]
fn a_link_to_another_server_asks_before_switching() {
    let mut h = Harness::online();
    h.send(Message::Instance(Request::Open(format!(
        "voicecall:{PEER}?server={LINK_SERVER}"
    ))));
    assert!(h.shows("Use another server?"));
    assert!(h.shows("Use voice.example.org"));
    h.send(Message::Shortcut(Shortcut::Enter));
    assert!(h.sent().is_empty(), "Enter neither switches nor dials");
    assert_eq!(lock(&h.configs).len(), 1);
    h.click("Use voice.example.org");
    let saved = Settings::load(h.dir.path()).expect("saved");
    assert_eq!(saved.servers, vec![LINK_SERVER.to_owned()]);
    let configs = lock(&h.configs).clone();
    assert_eq!(configs.len(), 2, "the engine moved to the link's server");
    assert_eq!(configs[1].signaling.servers, vec![LINK_SERVER.to_owned()]);
    assert_eq!(
        h.sent(),
        vec![UserCommand::Shutdown],
        "the old engine stops"
    );
    assert!(h.shows(&format!("Call {PEER}?")));
    assert!(h.shows("Connecting to the server…"));
    assert_eq!(h.click("Call"), 0, "not before we are connected there");
    h.registered();
    h.click("Call");
    assert_eq!(
        h.sent(),
        vec![UserCommand::Shutdown, UserCommand::Call(peer(PEER))]
    );
}

#[test]
fn a_link_on_first_start_offers_its_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = Start {
        bundled_server: false,
        link: Some(format!("voicecall:{PEER}?server={LINK_SERVER}")),
        ..Start::default()
    };
    let mut h = Harness::start(dir, start);
    assert!(h.shows("No server is set up yet."));
    h.click("Cancel");
    assert!(
        matches!(h.app.screen, Screen::Welcome(_)),
        "still no server"
    );
    h.send(Message::Instance(Request::Open(format!(
        "voicecall:{PEER}?server={LINK_SERVER}"
    ))));
    h.click("Use voice.example.org");
    assert_eq!(lock(&h.configs).len(), 1);
    assert!(h.shows(&format!("Call {PEER}?")));
}

#[test]
fn bad_links_are_explained_and_links_during_a_call_wait_for_its_end() {
    let mut h = Harness::online();
    h.send(Message::Instance(Request::Open(
        "voicecall:NOT AN ID".into(),
    )));
    assert!(matches!(h.app.screen, Screen::Home));
    assert!(
        h.app
            .notices
            .lines()
            .iter()
            .any(|l| l.starts_with("Could not open the call link: the call link's peer ID")),
        "{:?}",
        h.app.notices
    );
    h.send(Message::Instance(Request::Open(format!("voicecall:{ME}"))));
    assert!(
        h.app.notices.lines().iter().any(|l| l.contains("is yours")),
        "{:?}",
        h.app.notices
    );

    h.phase(in_call(Instant::now(), false));
    h.send(Message::Instance(Request::Open(
        "voicecall:someone-else".into(),
    )));
    assert!(
        matches!(h.app.screen, Screen::InCall(_)),
        "the call stays on screen"
    );
    h.event(ended(EndReason::HungUp));
    h.phase(Phase::Idle);
    h.send(Message::Shortcut(Shortcut::Escape));
    assert!(h.shows("Call someone-else?"));
    assert!(!h.sent().contains(&UserCommand::Call(peer("someone-else"))));
}

#[test]
fn copy_call_link_copies_a_link_to_us_on_our_server() {
    let mut h = Harness::online();
    h.click("Copy call link");
    assert_eq!(
        lock(&h.copied).clone(),
        vec![format!("voicecall:{ME}?server=http://127.0.0.1:3000")]
    );
    assert!(h.shows("Copied"));
}

#[test]
fn a_call_ringing_in_the_background_is_notified_and_answered_from_the_notification() {
    let mut h = Harness::online();
    h.send(Message::Focused(false));
    h.phase(incoming());
    assert_eq!(h.notifications(), vec![format!("ring {PEER}")]);
    // A click for another caller, or after the ringing stopped, does nothing.
    h.send(Message::Notification(notify::Event::Accept(peer(
        "someone-else",
    ))));
    assert!(h.sent().is_empty());
    h.send(Message::Notification(notify::Event::Accept(peer(PEER))));
    assert_eq!(h.sent(), vec![UserCommand::Accept]);
    h.phase(in_call(Instant::now(), false));
    assert_eq!(
        h.notifications(),
        vec![format!("ring {PEER}")],
        "already gone"
    );

    // Declined from the notification.
    h.event(ended(EndReason::HungUp));
    h.phase(incoming());
    h.send(Message::Notification(notify::Event::Decline(peer(PEER))));
    assert_eq!(h.sent().last(), Some(&UserCommand::Decline));

    // Answered in the window instead: the notification is withdrawn.
    h.event(ended(EndReason::Declined));
    h.phase(incoming());
    h.click("Accept");
    h.phase(in_call(Instant::now(), false));
    assert_eq!(h.notifications().last().map(String::as_str), Some("stop"));
}

#[test]
fn a_call_ringing_in_a_focused_window_needs_no_notification() {
    let mut h = Harness::online();
    h.send(Message::Focused(true));
    h.phase(incoming());
    assert!(h.notifications().is_empty());
    h.phase(Phase::Idle);
    assert!(h.notifications().is_empty(), "nothing to withdraw");
}

#[test]
fn an_unplugged_device_is_named_with_what_replaced_it() {
    use voicecall_core::device::Direction;
    use voicecall_engine::media::DeviceSwitch;
    let mut h = Harness::online();
    h.phase(in_call(Instant::now(), false));
    h.event(EngineEvent::DeviceSwitched(DeviceSwitch {
        direction: Direction::Input,
        lost: "USB headset".into(),
        to: Some("Built-in Audio".into()),
    }));
    assert!(h.shows("Microphone disconnected — switched to Built-in Audio"));
    h.event(EngineEvent::DeviceSwitched(DeviceSwitch {
        direction: Direction::Output,
        lost: "USB headset".into(),
        to: None,
    }));
    assert!(h.shows(
        "Speaker disconnected — no other speaker found; the call goes on and one is used \
         as soon as it is plugged in"
    ));
    // The call screen stays: the call goes on.
    assert!(matches!(h.app.screen, Screen::InCall(_)));
}

mod trust;
