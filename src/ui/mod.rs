//! The desktop app (iced), halloy-style: `app` routes messages; each screen in `screen/`
//! has its State, Message, Event, update and small view functions; each concern around
//! them has a module of its own (`engine`: the engine's lifecycle, `identity`: our ID,
//! `contacts`: names and verified keys, `saved`: the settings file, `server`: the bundled
//! signaling server, `sound`: tones, `notices`, `status`: the status bar, `shortcut`,
//! `signals`, `instance`: one window per config dir, `notify`: desktop notifications).
//! Every decision about a call is the engine's; every rule about settings, contacts and
//! call links is core's.

mod app;
mod args;
mod clipboard;
mod contacts;
mod engine;
mod identity;
mod instance;
mod notices;
mod notify;
mod saved;
mod screen;
mod server;
mod shortcut;
mod signals;
mod sound;
mod status;
mod theme;
mod widget;

#[cfg(test)]
mod tests;

use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use iced::{Size, window};

pub use args::GuiArgs;

use app::{App, Boot, Environment};
use clipboard::SystemClipboard;
use engine::TokioLauncher;
use instance::{Claim, ClaimError, Request};

/// The desktop entry's name (`org.voicecall.VoiceCall.desktop`): the window's app ID and
/// X11 class, so that desktops match the window to its menu entry and icon.
pub const APP_ID: &str = "org.voicecall.VoiceCall";

/// Opens the window and runs until it is closed; or, when a window for the same config dir
/// is already open, hands it the call link (or asks it to come forward) and exits.
pub fn run(args: GuiArgs) -> ExitCode {
    let config_dir = args
        .config_dir
        .clone()
        .unwrap_or_else(voicecall_core::config::config_dir);
    let request = args.link.clone().map_or(Request::Show, Request::Open);
    let requests = match instance::claim(&config_dir, &request) {
        Ok(Claim::First(requests)) => Some(requests),
        Ok(Claim::HandedOver) => {
            eprintln!(
                "voicecall: handed over to the window already open for {}",
                config_dir.display()
            );
            return ExitCode::SUCCESS;
        }
        Err(ClaimError::Unavailable(why)) => {
            tracing::warn!("no single-instance hand-over: {why}");
            None
        }
        Err(ClaimError::NoAnswer(why)) => {
            eprintln!("voicecall: {why}");
            return ExitCode::from(1);
        }
    };
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
    let overrides = args.overrides();
    let link = args.link.clone();
    let engine_runtime = runtime.handle().clone();
    let bundled_server = server::find_server_dir().is_ok();
    let (notifier, notifications) = notify::desktop(runtime.handle());
    // iced calls `boot` once; what it hands over can only be taken once.
    let handed = Mutex::new(Some((notifier, notifications, requests)));
    let boot = move || {
        let (notifier, notifications, requests) =
            handed.lock().ok().and_then(|mut once| once.take()).map_or(
                (
                    Box::new(notify::Silent) as Box<dyn notify::Notifier>,
                    None,
                    None,
                ),
                |(n, e, r)| (n, Some(e), r),
            );
        App::new(
            Boot {
                config_dir: config_dir.clone(),
                overrides: overrides.clone(),
                link: link.clone(),
            },
            Environment {
                launcher: Box::new(TokioLauncher::new(engine_runtime.clone())),
                clipboard: Box::new(SystemClipboard::default()),
                notifier,
                requests,
                notifications,
                bundled_server,
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
    window.platform_specific.application_id = APP_ID.into();
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
