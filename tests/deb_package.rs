//! The Debian packages on a real system: deploy/package.sh builds them, they install with
//! `dpkg -i`, the app starts from its desktop entry under Xvfb with no checkout around it
//! (so it asks for a server), connects to the server the other package installed, takes a
//! call link through `xdg-open` and the installed `voicecall:` handler, and `dpkg -P`
//! leaves nothing behind but the user's own settings.
//!
//! The packages are built from the debug binary `cargo test` already built: the release
//! build `deploy/package.sh` makes by default would add minutes to CI for the same
//! packaging steps, and this test checks the packaging, not the optimiser.
//!
//! It changes the system (root, dpkg), so it is ignored by a plain `cargo test`;
//! `deploy/test.sh` runs it with `--ignored`. It refuses to run where either package is
//! already installed, and purges what it installed even when it fails.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use voicecall_lab::support::{Xvfb, output_dir, repo, voicecall_bin};

const PACKAGES: [&str; 2] = ["voicecall", "voicecall-server"];
const DESKTOP_ENTRY: &str = "/usr/share/applications/org.voicecall.VoiceCall.desktop";
const METAINFO: &str = "/usr/share/metainfo/org.voicecall.VoiceCall.metainfo.xml";
const UNIT: &str = "/lib/systemd/system/voicecall-signaling.service";
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn expect_ok(program: &str, args: &[&str]) -> String {
    let output = run(program, args);
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// dpkg, waiting (bounded) while someone else's apt or dpkg holds its lock.
fn dpkg(args: &[&str]) -> Output {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let output = run("dpkg", args);
        let locked = String::from_utf8_lossy(&output.stderr).contains("lock");
        if output.status.success() || !locked || Instant::now() >= deadline {
            return output;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn installed(package: &str) -> bool {
    let output = run("dpkg-query", &["-W", "-f=${Status}", package]);
    String::from_utf8_lossy(&output.stdout).contains("install ok installed")
}

/// Purges what the test installed, also when it fails half-way.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let mut args = vec!["-P"];
        args.extend(PACKAGES.iter().filter(|p| installed(p)));
        if args.len() > 1 {
            let _ = dpkg(&args);
        }
    }
}

/// The installed server, run as its unit would: the packaged env file, the TURN secret
/// postinst made, but a free port.
struct InstalledServer {
    child: Child,
    url: String,
}

impl InstalledServer {
    fn start() -> Self {
        let mut command = Command::new("node");
        command
            .arg("src/index.js")
            .current_dir("/usr/share/voicecall-server")
            .env_clear()
            .env("PATH", "/usr/bin:/bin");
        let env = std::fs::read_to_string("/etc/voicecall/signaling.env").expect("env file");
        for line in env.lines().map(str::trim) {
            if let Some((key, value)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
                command.env(key, value);
            }
        }
        let mut child = command
            .env("PORT", "0")
            .env("TURN_SECRET_FILE", "/etc/voicecall/turn-secret")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run the installed server with node");
        let stdout = child.stdout.take().expect("server stdout");
        let mut port = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let Ok(record) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if record["msg"] == "listening" {
                port = record["port"].as_u64();
                break;
            }
        }
        let port = port.unwrap_or_else(|| panic!("the installed server did not start"));
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

/// Everything a package put on the system (directories shared with others excluded).
fn package_files(package: &str) -> Vec<PathBuf> {
    expect_ok("dpkg", &["-L", package])
        .lines()
        .map(PathBuf::from)
        .filter(|p| p.is_file() || p.is_symlink())
        .collect()
}

fn build_packages(out: &Path) -> (PathBuf, PathBuf) {
    let debs = out.join("debs");
    let binary = voicecall_bin();
    let status = Command::new(repo().join("deploy/package.sh"))
        .args(["--compression", "none", "--out"])
        .arg(&debs)
        .arg("--binary")
        .arg(&binary)
        .status()
        .expect("run deploy/package.sh");
    assert!(status.success(), "deploy/package.sh failed");
    let arch = expect_ok("dpkg", &["--print-architecture"]);
    let app = debs.join(format!("voicecall_{VERSION}_{}.deb", arch.trim()));
    let server = debs.join(format!("voicecall-server_{VERSION}_all.deb"));
    assert!(app.is_file() && server.is_file(), "packages missing in {debs:?}");
    (app, server)
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
    let depends = expect_ok(
        "dpkg-deb",
        &["-f", app.to_str().expect("utf-8"), "Depends"],
    );
    assert!(depends.contains("libc6"), "Depends: {depends}");
}

/// The installed files pass the validators; the unit's sandbox scores as hardened.
fn check_installed() {
    expect_ok("desktop-file-validate", &[DESKTOP_ENTRY]);
    expect_ok("appstreamcli", &["validate", "--no-net", METAINFO]);
    expect_ok("systemd-analyze", &["verify", UNIT]);
    let security = expect_ok("systemd-analyze", &["security", "--offline=true", UNIT]);
    let exposure: f64 = security
        .lines()
        .find_map(|l| l.split("voicecall-signaling.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{security}"));
    println!("voicecall-signaling.service exposure level: {exposure}");
    assert!(exposure < 2.0, "the unit's sandbox got weaker: {exposure}");
    let secret = std::fs::metadata("/etc/voicecall/turn-secret").expect("postinst made the secret");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(secret.permissions().mode() & 0o077, 0, "the TURN secret is root-only");
    let handler = Command::new("xdg-mime")
        .args(["query", "default", "x-scheme-handler/voicecall"])
        .env("XDG_DATA_DIRS", "/usr/local/share:/usr/share")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env("XDG_DATA_HOME", "/nonexistent")
        .env_remove("XDG_CURRENT_DESKTOP")
        .output()
        .expect("run xdg-mime");
    assert_eq!(
        String::from_utf8_lossy(&handler.stdout).trim(),
        "org.voicecall.VoiceCall.desktop",
        "the package does not handle voicecall: links"
    );
}

/// A desktop session's environment for the installed app: a home of its own, no checkout
/// anywhere near, no voicecall settings from the test's environment.
fn session(command: &mut Command, display: &Xvfb, home: &Path) {
    command
        .current_dir(home)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home)
        .env("DISPLAY", &display.name)
        .env("ICED_BACKEND", "tiny-skia")
        .env("RUST_LOG", "warn,wgpu=error,naga=error");
}

#[test]
#[ignore = "installs and purges system packages as root: deploy/test.sh runs it with --ignored"]
fn the_packages_install_launch_from_the_menu_and_purge_cleanly() {
    assert!(
        expect_ok("id", &["-u"]).trim() == "0",
        "dpkg -i needs root: run as root (CI does)"
    );
    for package in PACKAGES {
        assert!(
            !installed(package),
            "{package} is installed on this machine: this test would replace and purge it"
        );
    }
    let out = output_dir("deb_package");
    let (app_deb, server_deb) = build_packages(&out);
    check_contents(&app_deb, &server_deb);

    let guard = Installed;
    let installation = dpkg(&[
        "-i",
        app_deb.to_str().expect("utf-8"),
        server_deb.to_str().expect("utf-8"),
    ]);
    assert!(
        installation.status.success(),
        "dpkg -i failed:\n{}",
        String::from_utf8_lossy(&installation.stderr)
    );
    let files: Vec<PathBuf> = PACKAGES.iter().flat_map(|p| package_files(p)).collect();
    check_installed();
    let server = InstalledServer::start();
    let server_url = server.url.clone();

    // The app, launched from its menu entry as a desktop would, in a fresh home.
    let display = Xvfb::start().unwrap_or_else(|e| panic!("{e}"));
    let home = out.join("home");
    std::fs::create_dir_all(&home).expect("home");
    let mut launch = Command::new("gio");
    launch.args(["launch", DESKTOP_ENTRY]);
    session(&mut launch, &display, &home);
    let launched = launch.output().expect("run gio launch (apt-get install libglib2.0-bin)");
    assert!(
        launched.status.success(),
        "gio launch failed: {}",
        String::from_utf8_lossy(&launched.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let window = loop {
        let found = display
            .run("xdotool", &["search", "--onlyvisible", "--name", "^voicecall"])
            .unwrap_or_default();
        if let Some(window) = found.lines().next() {
            break window.to_owned();
        }
        assert!(Instant::now() < deadline, "the installed app opened no window");
        std::thread::sleep(Duration::from_millis(200));
    };
    let pid = display.xdotool(&["getwindowpid", &window]);

    // No checkout, no server: it explains and asks.
    display
        .wait_window_text(
            &window,
            &out.join("welcome.png"),
            &["Welcome to voicecall", "Signaling server", "Connect"],
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
            &["Your ID", "Copy call link", "Connected"],
            Duration::from_secs(20),
        )
        .unwrap_or_else(|e| panic!("{e}"));

    // A call link through the installed handler reaches the running window.
    let mut open = Command::new("xdg-open");
    open.arg("voicecall:abc-def-ghj");
    session(&mut open, &display, &home);
    let opened = open.output().expect("run xdg-open");
    assert!(
        opened.status.success(),
        "xdg-open failed: {}",
        String::from_utf8_lossy(&opened.stderr)
    );
    display
        .wait_title(&window, "voicecall — call abc-def-ghj?", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}"));

    expect_ok("kill", &["-TERM", &pid]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "the app did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server);

    // Purge: nothing left but the person's settings.
    let purge = dpkg(&["-P", "voicecall", "voicecall-server"]);
    assert!(
        purge.status.success(),
        "dpkg -P failed:\n{}",
        String::from_utf8_lossy(&purge.stderr)
    );
    drop(guard);
    for package in PACKAGES {
        assert!(!installed(package), "{package} still installed");
    }
    let left: Vec<&PathBuf> = files.iter().filter(|f| f.exists() || f.is_symlink()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    for path in [
        "/etc/voicecall",
        "/usr/share/voicecall-server",
        "/etc/systemd/system/multi-user.target.wants/voicecall-signaling.service",
        "/var/lib/systemd/deb-systemd-helper-enabled/voicecall-signaling.service.dsh-also",
        "/var/lib/systemd/deb-systemd-helper-masked/voicecall-signaling.service",
    ] {
        assert!(!Path::new(path).exists(), "left behind: {path}");
    }
    let cache = std::fs::read_to_string("/usr/share/applications/mimeinfo.cache").unwrap_or_default();
    assert!(!cache.contains("voicecall"), "the MIME cache still names voicecall");
    let settings = home.join(".config/voicecall/settings.toml");
    let saved = std::fs::read_to_string(&settings).expect("the person's settings survive a purge");
    assert!(saved.contains(&server_url), "{saved}");
    let _ = std::fs::remove_dir_all(&home);
}
