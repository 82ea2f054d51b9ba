//! The Debian packages as a person gets them: deploy/package.sh builds them, `dpkg -x`
//! unpacks both into a scratch root (the files `dpkg -i` would put on the system, without
//! touching this machine's package database), the validators pass, the app starts from
//! its desktop entry under Xvfb with no checkout around it (so it asks for a server),
//! connects to the server package's files run with node, and takes a call link through
//! `xdg-open` and the packaged `voicecall:` handler.
//!
//! The packages are built from the debug binary `cargo test` already built: the release
//! build `deploy/package.sh` makes by default would add minutes to CI for the same
//! packaging steps, and this test checks the packaging, not the optimiser.
//!
//! The real `dpkg -i` / `dpkg -P` round trip, maintainer scripts included, is
//! tests/deb_install.rs.
//!
//! Needs dpkg-dev, librsvg2-bin, desktop-file-utils, appstream, xdg-utils,
//! libglib2.0-bin, Xvfb, xdotool, ImageMagick, tesseract and npm
//! (deploy/setup-debian.sh installs them).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use voicecall_lab::support::debian::{Packages, build_packages, expect_ok};
use voicecall_lab::support::{Xvfb, alive, output_dir};

const DESKTOP_ENTRY: &str = "usr/share/applications/org.voicecall.VoiceCall.desktop";
const METAINFO: &str = "usr/share/metainfo/org.voicecall.VoiceCall.metainfo.xml";
const UNIT: &str = "lib/systemd/system/voicecall-signaling.service";

/// The unpacked server, run with the packaged env file but a free port. Without the TURN
/// secret the unit hands it: the server refuses a secret while the env file's TURN_URLS
/// are still commented out (an open packaging problem, see the README).
struct InstalledServer {
    child: Child,
    url: String,
}

