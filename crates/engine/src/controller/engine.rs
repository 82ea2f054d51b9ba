use std::time::Duration;

use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::command::UserCommand;
use super::config::EngineConfig;
use super::event::{EngineEvent, SignalingState};
use super::executor::Executor;
use crate::signaling::{SignalingClient, SignalingError};
use voicecall_core::call::{EndReason, Failure};

#[derive(Debug, Error)]
pub enum StartError {
    #[error(transparent)]
    Signaling(#[from] SignalingError),
}

/// Answers a command while there is no server: calls fail at once with the reason.
/// Returns false when the engine should stop.
fn offline_command(
    command: Option<UserCommand>,
    events: &mpsc::UnboundedSender<EngineEvent>,
) -> bool {
    match command {
        None | Some(UserCommand::Shutdown) => false,
        Some(UserCommand::Call(peer)) => {
            let _ = events.send(EngineEvent::Ended {
                peer,
                reason: EndReason::Failed(Failure::NotConnected),
                media: None,
            });
            true
        }
        Some(_) => true,
    }
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

/// Waits between connection attempts while the server is unreachable (GUI mode).
const RETRY_DELAYS: [Duration; 5] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(10),
];

impl Engine {
    /// Starts at once and keeps trying to reach the signaling server in the background,
    /// reporting `Signaling { Offline, .. }` while it cannot. For the desktop app, which
    /// must open (and say why it cannot call) even when the server is down.
    pub fn spawn(
        config: EngineConfig,
    ) -> (
        EngineHandle,
        mpsc::UnboundedReceiver<EngineEvent>,
        JoinHandle<()>,
    ) {
        let (commands_tx, mut commands_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut attempt = 0usize;
            loop {
                let connect = SignalingClient::connect(config.signaling.clone());
                tokio::pin!(connect);
                let connected = loop {
                    tokio::select! {
                        result = &mut connect => break result,
                        command = commands_rx.recv() => {
                            if !offline_command(command, &events_tx) {
                                return;
                            }
                        }
                    }
                };
                match connected {
                    Ok((signaling, signaling_events)) => {
                        let executor = Executor::new(config, signaling, events_tx);
                        executor.run(commands_rx, signaling_events).await;
                        return;
                    }
                    Err(err) => {
                        let state = match &err {
                            SignalingError::Rejected { code, .. } => {
                                SignalingState::Refused(code.clone())
                            }
                            _ => SignalingState::Offline,
                        };
                        let _ = events_tx.send(EngineEvent::Signaling {
                            state,
                            detail: err.to_string(),
                        });
                        if let SignalingError::Rejected { .. } = err {
                            // Retrying with the same ID would be refused again.
                            while offline_command(commands_rx.recv().await, &events_tx) {}
                            return;
                        }
                        let delay = RETRY_DELAYS[attempt.min(RETRY_DELAYS.len() - 1)];
                        attempt += 1;
                        let wait = tokio::time::sleep(delay);
                        tokio::pin!(wait);
                        loop {
                            tokio::select! {
                                _ = &mut wait => break,
                                command = commands_rx.recv() => {
                                    if !offline_command(command, &events_tx) {
                                        return;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        });
        (
            EngineHandle {
                commands: commands_tx,
            },
            events_rx,
            task,
        )
    }

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
