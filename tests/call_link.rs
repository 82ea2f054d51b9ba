//! Call links end to end: `xdg-open voicecall:ID?server=…` under Xvfb, with this build
//! registered as the `voicecall:` handler in private XDG dirs (as the package registers
//! it system-wide), reaches the window already running for that config dir; the window
//! asks "Call ID?" and dials only when the person presses Enter. A second launch never
//! opens a second window for the same config dir; another config dir is another app.
//!
//! Needs Xvfb, xdotool, xdg-utils, desktop-file-utils, ImageMagick and tesseract
//! (deploy/setup-debian.sh installs them).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use voicecall_lab::support::{
    Client, DesktopApp, Server, SignalingUrl, Xvfb, output_dir, voicecall_bin,
};

const APP_LOG: &str = "warn,webrtc=error,rtc=error,wgpu=error,naga=error";

/// A desktop entry for this build in `xdg`/data/applications, with the MIME cache that
/// makes it the `voicecall:` handler (what the package's entry and dpkg's trigger do).
fn register_handler(xdg: &Path) {
    let applications = xdg.join("data/applications");
    std::fs::create_dir_all(&applications).expect("create XDG data dir");
    std::fs::create_dir_all(xdg.join("config")).expect("create XDG config dir");
    let entry = std::fs::read_to_string(
        voicecall_lab::support::repo().join("deploy/package/org.voicecall.VoiceCall.desktop"),
    )
    .expect("the packaged desktop entry");
    let bin = voicecall_bin();
    let entry = entry
        .replace("Exec=voicecall %u", &format!("Exec={} %u", bin.display()))
        .replace("TryExec=voicecall", &format!("TryExec={}", bin.display()));
    std::fs::write(applications.join("org.voicecall.VoiceCall.desktop"), entry)
        .expect("write desktop entry");
    let status = Command::new("update-desktop-database")
        .arg(&applications)
        .status()
        .expect("run update-desktop-database (apt-get install desktop-file-utils)");
    assert!(status.success(), "update-desktop-database failed");
}

/// `xdg-open link` as a desktop session would run it, with only our private XDG dirs.
fn xdg_open(display: &Xvfb, xdg: &Path, config_dir: &Path, link: &str) -> std::process::Output {
    Command::new("xdg-open")
        .arg(link)
        .env("DISPLAY", &display.name)
        .env("XDG_DATA_HOME", xdg.join("data"))
        .env("XDG_DATA_DIRS", xdg.join("none"))
        .env("XDG_CONFIG_HOME", xdg.join("config"))
        .env("XDG_CONFIG_DIRS", xdg.join("none"))
        .env("VOICECALL_CONFIG_DIR", config_dir)
        .env("RUST_LOG", "error")
        .env_remove("XDG_CURRENT_DESKTOP")
        .env_remove("DESKTOP_SESSION")
        .env_remove("BROWSER")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("run xdg-open (apt-get install xdg-utils)")
}

/// Gives `window` the keyboard (there is no window manager to do it) and waits until X
/// says it has it.
fn focus(display: &Xvfb, window: &str) {
    display.xdotool(&["windowfocus", window]);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while display
        .run("xdotool", &["getwindowfocus"])
        .unwrap_or_default()
        != window
    {
        assert!(
            std::time::Instant::now() < deadline,
            "window {window} never got the focus"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn xdg_open_hands_a_call_link_to_the_running_window_which_asks_before_calling() {
    let server = Server::start();
    let out = output_dir("call_link");
    let display = Xvfb::start().unwrap_or_else(|e| panic!("{e}"));
    let mut callee = Client::listen(&server).auto_accept().once().spawn();
    let config = out.join("config");
    let mut app = DesktopApp::on(&display, &server)
        .config_dir(&config)
        .log_to(&out.join("app.log"), APP_LOG)
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let window = display
        .wait_app_window(app.pid(), Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}"));
    display
        .wait_title(&window, "voicecall", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}"));

    let xdg = out.join("xdg");
    register_handler(&xdg);
    let link = format!("voicecall:{}?server={}", callee.id, server.signaling_url());
    let opened = xdg_open(&display, &xdg, &config, &link);
    let stderr = String::from_utf8_lossy(&opened.stderr);
    assert!(opened.status.success(), "xdg-open failed: {stderr}");
    assert!(
        stderr.contains("handed over to the window already open"),
        "the second launch did not hand over: {stderr}"
    );

    // The running window asks; it is still the only one.
    display
        .wait_title(
            &window,
            &format!("voicecall — call {}?", callee.id),
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    display
        .wait_window_text(
            &window,
            &out.join("confirm.png"),
            &["Call", "From a call link", "Esc cancels"],
            Duration::from_secs(5),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let everyone = display
        .run(
            "xdotool",
            &["search", "--onlyvisible", "--name", "^voicecall"],
        )
        .unwrap_or_default();
    assert_eq!(
        everyone.lines().count(),
        1,
        "a second window opened: {everyone}"
    );

    // Enter dials the link's peer, who answers.
    focus(&display, &window);
    display.xdotool(&["key", "Return"]);
    callee.wait_media_started(Duration::from_secs(20));
    display
        .wait_title(
            &window,
            &format!("voicecall — in call with {}", callee.id),
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("{e}"));

    // Another config dir is another person's app: it opens its own window.
    let other = DesktopApp::on(&display, &server)
        .spawn()
        .unwrap_or_else(|e| panic!("a second config dir did not start its own app: {e}"));
    display
        .wait_app_window(other.pid(), Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}"));
    drop(other);

    let status = app
        .terminate(Duration::from_secs(6))
        .unwrap_or_else(|| panic!("the app did not exit on SIGTERM"));
    assert!(status.success(), "the app exited with {status}");
}
