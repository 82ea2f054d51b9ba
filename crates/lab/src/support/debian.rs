//! The Debian packages `deploy/package.sh` builds, for the tests that unpack or install them.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{repo, voicecall_bin};

/// The two packages of one build.
pub struct Packages {
    /// `voicecall_<version>_<arch>.deb`, the desktop app.
    pub app: PathBuf,
    /// `voicecall-server_<version>_all.deb`, the signaling server.
    pub server: PathBuf,
}

/// Builds both packages into `out/debs` from the `voicecall` binary the test was built
/// with (uncompressed: the test checks the packaging, and xz would only cost time).
pub fn build_packages(out: &Path) -> Packages {
    let debs = out.join("debs");
    let status = Command::new(repo().join("deploy/package.sh"))
        .args(["--compression", "none", "--out"])
        .arg(&debs)
        .arg("--binary")
        .arg(voicecall_bin())
        .status()
        .expect("run deploy/package.sh");
    assert!(status.success(), "deploy/package.sh failed");
    let arch = expect_ok("dpkg", &["--print-architecture"]);
    let version = env!("CARGO_PKG_VERSION");
    let packages = Packages {
        app: debs.join(format!("voicecall_{version}_{}.deb", arch.trim())),
        server: debs.join(format!("voicecall-server_{version}_all.deb")),
    };
    assert!(
        packages.app.is_file() && packages.server.is_file(),
        "packages missing in {debs:?}"
    );
    packages
}

/// Runs `program` and insists it succeeds; its stdout.
pub fn expect_ok(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
