//! Where voicecall keeps its files, what it remembers about you (your ID and the token that
//! proves it), and the settings a person can change.

mod identity;
mod paths;
mod settings;

pub use identity::{Identity, IdentityStore};
pub use paths::config_dir;
pub use settings::{ConfigError, Settings};
