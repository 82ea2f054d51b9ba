use std::time::Duration;

use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::event::EngineEvent;
use super::executor::Executor;
use crate::call::CallTimings;
use crate::id::PeerId;
use crate::media::MediaConfig;
use crate::rtc::RtcConfig;
use crate::signaling::{SignalingClient, SignalingConfig, SignalingError};

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCommand {
    Call(PeerId),
    Accept,
    Decline,
    Hangup,
    SetMuted(bool),
    /// Hang up whatever is live and leave the server.
    Shutdown,
}

#[derive(Debug, Error)]
pub enum StartError {
    #[error(transparent)]
    Signaling(#[from] SignalingError),
}

/// Sends commands to a running engine. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    commands: mpsc::UnboundedSender<UserCommand>,
}

impl EngineHandle {
    /// Returns false when the engine has already stopped.
    pub fn send(&self, command: UserCommand) -> bool {
        self.commands.send(command).is_ok()
    }
}

pub struct Engine;

impl Engine {
    /// Connects to the signaling server and starts the controller task. The first event is
    /// always `Registered`.
    pub async fn start(
        config: EngineConfig,
    ) -> Result<
        (
            EngineHandle,
            mpsc::UnboundedReceiver<EngineEvent>,
            JoinHandle<()>,
        ),
        StartError,
    > {
        let (signaling, signaling_events) =
            SignalingClient::connect(config.signaling.clone()).await?;
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let executor = Executor::new(config, signaling, events_tx);
        let task = tokio::spawn(executor.run(commands_rx, signaling_events));
        Ok((
            EngineHandle {
                commands: commands_tx,
            },
            events_rx,
            task,
        ))
    }
}