impl InstalledServer {
    fn start(root: &Path) -> Self {
        let mut command = Command::new("node");
        command
            .arg("src/index.js")
            .current_dir(root.join("usr/share/voicecall-server"))
            .env_clear()
            .env("PATH", "/usr/bin:/bin");
        // As systemd starts it: the unit's Environment= first (its TURN secret a credential
        // in %d, as postinst makes one), then the env file, which overrides them.
        let credentials = root.join("run-credentials");
        std::fs::create_dir_all(&credentials).expect("credentials dir");
        std::fs::write(credentials.join("turn-secret"), "a-secret-postinst-made")
            .expect("write the TURN secret");
        let unit =
            std::fs::read_to_string(root.join("lib/systemd/system/voicecall-signaling.service"))
                .expect("the packaged unit");
        for setting in unit
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Environment="))
        {
            if let Some((key, value)) = setting.split_once('=') {
                command.env(key, value.replace("%d", &credentials.to_string_lossy()));
            }
        }
        let env = std::fs::read_to_string(root.join("etc/voicecall/signaling.env"))
            .expect("the packaged env file");
        for line in env.lines().map(str::trim) {
            if let Some((key, value)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
                command.env(key, value);
            }
        }
        let mut child = command
            .env("PORT", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run the packaged server with node");
        let stdout = child.stdout.take().expect("server stdout");
        let mut port = None;
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref().map_while(Result::ok) {
            let Ok(record) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if record["msg"] == "listening" {
                port = record["port"].as_u64();
                break;
            }
        }
        // Its logs are read to the end: a closed pipe would stop the server at its next line.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        let port = port.unwrap_or_else(|| panic!("the packaged server did not start"));
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for InstalledServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the packages hold, before they are installed.
fn check_contents(app: &Path, server: &Path) {
    let listing = |deb: &Path| expect_ok("dpkg-deb", &["-c", deb.to_str().expect("utf-8")]);
    let app_files = listing(app);
    let mut expected = vec![
        "./usr/bin/voicecall".to_owned(),
        "./usr/share/applications/org.voicecall.VoiceCall.desktop".into(),
        "./usr/share/metainfo/org.voicecall.VoiceCall.metainfo.xml".into(),
        "./usr/share/icons/hicolor/scalable/apps/org.voicecall.VoiceCall.svg".into(),
        "./usr/share/man/man1/voicecall.1.gz".into(),
        "./usr/share/man/man1/voicecall-listen.1.gz".into(),
        "./usr/share/man/man1/voicecall-call.1.gz".into(),
        "./usr/share/doc/voicecall/copyright".into(),
    ];
    for size in [16, 24, 32, 48, 64, 128, 256, 512] {
        expected.push(format!(
            "./usr/share/icons/hicolor/{size}x{size}/apps/org.voicecall.VoiceCall.png"
        ));
    }
    for file in &expected {
        assert!(app_files.contains(file.as_str()), "voicecall lacks {file}");
    }
    let server_files = listing(server);
    for file in [
        "./lib/systemd/system/voicecall-signaling.service",
        "./etc/voicecall/signaling.env",
        "./usr/share/voicecall-server/src/index.js",
        "./usr/share/voicecall-server/node_modules/socket.io/package.json",
        "./usr/share/doc/voicecall-server/examples/coturn/turnserver.conf",
        "./usr/share/doc/voicecall-server/examples/nginx/voicecall.conf",
    ] {
        assert!(server_files.contains(file), "voicecall-server lacks {file}");
    }
    assert!(
        !server_files.contains("node_modules/puppeteer-core/"),
        "development packages were shipped"
    );
    let depends = expect_ok("dpkg-deb", &["-f", app.to_str().expect("utf-8"), "Depends"]);
    assert!(depends.contains("libc6"), "Depends: {depends}");
}

/// Unpacks `debs` into `root` as `dpkg -i` would place their files, then does what dpkg's
/// triggers do for a desktop entry: the MIME cache that makes it the `voicecall:` handler.
fn unpack(debs: &[&Path], root: &Path) {
    for deb in debs {
        expect_ok(
            "dpkg",
            &[
                "-x",
                deb.to_str().expect("utf-8"),
                root.to_str().expect("utf-8"),
            ],
        );
    }
    let applications = root.join("usr/share/applications");
    expect_ok(
        "update-desktop-database",
        &[applications.to_str().expect("utf-8")],
    );
}

/// The unpacked files pass the validators; the unit's sandbox scores as hardened; the
/// desktop entry is the `voicecall:` handler.
fn check_unpacked(root: &Path) {
    let path = |relative: &str| root.join(relative).to_str().expect("utf-8").to_owned();
    expect_ok("desktop-file-validate", &[&path(DESKTOP_ENTRY)]);
    expect_ok("appstreamcli", &["validate", "--no-net", &path(METAINFO)]);
    let security = expect_ok(
        "systemd-analyze",
        &["security", "--offline=true", &path(UNIT)],
    );
    let exposure: f64 = security
        .lines()
        .find_map(|l| l.split("voicecall-signaling.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{security}"));
    println!("voicecall-signaling.service exposure level: {exposure}");
    assert!(exposure < 2.0, "the unit's sandbox got weaker: {exposure}");
    let handler = Command::new("xdg-mime")
        .args(["query", "default", "x-scheme-handler/voicecall"])
        .env("XDG_DATA_DIRS", root.join("usr/share"))
        .env("XDG_CONFIG_HOME", root.join("nonexistent"))
        .env("XDG_DATA_HOME", root.join("nonexistent"))
        .env_remove("XDG_CONFIG_DIRS")
        .env_remove("XDG_CURRENT_DESKTOP")
        .output()
        .expect("run xdg-mime");
    assert_eq!(
        String::from_utf8_lossy(&handler.stdout).trim(),
        "org.voicecall.VoiceCall.desktop",
        "the package does not handle voicecall: links"
    );
}

/// A desktop session's environment for the unpacked app: its programs first on PATH, its
/// share dir the only XDG data dir, a home of its own, no checkout anywhere near, no
/// voicecall settings from the test's environment.
fn session(command: &mut Command, display: &Xvfb, root: &Path, home: &Path) {
    let path = format!(
        "{}:/usr/local/bin:/usr/bin:/bin",
        root.join("usr/bin").display()
    );
    command
        .current_dir(home)
        .env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .env("XDG_DATA_DIRS", root.join("usr/share"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("DISPLAY", &display.name)
        .env("ICED_BACKEND", "tiny-skia")
        .env("RUST_LOG", "warn,wgpu=error,naga=error");
}

#[test]
fn the_packages_unpack_validate_launch_from_the_menu_and_open_call_links() {
    let out = output_dir("deb_package");
    let Packages {
        app: app_deb,
        server: server_deb,
    } = build_packages(&out);
    check_contents(&app_deb, &server_deb);

    // Outside the checkout: the app must not find the bundled server next to it.
    let scratch = tempfile::tempdir().expect("scratch root");
    let root = scratch.path().join("root");
    let home = scratch.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    unpack(&[&app_deb, &server_deb], &root);
    check_unpacked(&root);
    let server = InstalledServer::start(&root);

    // The app, launched from its menu entry as a desktop would, in a fresh home.
    let display = Xvfb::start().unwrap_or_else(|e| panic!("{e}"));
    let mut launch = Command::new("gio");
    launch.arg("launch").arg(root.join(DESKTOP_ENTRY));
    session(&mut launch, &display, &root, &home);
    // The app inherits gio's output: a pipe for it would stay open as long as the app runs,
    // so it goes to a file, read back if no window comes.
    let app_log = out.join("app.log");
    let log_file = std::fs::File::create(&app_log).expect("the app's log file");
    let launched = launch
        .stdout(Stdio::null())
        .stderr(log_file)
        .status()
        .expect("run gio launch (apt-get install libglib2.0-bin)");
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
            "the unpacked app opened no window; its processes: {}; its log:\n{}",
            Command::new("pgrep")
                .args(["-a", "voicecall"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default(),
            std::fs::read_to_string(&app_log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let pid = display.xdotool(&["getwindowpid", &window]);
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("the app's executable");
    assert_eq!(
        exe,
        root.join("usr/bin/voicecall"),
        "the menu entry ran another binary"
    );

    // No checkout, no server: it explains and asks.
    display
        .wait_window_text(
            &window,
            &out.join("welcome.png"),
            &[
                "Welcome to voicecall",
                "Signaling server",
                "No signaling server configured",
            ],
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    display.xdotool(&["windowfocus", &window]);
    display.xdotool(&["type", "--delay", "20", &server.url]);
    display.xdotool(&["key", "Return"]);
    display
        .wait_window_text(
            &window,
            &out.join("home.png"),
            &["Your ID", "a call link that opens voicecall", "Connected"],
            Duration::from_secs(20),
        )
        .unwrap_or_else(|e| panic!("{e}"));

    // A call link through the packaged handler reaches the running window.
    let mut open = Command::new("xdg-open");
    open.arg("voicecall:abc-def-ghj");
    session(&mut open, &display, &root, &home);
    let opened = open.output().expect("run xdg-open");
    assert!(
        opened.status.success(),
        "xdg-open failed: {}",
        String::from_utf8_lossy(&opened.stderr)
    );
    display
        .wait_title(
            &window,
            "voicecall — call abc-def-ghj?",
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("{e}"));

    expect_ok("kill", &["-TERM", &pid]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let pid_number: u32 = pid.trim().parse().expect("a process ID");
    while alive(pid_number) {
        assert!(Instant::now() < deadline, "the app did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    let server_url = server.url.clone();
    drop(server);
    let settings = std::fs::read_to_string(home.join(".config/voicecall/settings.toml"))
        .expect("the app saved the server the person typed");
    assert!(settings.contains(&server_url), "{settings}");
}
