use std::time::Duration;

use crate::media::MediaConfig;
use crate::rtc::RtcConfig;
use crate::signaling::SignalingConfig;
use voicecall_core::call::CallTimings;

/// Everything an engine runs with; the shells build it from the settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub signaling: SignalingConfig,
    pub rtc: RtcConfig,
    pub media: MediaConfig,
    pub timings: CallTimings,
    /// How often `EngineEvent::Stats` is sent during a call.
    pub stats_interval: Duration,
}

impl EngineConfig {
    pub fn new(signaling: SignalingConfig) -> Self {
        Self {
            signaling,
            rtc: RtcConfig::default(),
            media: MediaConfig::default(),
            timings: CallTimings::default(),
            stats_interval: Duration::from_secs(1),
        }
    }
}
