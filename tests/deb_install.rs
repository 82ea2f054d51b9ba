//! The Debian packages installed for real: `dpkg -i` on this machine (maintainer scripts
//! and triggers included), the installed files checked, the app launched from its
//! installed menu entry under Xvfb and its window read back, then `dpkg -P`, after which
//! nothing of either package is left on the system (user data in a home stays the user's).
//!
//! The server package must install and purge on a machine where systemd is not running
//! (containers, CI): its scripts enable the unit the deb-systemd-helper way and start it
//! only where systemd runs.
//!
//! Acts on the real system, so it runs only as root, and refuses to run where a voicecall
//! package is installed that it did not install (it would purge someone's install).
//! CI runs it on a fresh Debian 12 machine. Needs what tests/deb_package.rs needs.
#![cfg(target_os = "linux")]

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use voicecall_lab::support::debian::{Packages, build_packages, expect_ok};
use voicecall_lab::support::{Xvfb, alive, output_dir};

const APP_ID: &str = "org.voicecall.VoiceCall";
const DESKTOP_ENTRY: &str = "/usr/share/applications/org.voicecall.VoiceCall.desktop";
const UNIT: &str = "voicecall-signaling.service";
const PACKAGES: [&str; 2] = ["voicecall", "voicecall-server"];

/// Where a package's traces would stay behind: files and links named for it.
const SYSTEM_DIRS: [&str; 7] = [
    "/etc",
    "/usr/bin",
    "/usr/share",
    "/lib/systemd",
    "/usr/lib/systemd",
    "/var/lib/systemd",
    "/var/lib/dpkg/info",
];

