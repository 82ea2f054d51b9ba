//! The desktop app in real windows: a virtual X display (Xvfb), the bundled signaling
//! server, two `voicecall` windows driven with xdotool like a person would (click the field,
//! type the ID, click Call; the other side presses Enter to accept; End Call), screenshots
//! of every screen read back with OCR, and the audio each side recorded compared with the
//! speech the other side played.
//!
//! Needs Xvfb, xdotool, ImageMagick and tesseract (deploy/setup-debian.sh installs them).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use voicecall_lab::support::{
    Conversation, DesktopApp, DesktopAppBuilder, Server, Xvfb, output_dir, repo,
};

/// The size the app asks for; every screenshot must have it.
const WINDOW: (u32, u32) = (560, 720);

/// What the apps log (into the test's output folder): warnings, without the libraries'
/// routine noise.
const APP_LOG: &str = "warn,webrtc=error,rtc=error,wgpu=error,naga=error";

// ---------------------------------------------------------------------------------------
// One app window

/// A desktop app and its window on the test's display.
struct App {
    label: &'static str,
    app: DesktopApp,
    id: String,
    window: String,
}

impl App {
    fn spawn(label: &'static str, app: DesktopAppBuilder) -> Self {
        let app = app.spawn().unwrap_or_else(|e| panic!("app {label}: {e}"));
        Self {
            label,
            id: app.id.clone(),
            app,
            window: String::new(),
        }
    }

    fn pid(&self) -> String {
        self.app.pid().to_string()
    }

    /// Finds this process's visible window.
    fn find_window(&mut self, display: &Xvfb) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = display
                .run(
                    "xdotool",
                    &[
                        "search",
                        "--all",
                        "--onlyvisible",
                        "--pid",
                        &self.pid(),
                        "--name",
                        "^voicecall",
                    ],
                )
                .unwrap_or_default();
            if let Some(window) = found.lines().next() {
                self.window = window.to_owned();
                return;
            }
            assert!(
                Instant::now() < deadline,
                "app {} opened no window",
                self.label
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn title(&self, display: &Xvfb) -> String {
        display
            .run("xdotool", &["getwindowname", &self.window])
            .unwrap_or_default()
    }

    fn wait_title(&self, display: &Xvfb, want: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let title = self.title(display);
            if title == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "app {}: window title is {title:?}, expected {want:?}",
                self.label
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Gives this window the keyboard (there is no window manager to do it).
    fn focus(&self, display: &Xvfb) {
        display.xdotool(&["windowfocus", &self.window]);
        std::thread::sleep(Duration::from_millis(150));
    }

    fn click(&self, display: &Xvfb, (x, y): (u32, u32)) {
        display.xdotool(&[
            "mousemove",
            "--window",
            &self.window,
            &x.to_string(),
            &y.to_string(),
            "click",
            "1",
        ]);
    }

    /// SIGTERM, as a session manager would: the app hangs up and exits.
    fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        self.app.terminate(timeout).unwrap_or_else(|| {
            panic!(
                "app {} did not exit within {timeout:?} of SIGTERM",
                self.label
            )
        })
    }
}

// ---------------------------------------------------------------------------------------
// Screenshots and what is on them

/// An RGB image read back from a screenshot.
struct Image {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Image {
    /// Reads any image ImageMagick understands, via binary PPM.
    fn load(path: &Path) -> Image {
        let output = Command::new("convert")
            .arg(path)
            .args(["-depth", "8", "ppm:-"])
            .output()
            .expect("run ImageMagick convert");
        assert!(output.status.success(), "convert {path:?} failed");
        parse_ppm(&output.stdout).unwrap_or_else(|| panic!("unreadable PPM from {path:?}"))
    }

    fn pixel(&self, x: usize, y: usize) -> (u8, u8, u8) {
        let i = (y * self.width + x) * 3;
        (self.rgb[i], self.rgb[i + 1], self.rgb[i + 2])
    }

    fn luminance(&self, x: usize, y: usize) -> f64 {
        let (r, g, b) = self.pixel(x, y);
        0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b)
    }

