use std::path::PathBuf;

/// `VOICECALL_CONFIG_DIR` wins (tests and portable installs), then the OS config dir
/// (`~/.config/voicecall` on Linux), then the working directory as a last resort.
pub fn config_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("VOICECALL_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("", "", "voicecall")
        .map(|dirs| dirs.config_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".voicecall"))
}
