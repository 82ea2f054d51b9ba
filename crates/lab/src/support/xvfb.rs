//! A virtual X display for the desktop app.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An Xvfb server on a display number of its own; killed on drop.
pub struct Xvfb {
    child: Child,
    /// `:N`, the value for `DISPLAY`.
    pub name: String,
}

impl Xvfb {
    /// A 1280×800 screen on a display number Xvfb chose itself: it takes the number's lock
    /// and reports it (`-displayfd`) only once it accepts connections, so parallel tests and
    /// stale lock files from killed servers cannot hand two servers one number. `-noreset`
    /// keeps it up between clients, as a desktop's X server is, instead of restarting
    /// whenever its last client leaves.
    pub fn start() -> Result<Self, String> {
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-noreset", "-nolisten", "tcp"])
            .args(["-screen", "0", "1280x800x24"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("cannot run Xvfb ({e}): install it (deploy/setup-debian.sh does)")
            })?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("Xvfb's output was not captured".into());
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = tx.send(reader.read_line(&mut line).map(|_| line));
            // Drained until Xvfb exits: a later write of its must not meet a closed pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let reported = rx.recv_timeout(Duration::from_secs(20));
        let Some(number) = reported
            .as_ref()
            .ok()
            .and_then(|read| read.as_ref().ok())
            .and_then(|line| line.trim().parse::<u32>().ok())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "Xvfb reported no display number within 20 s ({reported:?})"
            ));
        };
        Ok(Self {
            child,
            name: format!(":{number}"),
        })
    }

    /// Runs an X client (xdotool, import, xprop) on this display; its trimmed stdout.
    pub fn run(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let output = Command::new(program)
            .args(args)
            .env("DISPLAY", &self.name)
            .output()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        } else {
            Err(format!(
                "{program} {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }

    /// xdotool, which must succeed.
    pub fn xdotool(&self, args: &[&str]) -> String {
        self.run("xdotool", args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The visible windows of process `pid` whose title starts with "voicecall".
    pub fn app_windows(&self, pid: u32) -> Vec<String> {
        let pid = pid.to_string();
        let args = [
            "search",
            "--all",
            "--onlyvisible",
            "--pid",
            &pid,
            "--name",
            "^voicecall",
        ];
        self.run("xdotool", &args)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Waits up to `timeout` for process `pid` to show a window; its ID.
    pub fn wait_app_window(&self, pid: u32, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(window) = self.app_windows(pid).into_iter().next() {
                return Ok(window);
            }
            if Instant::now() >= deadline {
                return Err(format!("process {pid} opened no window within {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits up to `timeout` for `window`'s title to be `want`.
    pub fn wait_title(&self, window: &str, want: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let title = self
                .run("xdotool", &["getwindowname", window])
                .unwrap_or_default();
            if title == want {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("window title is {title:?}, expected {want:?}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Screenshots `window` into `png` and reads its text with tesseract (grey, scaled up
    /// twice: the window's small type reads better). Needs ImageMagick and tesseract-ocr.
    pub fn read_window(&self, window: &str, png: &Path) -> Result<String, String> {
        let png_arg = png.to_str().ok_or("the screenshot path is not UTF-8")?;
        self.run("import", &["-window", window, png_arg])?;
        let grey = png.with_extension("ocr.png");
        let grey_arg = grey.to_str().ok_or("the screenshot path is not UTF-8")?;
        let converted = Command::new("convert")
            .args([png_arg, "-colorspace", "Gray", "-resize", "200%", grey_arg])
            .status()
            .map_err(|e| format!("cannot run ImageMagick convert: {e}"))?;
        if !converted.success() {
            return Err(format!("convert failed on {png_arg}"));
        }
        let output = Command::new("tesseract")
            .args([grey_arg, "-", "--psm", "11"])
            .output()
            .map_err(|e| format!("cannot run tesseract: {e}"))?;
        let _ = std::fs::remove_file(&grey);
        if !output.status.success() {
            return Err(format!("tesseract failed on {png_arg}"));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        Ok(text.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// Screenshots `window` until its text holds every one of `expect` (screens change on
    /// their own), up to `timeout`; the text last read.
    pub fn wait_window_text(
        &self,
        window: &str,
        png: &Path,
        expect: &[&str],
        timeout: Duration,
    ) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.read_window(window, png)?;
            let missing: Vec<&&str> = expect.iter().filter(|e| !text.contains(**e)).collect();
            if missing.is_empty() {
                return Ok(text);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{}: OCR did not find {missing:?}; it read: {text}",
                    png.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