    /// Standard deviation of the luminance: near zero for a blank window.
    fn luminance_spread(&self) -> f64 {
        let n = (self.width * self.height) as f64;
        let lums: Vec<f64> = (0..self.height)
            .flat_map(|y| (0..self.width).map(move |x| (x, y)))
            .map(|(x, y)| self.luminance(x, y))
            .collect();
        let mean = lums.iter().sum::<f64>() / n;
        (lums.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / n).sqrt()
    }

    fn distinct_colours(&self) -> usize {
        self.rgb
            .chunks_exact(3)
            .map(|p| (p[0], p[1], p[2]))
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// Filled, medium-dark rectangles: the buttons (green, red, grey), as bounding boxes.
    fn buttons(&self) -> Vec<Rect> {
        let (w, h) = (self.width, self.height);
        let fill = |x: usize, y: usize| {
            let l = self.luminance(x, y);
            (50.0..200.0).contains(&l)
        };
        let mut seen = vec![false; w * h];
        let mut rects = Vec::new();
        for start in 0..w * h {
            if seen[start] || !fill(start % w, start / w) {
                continue;
            }
            seen[start] = true;
            let mut stack = vec![start];
            let (mut x0, mut y0, mut x1, mut y1, mut count) = (w, h, 0, 0, 0usize);
            while let Some(i) = stack.pop() {
                let (x, y) = (i % w, i / w);
                count += 1;
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
                let mut visit = |nx: usize, ny: usize| {
                    let j = ny * w + nx;
                    if !seen[j] && fill(nx, ny) {
                        seen[j] = true;
                        stack.push(j);
                    }
                };
                if x > 0 {
                    visit(x - 1, y);
                }
                if x + 1 < w {
                    visit(x + 1, y);
                }
                if y > 0 {
                    visit(x, y - 1);
                }
                if y + 1 < h {
                    visit(x, y + 1);
                }
            }
            let rect = Rect {
                x: x0,
                y: y0,
                w: x1 - x0 + 1,
                h: y1 - y0 + 1,
            };
            if rect.w >= 40 && rect.h >= 24 && count as f64 >= 0.6 * (rect.w * rect.h) as f64 {
                rects.push(rect);
            }
        }
        rects
    }
}

fn parse_ppm(bytes: &[u8]) -> Option<Image> {
    // "P6" width height maxval, whitespace separated, then one whitespace byte and the data.
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let start = pos;
        while pos < bytes.len() && !bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(std::str::from_utf8(bytes.get(start..pos)?).ok()?.to_owned());
    }
    if fields[0] != "P6" || fields[3] != "255" {
        return None;
    }
    let width: usize = fields[1].parse().ok()?;
    let height: usize = fields[2].parse().ok()?;
    let data = bytes.get(pos + 1..pos + 1 + width * height * 3)?;
    Some(Image {
        width,
        height,
        rgb: data.to_vec(),
    })
}

#[derive(Debug, Clone, Copy)]
struct Rect {
    x: usize,
    y: usize,
    w: usize,
    h: usize,
}

impl Rect {
    fn center(&self) -> (u32, u32) {
        ((self.x + self.w / 2) as u32, (self.y + self.h / 2) as u32)
    }
}

/// What OCR read on a screenshot: the words of the page, and each button's label.
struct Reading {
    words: Vec<(String, Rect)>,
    buttons: Vec<(String, Rect)>,
    /// The page read again with layout analysis (`read_page`), when the words missed a label.
    page: String,
}

impl Reading {
    fn text(&self) -> String {
        let mut text: Vec<&str> = self.words.iter().map(|(w, _)| w.as_str()).collect();
        text.extend(self.buttons.iter().map(|(b, _)| b.as_str()));
        text.push(&self.page);
        text.join(" ")
    }

    /// Whether `label` is on screen. A peer ID may have one or two characters misread
    /// (OCR takes a 7 for a /); any other ID would differ in about eight.
    fn contains(&self, label: &str) -> bool {
        let squash = |s: &str| s.split_whitespace().collect::<String>();
        let text = squash(&self.text());
        let label = squash(label);
        if text.contains(&label) {
            return true;
        }
        let is_id = label.contains('-') && voicecall_core::id::PeerId::parse(&label).is_ok();
        is_id && contains_approximately(&text, &label, 2)
    }

    fn button(&self, label: &str) -> Option<Rect> {
        self.buttons
            .iter()
            .find(|(text, _)| text.trim() == label)
            .map(|(_, rect)| *rect)
    }

