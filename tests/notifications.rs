//! Incoming calls while the window is in the background: a private session bus
//! (`dbus-daemon --session`) with a fake notification service on it that records every
//! `Notify` and answers with the action a person would click (the `ActionInvoked`
//! signal). The desktop app under Xvfb, unfocused, must raise a notification with Accept
//! and Decline for each ringing call, ask for attention, and the click must accept or
//! decline the call the caller placed.
//!
//! Needs dbus-daemon, Xvfb and xdotool (deploy/setup-debian.sh installs them).
#![cfg(all(unix, not(target_os = "macos")))]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use voicecall_lab::support::{Client, DesktopApp, Server, Xvfb, output_dir};
use zbus::zvariant::OwnedValue;

const APP_LOG: &str = "info,webrtc=error,rtc=error,wgpu=error,naga=error,iced=warn";
const PATH: &str = "/org/freedesktop/Notifications";
const INTERFACE: &str = "org.freedesktop.Notifications";

/// A session bus of our own; killed on drop.
struct SessionBus {
    child: Child,
    address: String,
}

impl SessionBus {
    fn start(dir: &std::path::Path) -> Self {
        let socket = dir.join("bus");
        let mut child = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address"])
            .arg(format!("--address=unix:path={}", socket.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run dbus-daemon (apt-get install dbus)");
        let stdout = child.stdout.take().expect("dbus-daemon stdout");
        let mut address = String::new();
        BufReader::new(stdout)
            .read_line(&mut address)
            .expect("dbus-daemon prints its address");
        let address = address.trim().to_owned();
        assert!(address.starts_with("unix:"), "dbus-daemon said {address:?}");
        Self { child, address }
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `Notify` call as the service received it.
#[derive(Debug, Clone)]
struct Shown {
    id: u32,
    app_name: String,
    summary: String,
    actions: Vec<String>,
    urgency: Option<u8>,
}

#[derive(Default)]
struct Record {
    shown: Vec<Shown>,
    closed: Vec<u32>,
}

/// The fake notification service.
struct FakeService {
    record: Arc<Mutex<Record>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl FakeService {
    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into()]
    }

    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        replaces_id: u32,
        _app_icon: String,
        summary: String,
        _body: String,
        actions: Vec<String>,
        hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut record = self.record.lock().expect("record");
        let id = if replaces_id != 0 {
            replaces_id
        } else {
            record.shown.len() as u32 + 1
        };
        let urgency = hints.get("urgency").and_then(|v| u8::try_from(v).ok());
        record.shown.push(Shown {
            id,
            app_name,
            summary,
            actions,
            urgency,
        });
        id
    }

    fn close_notification(&self, id: u32) {
        self.record.lock().expect("record").closed.push(id);
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "fake".into(),
            "voicecall tests".into(),
            "1".into(),
            "1.2".into(),
        )
    }
}

struct NotificationService {
    connection: zbus::blocking::Connection,
    record: Arc<Mutex<Record>>,
}

impl NotificationService {
    fn start(bus: &SessionBus) -> Self {
        let record = Arc::new(Mutex::new(Record::default()));
        let service = FakeService {
            record: Arc::clone(&record),
        };
        let connection = zbus::blocking::connection::Builder::address(bus.address.as_str())
            .and_then(|b| b.name(INTERFACE))
            .and_then(|b| b.serve_at(PATH, service))
            .and_then(|b| b.build())
            .unwrap_or_else(|e| panic!("fake notification service: {e}"));
        Self { connection, record }
    }

    /// Waits for the `n`th notification (1-based).
    fn wait_shown(&self, n: usize, timeout: Duration) -> Shown {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(shown) = self.record.lock().expect("record").shown.get(n - 1) {
                return shown.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no notification #{n} within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What a person's click on `action` sends.
    fn click(&self, id: u32, action: &str) {
        self.connection
            .emit_signal(
                Option::<&str>::None,
                PATH,
                INTERFACE,
                "ActionInvoked",
                &(id, action),
            )
            .unwrap_or_else(|e| panic!("emit ActionInvoked: {e}"));
    }
}

/// Gives the keyboard to the root window (no window manager does it) and waits until X
/// says `window` lost it.
fn unfocus(display: &Xvfb, window: &str) {
    let info = display
        .run("xwininfo", &["-root"])
        .unwrap_or_else(|e| panic!("{e}"));
    let root = info
        .split_whitespace()
        .skip_while(|w| *w != "id:")
        .nth(1)
        .unwrap_or_else(|| panic!("no root window id in {info}"))
        .to_owned();
    display.xdotool(&["windowfocus", &root]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while display
        .run("xdotool", &["getwindowfocus"])
        .unwrap_or_default()
        == window
    {
        assert!(Instant::now() < deadline, "window {window} kept the focus");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_call_ringing_in_the_background_is_answered_or_declined_from_its_notification() {
    let out = output_dir("notifications");
    let bus = SessionBus::start(&out);
    let service = NotificationService::start(&bus);
    let server = Server::start();
    let display = Xvfb::start().unwrap_or_else(|e| panic!("{e}"));
    // The pointer away from where the window opens: nothing gives it the focus.
    display.xdotool(&["mousemove", "1270", "790"]);
    let app = DesktopApp::on(&display, &server)
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .log_to(&out.join("app.log"), APP_LOG)
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let window = display
        .wait_app_window(app.pid(), Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}"));

    // Accept from the notification.
    let mut caller = Client::call(&server, &app.id)
        .hang_up_after(Duration::from_secs(1))
        .spawn();
    let shown = service.wait_shown(1, Duration::from_secs(20));
    assert_eq!(shown.app_name, "voicecall");
    assert_eq!(shown.summary, format!("{} is calling", caller.id));
    assert_eq!(shown.urgency, Some(2), "critical, like a ringing phone");
    for key in ["accept", "decline"] {
        assert!(
            shown.actions.iter().any(|a| a == key),
            "{:?}",
            shown.actions
        );
    }
    let hints = display
        .run("xprop", &["-id", &window, "WM_HINTS"])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        hints.to_lowercase().contains("urgency"),
        "the window did not ask for attention: {hints}"
    );
    service.click(shown.id, "accept");
    caller.wait_media_started(Duration::from_secs(20));
    caller.expect_exit_ok(Duration::from_secs(20));

    // Accepting brought the window forward; put it in the background again.
    unfocus(&display, &window);

    // Decline from the next one.
    let mut caller = Client::call(&server, &app.id).spawn();
    let shown = service.wait_shown(2, Duration::from_secs(20));
    assert_eq!(shown.summary, format!("{} is calling", caller.id));
    service.click(shown.id, "decline");
    let status = caller.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(3), "declined is a failed call");
    assert_eq!(caller.ended()["reason"], "declined");
}
