//! A virtual X display for the desktop app.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An Xvfb server on a free display number; killed on drop.
pub struct Xvfb {
    child: Child,
    /// `:N`, the value for `DISPLAY`.
    pub name: String,
}

impl Xvfb {
    /// A 1280×800 screen on the first free display number from one that depends on this
    /// process's ID (so parallel tests start apart).
    pub fn start() -> Result<Self, String> {
        let base = 90 + std::process::id() % 300;
        for n in (base..base + 200).map(|n| n % 1000).filter(|n| *n > 10) {
            if Path::new(&format!("/tmp/.X{n}-lock")).exists()
                || Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            {
                continue;
            }
            let mut child = Command::new("Xvfb")
                .arg(format!(":{n}"))
                .args(["-screen", "0", "1280x800x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| {
                    format!("cannot run Xvfb ({e}): install it (deploy/setup-debian.sh does)")
                })?;
            let name = format!(":{n}");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // lost a race for this number; try the next
                }
                let ready = Command::new("xdpyinfo")
                    .args(["-display", &name])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if ready {
                    return Ok(Self { child, name });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        Err("no free X display number for Xvfb".into())
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
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