    fn word(&self, word: &str) -> Option<Rect> {
        self.words
            .iter()
            .find(|(text, _)| text == word)
            .map(|(_, rect)| *rect)
    }
}

/// Whether some stretch of `text` is within `max_edits` edits of `needle`.
fn contains_approximately(text: &str, needle: &str, max_edits: usize) -> bool {
    let text: Vec<char> = text.chars().collect();
    let needle: Vec<char> = needle.chars().collect();
    let n = needle.len();
    (n.saturating_sub(max_edits)..=n + max_edits).any(|len| {
        text.windows(len.max(1))
            .any(|window| edit_distance(window, &needle) <= max_edits)
    })
}

fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

fn tesseract(image: &Path, psm: &str, tsv: bool) -> String {
    let mut cmd = Command::new("tesseract");
    cmd.arg(image).arg("-").args(["--psm", psm]);
    if tsv {
        cmd.arg("tsv");
    }
    let output = cmd
        .output()
        .expect("run tesseract (apt-get install tesseract-ocr)");
    assert!(output.status.success(), "tesseract failed on {image:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn magick(args: &[&str]) {
    let status = Command::new("convert")
        .args(args)
        .status()
        .expect("run ImageMagick convert");
    assert!(status.success(), "convert {args:?} failed");
}

/// Reads a screenshot: page words with their places (2× upscaled grey), and every button
/// cut out and read on its own (light text on colour defeats page-level OCR).
fn read_screen(png: &Path, image: &Image) -> Reading {
    let work = png.with_extension("ocr.png");
    let png_arg = png.to_str().expect("utf-8 path");
    let work_arg = work.to_str().expect("utf-8 path");
    magick(&[png_arg, "-colorspace", "Gray", "-resize", "200%", work_arg]);
    let mut words = Vec::new();
    for line in tesseract(&work, "11", true).lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 12 || cols[11].trim().is_empty() {
            continue;
        }
        let num = |i: usize| cols[i].parse::<usize>().unwrap_or(0) / 2;
        words.push((
            cols[11].trim().to_owned(),
            Rect {
                x: num(6),
                y: num(7),
                w: num(8),
                h: num(9),
            },
        ));
    }
    let mut buttons = Vec::new();
    for rect in image.buttons() {
        let crop = format!(
            "{}x{}+{}+{}",
            rect.w.saturating_sub(4),
            rect.h.saturating_sub(4),
            rect.x + 2,
            rect.y + 2
        );
        let mut label = String::new();
        for negate in [true, false] {
            let mut args = vec![png_arg, "-crop", &crop, "+repage", "-colorspace", "Gray"];
            if negate {
                args.push("-negate");
            }
            args.extend(["-resize", "300%", work_arg]);
            magick(&args);
            label = tesseract(&work, "7", false).trim().to_owned();
            if !label.is_empty() {
                break;
            }
        }
        buttons.push((label, rect));
    }
    let _ = std::fs::remove_file(&work);
    Reading {
        words,
        buttons,
        page: String::new(),
    }
}

/// The page's text by tesseract's automatic layout analysis (psm 3). Sparse-text mode
/// (psm 11, which gives `read_screen` its word boxes) misreads some peer IDs in the in-call
/// heading's large type at every scale ("fna-zz8-ewr" read as "MIME ZAE SSIs"); this mode
/// read that one right at every scale tried (100–300 %).
fn read_page(png: &Path) -> String {
    let work = png.with_extension("page.png");
    let png_arg = png.to_str().expect("utf-8 path");
    let work_arg = work.to_str().expect("utf-8 path");
    magick(&[png_arg, "-colorspace", "Gray", "-resize", "200%", work_arg]);
    let text = tesseract(&work, "3", false);
    let _ = std::fs::remove_file(&work);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Screenshots `app`'s window into `dir/name.png` until every label in `expect` can be
/// read on it (screens change on their own, e.g. Ended → Home), checking each shot is a
/// real, drawn window of the expected size. Fails after `wait`.
fn screenshot(
    display: &Xvfb,
    app: &App,
    dir: &Path,
    name: &str,
    expect: &[&str],
    wait: Duration,
) -> Reading {
    let deadline = Instant::now() + wait;
    // OCR of one screenshot takes seconds on a loaded machine: a single late attempt must
    // not use up the whole wait, so the screen is always read at least this often.
    const MIN_ATTEMPTS: u32 = 3;
    let mut attempts = 0;
    let png = dir.join(format!("{name}.png"));
    let png_arg = png.to_str().expect("utf-8 path");
    loop {
        display
            .run("import", &["-window", &app.window, png_arg])
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let image = Image::load(&png);
        assert_eq!(
            (image.width as u32, image.height as u32),
            WINDOW,
            "{name}: window size"
        );
        let spread = image.luminance_spread();
        let colours = image.distinct_colours();
        assert!(
            spread > 8.0 && colours > 40,
            "{name}: looks blank (luminance spread {spread:.1}, {colours} colours)"
        );
        let mut reading = read_screen(&png, &image);
        if expect.iter().any(|l| !reading.contains(l)) {
            reading.page = read_page(&png);
        }
        let text = reading.text();
        let _ = std::fs::write(dir.join(format!("{name}.txt")), &text);
        let missing: Vec<&&str> = expect.iter().filter(|l| !reading.contains(l)).collect();
        if missing.is_empty() {
            return reading;
        }
        attempts += 1;
        assert!(
            Instant::now() < deadline || attempts < MIN_ATTEMPTS,
            "{name}: OCR did not find {missing:?} on {png:?} in {attempts} attempts; it read: {text}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn click_button(display: &Xvfb, app: &App, reading: &Reading, label: &str) {
    let rect = reading.button(label).unwrap_or_else(|| {
        panic!(
            "no button {label:?} on app {}'s screen; buttons: {:?}",
            app.label, reading.buttons
        )
    });
    app.click(display, rect.center());
}

#[test]
fn approximate_matching_forgives_a_misread_character_only() {
    assert!(contains_approximately(
        "Your ID ws/-tvz-zsa Copy",
        "ws7-tvz-zsa",
        2
    ));
    assert!(!contains_approximately(
        "Your ID k7m-q2x-9fd Copy",
        "ws7-tvz-zsa",
        2
    ));
    assert_eq!(edit_distance(&['a', 'b'], &['a', 'c', 'b']), 1);
}

/// A screenshot from a CI run whose in-call heading sparse-text OCR misread: the
/// screenshot loop must still find the peer's ID on it (and no other ID).
#[test]
fn the_peer_id_in_the_in_call_heading_is_read() {
    let fixture = repo().join("tests/testdata/in-call-fna-zz8-ewr.png");
    let png = output_dir("gui_ocr").join("in_call.png");
    std::fs::copy(&fixture, &png).unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
    let mut reading = read_screen(&png, &Image::load(&png));
    reading.page = read_page(&png);
    assert!(reading.contains("fna-zz8-ewr"), "read: {}", reading.text());
    assert!(!reading.contains("k7m-q2x-9fd"), "read: {}", reading.text());
}

#[test]
fn two_windows_call_each_other_and_hear_each_other() {
    let started = Instant::now();
    let server = Server::start();
    // A calls B.
    let talk = Conversation::new("gui");
    let out = &talk.dir;
    let display = Xvfb::start().unwrap_or_else(|e| panic!("{e}"));
    let app = |name: &str| {
        DesktopApp::on(&display, &server).log_to(&out.join(format!("{name}.log")), APP_LOG)
    };
    let mut b = App::spawn("B", app("B").talks_as(&talk.callee));
    let mut a = App::spawn("A", app("A").talks_as(&talk.caller));
    a.find_window(&display);
    b.find_window(&display);
    // No window manager: place them side by side ourselves.
    display.xdotool(&["windowmove", &a.window, "0", "0"]);
    display.xdotool(&["windowmove", &b.window, "640", "0"]);
    a.wait_title(&display, "voicecall", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(500));

    // Home, then Settings and back (Esc).
    let soon = Duration::from_secs(3);
    let home = screenshot(
        &display,
        &a,
        out,
        "home",
        &[
            "Your ID",
            &a.id,
            "Copy",
            "Call someone",
            "Settings",
            "Connected",
        ],
        soon,
    );
    click_button(&display, &a, &home, "Settings");
    screenshot(
        &display,
        &a,
        out,
        "settings",
        &[
            "Settings",
            "Save",
            "Cancel",
            "Signaling servers",
            "Audio",
            "Microphone",
        ],
        soon,
    );
    a.focus(&display);
    display.xdotool(&["key", "Escape"]);
    let home = screenshot(&display, &a, out, "home", &["Call someone"], soon);

    // A: click the peer ID field, type B's ID, click Call.
    // The field shows a faint placeholder ("Their ID, e.g. …") that OCR may not read;
    // it sits just left of the Call button.
    let field = home.word("Their").map(|r| r.center()).or_else(|| {
        home.button("Call")
            .map(|call| (call.x.saturating_sub(150) as u32, call.center().1))
    });
    let field = field.unwrap_or_else(|| panic!("no peer ID field; read: {}", home.text()));
    a.click(&display, field);
    a.focus(&display);
    display.xdotool(&["type", "--delay", "40", &b.id]);
    let typed = screenshot(&display, &a, out, "home_typed", &[&b.id, "Call"], soon);
    click_button(&display, &a, &typed, "Call");
    a.wait_title(
        &display,
        &format!("voicecall — calling {}", b.id),
        Duration::from_secs(10),
    );
    b.wait_title(
        &display,
        &format!("voicecall — {} is calling", a.id),
        Duration::from_secs(10),
    );
    screenshot(
        &display,
        &a,
        out,
        "outgoing",
        &["Calling", &b.id, "Cancel"],
        soon,
    );
    screenshot(
        &display,
        &b,
        out,
        "incoming",
        &["Incoming call", &a.id, "Accept", "Decline"],
        soon,
    );

    // An incoming call asks for attention (the X urgency hint).
    let hints = display
        .run("xprop", &["-id", &b.window, "WM_HINTS"])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        hints.to_lowercase().contains("urgency"),
        "the incoming call did not request attention: {hints}"
    );

    // B: Enter accepts.
    b.focus(&display);
    display.xdotool(&["key", "Return"]);
    a.wait_title(
        &display,
        &format!("voicecall — in call with {}", b.id),
        Duration::from_secs(20),
    );
    b.wait_title(
        &display,
        &format!("voicecall — in call with {}", a.id),
        Duration::from_secs(10),
    );
    let call_started = Instant::now();
    let in_call = screenshot(
        &display,
        &a,
        out,
        "in_call",
        &[
            "In call with",
            &b.id,
            "End Call",
            "Mute",
            "Microphone",
            "Speaker",
            "connection",
        ],
        Duration::from_secs(6),
    );
    screenshot(&display, &b, out, "in_call_b", &[&a.id, "End Call"], soon);
    std::thread::sleep(Duration::from_secs(8).saturating_sub(call_started.elapsed()));

    // A hangs up; both say why, then go Home by themselves.
    click_button(&display, &a, &in_call, "End Call");
    a.wait_title(&display, "voicecall", Duration::from_secs(5));
    b.wait_title(&display, "voicecall", Duration::from_secs(5));
    // Each window shows its reason for `ended::SHOWN_FOR` (3 s) from the same moment, and
    // reading one screenshot can take seconds: both are read at once.
    std::thread::scope(|s| {
        let ended_b =
            s.spawn(|| screenshot(&display, &b, out, "ended_b", &["Hung up by peer"], soon));
        screenshot(&display, &a, out, "ended", &["Hung up", &b.id], soon);
        if let Err(panic) = ended_b.join() {
            std::panic::resume_unwind(panic);
        }
    });
    let home_again = Duration::from_secs(6);
    screenshot(
        &display,
        &a,
        out,
        "home_after",
        &["Call someone"],
        home_again,
    );
    screenshot(
        &display,
        &b,
        out,
        "home_after_b",
        &["Call someone"],
        home_again,
    );

    // SIGTERM: both leave cleanly.
    let status_a = a.terminate(Duration::from_secs(6));
    let status_b = b.terminate(Duration::from_secs(6));
    assert!(status_a.success(), "A exited with {status_a}");
    assert!(status_b.success(), "B exited with {status_b}");

    // Each heard the other's speech (A as the caller, B as the callee).
    talk.assert_both_heard();
    // Recent list: the dialled ID was saved for A.
    let settings = voicecall_core::config::Settings::load(&a.app.config_dir).expect("A's settings");
    assert_eq!(settings.recent_peers.first(), Some(&b.id));
    println!("gui test took {:?}", started.elapsed());
}
