//! What the app runs with: the saved settings with this run's command-line overrides on
//! top, turned into the engine's configuration.

use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use voicecall_core::config::Settings;
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_core::ice::IceServer;
use voicecall_core::id::PeerId;
use voicecall_engine::controller::EngineConfig;
use voicecall_engine::signaling::SignalingConfig;

use super::args::Overrides;

/// The settings in force for this run.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    pub servers: Vec<String>,
    pub ice_servers: Vec<IceServer>,
    pub relay_only: bool,
    pub input: String,
    pub output: String,
    pub bind: Vec<IpAddr>,
    pub noise_suppression: bool,
    pub echo_cancellation: bool,
}

impl Effective {
    pub fn new(settings: &Settings, overrides: &Overrides) -> Self {
        let servers = if overrides.servers.is_empty() {
            settings.servers.clone()
        } else {
            overrides.servers.clone()
        };
        Self {
            servers,
            ice_servers: settings.ice_servers.clone(),
            relay_only: settings.relay_only,
            input: overrides
                .input
                .clone()
                .unwrap_or_else(|| settings.input_device.clone()),
            output: overrides
                .output
                .clone()
                .unwrap_or_else(|| settings.output_device.clone()),
            bind: overrides.bind.clone(),
            noise_suppression: settings.noise_suppression,
            echo_cancellation: settings.echo_cancellation,
        }
    }

    /// The server the ID is registered with (and remembered for).
    pub fn primary_server(&self) -> Option<&str> {
        self.servers.first().map(String::as_str)
    }

    /// The speaker as configured, or the default one if the text makes no sense (the
    /// problem is reported by [`Effective::engine_config`]).
    pub fn output_spec(&self) -> OutputSpec {
        OutputSpec::from_str(&self.output).unwrap_or_default()
    }

    /// The engine configuration, plus problems a person should read (a bad device name, a
    /// missing WAV file). The engine still starts: without a server nothing works at all,
    /// while a broken microphone setting only fails calls.
    pub fn engine_config(&self, identity: Option<(PeerId, String)>) -> (EngineConfig, Vec<String>) {
        let mut problems = Vec::new();
        let primary = self.primary_server().unwrap_or_default().to_owned();
        let mut signaling = SignalingConfig::new(primary);
        signaling.servers = self.servers.clone();
        if let Some((id, token)) = identity {
            signaling.id = Some(id);
            signaling.token = Some(token);
        }
        let mut config = EngineConfig::new(signaling);
        config.rtc.ice_servers = self.ice_servers.clone();
        config.rtc.relay_only = self.relay_only;
        if !self.bind.is_empty() {
            config.rtc.bind = self.bind.clone();
        }
        config.media.processing.noise_suppression = self.noise_suppression;
        config.media.processing.echo_cancellation = self.echo_cancellation;
        config.media.input = match InputSpec::from_str(&self.input) {
            Ok(spec) => spec,
            Err(err) => {
                problems.push(format!("microphone setting: {err}; using the default"));
                InputSpec::Default
            }
        };
        config.media.output = match OutputSpec::from_str(&self.output) {
            Ok(spec) => spec,
            Err(err) => {
                problems.push(format!("speaker setting: {err}; using the default"));
                OutputSpec::Default
            }
        };
        if let InputSpec::Wav { path, .. } = &config.media.input
            && !path.is_file()
        {
            problems.push(format!("microphone file {} does not exist", path.display()));
        }
        if let OutputSpec::Wav(path) = &config.media.output {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(PathBuf::from);
            if dir.is_some_and(|d| !d.is_dir()) {
                problems.push(format!(
                    "cannot record to {}: its folder does not exist",
                    path.display()
                ));
            }
        }
        if self.servers.is_empty() {
            problems.push("no signaling server configured: add one in Settings".into());
        }
        (config, problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_win_without_touching_the_settings() {
        let settings = Settings {
            input_device: "silence".into(),
            ..Settings::default()
        };
        let overrides = Overrides {
            servers: vec!["http://example.org:1".into()],
            output: Some("discard".into()),
            ..Overrides::default()
        };
        let effective = Effective::new(&settings, &overrides);
        assert_eq!(effective.servers, vec!["http://example.org:1".to_owned()]);
        assert_eq!(effective.input, "silence");
        assert_eq!(effective.output, "discard");
        let (config, problems) = effective.engine_config(None);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.media.input, InputSpec::Silence);
        assert_eq!(config.signaling.servers, effective.servers);
    }

    #[test]
    fn bad_devices_are_reported_and_replaced_by_the_default() {
        let settings = Settings {
            input_device: "wav:/nonexistent/speech.wav".into(),
            output_device: "wav:".into(),
            ..Settings::default()
        };
        let (config, problems) =
            Effective::new(&settings, &Overrides::default()).engine_config(None);
        assert_eq!(config.media.output, OutputSpec::Default);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("speaker"), "{problems:?}");
        assert!(problems[1].contains("does not exist"), "{problems:?}");
    }
}
