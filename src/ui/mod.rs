//! The desktop app (iced), halloy-style: `app` routes messages; each screen in `screen/`
//! has its State, Message, Event, update and small view functions; each concern around
//! them has a module of its own (`engine`: the engine's lifecycle, `identity`: our ID,
//! `contacts`: names and verified keys, `saved`: the settings file, `server`: the bundled
//! signaling server, `sound`: tones, `notices`, `status`: the status bar, `shortcut`,
//! `signals`). Every decision about a call is the engine's; every rule about settings and
//! contacts is core's.

mod app;
mod args;
mod clipboard;
mod contacts;
mod engine;
mod identity;
mod notices;
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
use std::time::Duration;

use iced::{Size, window};

pub use args::GuiArgs;

use app::{App, Boot, Environment};
use clipboard::SystemClipboard;
use engine::TokioLauncher;

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
    let overrides = args.overrides();
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
