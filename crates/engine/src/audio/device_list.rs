//! Device listing for the settings screen.

use cpal::traits::{DeviceTrait, HostTrait};

use super::cpal_device::{device_label, device_name, host_name};
use super::error::{AudioError, Direction};

/// One usable device, as the settings screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Stable identifier to store in settings and pass back as `InputSpec::Device` /
    /// `OutputSpec::Device` (e.g. `alsa:hw:0,0`).
    pub id: String,
    /// Human-readable name; also accepted by `InputSpec::Device`.
    pub name: String,
    pub default_sample_rate: u32,
    pub channels: u16,
    pub is_default: bool,
}

/// Microphones on the system's default audio host. Devices that cannot report a default
/// configuration are left out, since they could not be opened either. An empty list (no
/// sound card) is not an error.
pub fn list_input_devices() -> Result<Vec<DeviceInfo>, AudioError> {
    list(Direction::Input)
}

/// Speakers on the system's default audio host; see [`list_input_devices`].
pub fn list_output_devices() -> Result<Vec<DeviceInfo>, AudioError> {
    list(Direction::Output)
}

fn list(direction: Direction) -> Result<Vec<DeviceInfo>, AudioError> {
    let host = cpal::default_host();
    let (default, devices) = match direction {
        Direction::Input => (host.default_input_device(), host.input_devices()),
        Direction::Output => (host.default_output_device(), host.output_devices()),
    };
    let devices = devices.map_err(|source| AudioError::Enumerate {
        direction,
        host: host_name(&host),
        source,
    })?;
    let infos = devices
        .filter_map(|device| {
            let config = match direction {
                Direction::Input => device.default_input_config(),
                Direction::Output => device.default_output_config(),
            };
            let config = match config {
                Ok(config) => config,
                Err(error) => {
                    tracing::debug!(device = %device, %error, "skipping audio device without a default {direction} configuration");
                    return None;
                }
            };
            Some(DeviceInfo {
                id: device_label(&device),
                name: device_name(&device),
                default_sample_rate: config.sample_rate(),
                channels: config.channels(),
                is_default: default.as_ref() == Some(&device),
            })
        })
        .collect();
    Ok(infos)
}
