//! Where voicecall keeps its files, what it remembers about you (your ID and the token that
//! proves it), and the settings a person can change.

mod draft;
mod identity;
mod paths;
mod settings;

pub use draft::{
    FieldErrors, IceDraft, IceError, ServersError, SettingsDraft, is_server_url, parse_servers,
};
pub use identity::{Claim, Identity, IdentityStore};
pub use paths::config_dir;
pub(crate) use settings::write_private;
pub use settings::{ConfigError, DEFAULT_SERVER, MAX_RECENT_PEERS, Settings, servers_for_run};
