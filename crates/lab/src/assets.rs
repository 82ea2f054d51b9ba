//! Where the repository's test assets are.

use std::path::{Path, PathBuf};

/// The repository's root (this crate lives in `crates/lab`).
pub fn repo() -> PathBuf {
    let lab = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    lab.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or(lab)
}

/// One of the speech files in `assets/audio/`.
pub fn asset(name: &str) -> PathBuf {
    repo().join("assets/audio").join(name)
}