/// Paths under the system folders whose names mention voicecall.
fn traces() -> BTreeSet<String> {
    // find exits non-zero for a folder that does not exist; what it found still counts.
    let output = Command::new("find")
        .args(SYSTEM_DIRS)
        .args(["-name", "*voicecall*"])
        .stderr(Stdio::null())
        .output()
        .expect("run find");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `dpkg-query`'s status of `package`, "" when dpkg has no record of it.
fn status(package: &str) -> String {
    let output = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .expect("run dpkg-query");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn known(package: &str) -> bool {
    let status = status(package);
    !status.is_empty() && !status.ends_with("not-installed")
}

fn dpkg(args: &[&str]) -> String {
    expect_ok("dpkg", args)
}

/// Purges what the test installed, even when it fails half way.
struct Installed(Vec<&'static str>);

impl Drop for Installed {
    fn drop(&mut self) {
        for package in self.0.drain(..).rev() {
            let _ = Command::new("dpkg").args(["-P", package]).status();
        }
    }
}

fn refuse_unless_free_to_install() {
    let uid = expect_ok("id", &["-u"]);
    assert_eq!(
        uid.trim(),
        "0",
        "this test installs packages with dpkg: run it as root (CI does), on a machine of its own"
    );
    for package in PACKAGES {
        assert!(
            !known(package),
            "refusing to run: {package} is already on this machine ({}), not installed by \
             this test; `dpkg -P {package}` it or run on a fresh machine",
            status(package)
        );
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

#[test]
fn the_packages_install_launch_and_purge_cleanly() {
    refuse_unless_free_to_install();
    let out = output_dir("deb_install");
    let Packages { app, server } = build_packages(&out);
    let before = traces();
    let mut installed = Installed(Vec::new());

    installed.0.push("voicecall");
    dpkg(&["-i", path_str(&app)]);
    assert_eq!(status("voicecall"), "install ok installed");
    let app_files = dpkg(&["-L", "voicecall"]);
    check_installed_app();
    launch_from_the_menu(&out);
    dpkg(&["-P", "voicecall"]);
    installed.0.retain(|p| *p != "voicecall");
    check_purged("voicecall", &app_files);
    assert!(
        !std::fs::read_to_string("/usr/share/applications/mimeinfo.cache")
            .unwrap_or_default()
            .contains(APP_ID),
        "the purged app still handles voicecall: links"
    );

    installed.0.push("voicecall-server");
    dpkg(&["-i", path_str(&server)]);
    assert_eq!(status("voicecall-server"), "install ok installed");
    let server_files = dpkg(&["-L", "voicecall-server"]);
    check_installed_server();
    dpkg(&["-P", "voicecall-server"]);
    installed.0.retain(|p| *p != "voicecall-server");
    check_purged("voicecall-server", &server_files);

    assert_eq!(
        traces(),
        before,
        "the packages left files behind (or removed some that were there before)"
    );
}

/// The binary on PATH, the menu entry, icons, metainfo, man pages, and the desktop
/// database's `voicecall:` handler (dpkg's trigger for desktop-file-utils made it).
fn check_installed_app() {
    let on_path = Command::new("sh")
        .args(["-c", "command -v voicecall"])
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .output()
        .expect("run sh");
    assert_eq!(
        String::from_utf8_lossy(&on_path.stdout).trim(),
        "/usr/bin/voicecall"
    );
    let help = expect_ok("/usr/bin/voicecall", &["--help"]);
    assert!(help.contains("listen"), "voicecall --help:\n{help}");
    let mut files = vec![
        DESKTOP_ENTRY.to_owned(),
        format!("/usr/share/metainfo/{APP_ID}.metainfo.xml"),
        format!("/usr/share/icons/hicolor/scalable/apps/{APP_ID}.svg"),
        "/usr/share/man/man1/voicecall.1.gz".into(),
        "/usr/share/man/man1/voicecall-call.1.gz".into(),
        "/usr/share/doc/voicecall/copyright".into(),
    ];
    for size in [16, 24, 32, 48, 64, 128, 256, 512] {
        files.push(format!(
            "/usr/share/icons/hicolor/{size}x{size}/apps/{APP_ID}.png"
        ));
    }
    for file in &files {
        let meta = std::fs::metadata(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(meta.len() > 0, "{file} is empty");
    }
    expect_ok("desktop-file-validate", &[DESKTOP_ENTRY]);
    let home = tempfile::tempdir().expect("home");
    let handler = Command::new("xdg-mime")
        .args(["query", "default", "x-scheme-handler/voicecall"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.path())
        .env("XDG_DATA_DIRS", "/usr/share")
        .output()
        .expect("run xdg-mime");
    assert_eq!(
        String::from_utf8_lossy(&handler.stdout).trim(),
        format!("{APP_ID}.desktop"),
        "the installed app does not handle voicecall: links"
    );
}

/// Launches the installed menu entry as a desktop does, in a fresh home, and reads its
/// first screen back: no server set up and no checkout around, it asks for one.
fn launch_from_the_menu(out: &Path) {
    let display = Xvfb::start().unwrap_or_else(|e| panic!("{e}"));
    let home = tempfile::tempdir().expect("home");
    let launched = Command::new("gio")
        .args(["launch", DESKTOP_ENTRY])
        .current_dir(home.path())
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home.path())
        .env("XDG_DATA_DIRS", "/usr/share")
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("XDG_DATA_HOME", home.path().join(".local/share"))
        .env("DISPLAY", &display.name)
        .env("ICED_BACKEND", "tiny-skia")
        // The app inherits gio's output: a pipe would stay open as long as the app runs.
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run gio launch");
    assert!(launched.success(), "gio launch failed: {launched}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let window = loop {
        let found = display
            .run(
                "xdotool",
                &["search", "--onlyvisible", "--name", "^voicecall"],
            )
            .unwrap_or_default();
        if let Some(window) = found.lines().next() {
            break window.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "the installed app opened no window"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let pid: u32 = display
        .xdotool(&["getwindowpid", &window])
        .trim()
        .parse()
        .expect("the window's process ID");
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/exe")).expect("the app's executable"),
        PathBuf::from("/usr/bin/voicecall"),
        "the menu entry ran another binary"
    );
    display
        .wait_window_text(
            &window,
            &out.join("installed-welcome.png"),
            &["Welcome to voicecall", "No signaling server configured"],
            Duration::from_secs(15),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    expect_ok("kill", &["-TERM", &pid.to_string()]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        assert!(Instant::now() < deadline, "the app did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Installed without a running systemd: the TURN secret made, the unit enabled the way
/// deb-systemd-helper records it (so systemd starts it on the next boot), nothing started.
fn check_installed_server() {
    for file in [
        "/usr/share/voicecall-server/src/index.js",
        "/usr/share/voicecall-server/node_modules/socket.io/package.json",
        "/lib/systemd/system/voicecall-signaling.service",
        "/etc/voicecall/signaling.env",
    ] {
        assert!(Path::new(file).is_file(), "{file} is not installed");
    }
    let secret = std::fs::metadata("/etc/voicecall/turn-secret").expect("postinst's TURN secret");
    assert_eq!(
        secret.permissions().mode() & 0o777,
        0o600,
        "the secret is root's"
    );
    assert!(secret.len() >= 32, "the TURN secret is too short");
    let wanted = Path::new("/etc/systemd/system/multi-user.target.wants").join(UNIT);
    assert!(
        wanted.is_symlink(),
        "the unit is not enabled ({} missing)",
        wanted.display()
    );
    // deb-systemd-helper's record that it enabled the unit: purge disables it from this.
    let record =
        Path::new("/var/lib/systemd/deb-systemd-helper-enabled").join(format!("{UNIT}.dsh-also"));
    assert!(
        record.is_file(),
        "deb-systemd-helper has no record of the unit ({} missing)",
        record.display()
    );
}

/// Every file `dpkg -L` listed is gone, and so is every folder the package brought that
/// holds nothing else; dpkg has forgotten the package.
fn check_purged(package: &str, listed: &str) {
    assert!(
        !known(package),
        "dpkg still knows {package}: {}",
        status(package)
    );
    let left: Vec<&str> = listed
        .lines()
        .filter(|path| {
            let path = Path::new(path);
            // Folders (and links to folders, such as /lib on a merged-/usr system) are
            // shared unless they are the package's own.
            if path.is_dir() {
                path.to_string_lossy().contains("voicecall")
            } else {
                path.symlink_metadata().is_ok()
            }
        })
        .collect();
    assert!(left.is_empty(), "{package} left behind: {left:?}");
}
