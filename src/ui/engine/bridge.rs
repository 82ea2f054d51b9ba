//! The bridge between the call engine (tokio) and the window (iced): the engine runs on a
//! runtime of its own; its events reach the app only through a `Task` stream, and the app
//! talks back only through a command sink. Tests swap in a fake launcher.

use std::time::Duration;

use iced::Task;
use iced::futures::stream::{self, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use voicecall_engine::controller::{Engine, EngineConfig, EngineEvent, EngineHandle, UserCommand};

/// Where the app's commands go.
pub trait CommandSink: Send {
    /// False when the engine is gone.
    fn send(&self, command: UserCommand) -> bool;
}

impl CommandSink for EngineHandle {
    fn send(&self, command: UserCommand) -> bool {
        EngineHandle::send(self, command)
    }
}

impl CommandSink for mpsc::UnboundedSender<UserCommand> {
    fn send(&self, command: UserCommand) -> bool {
        mpsc::UnboundedSender::send(self, command).is_ok()
    }
}

/// A started engine as the app sees it.
pub struct Link {
    pub commands: Box<dyn CommandSink>,
    pub events: mpsc::UnboundedReceiver<EngineEvent>,
    /// The engine's task, awaited on exit so the last hang-up reaches the server.
    pub task: Option<JoinHandle<()>>,
}

/// Starts engines; the real one spawns [`Engine`] on the app's tokio runtime.
pub trait Launcher {
    fn launch(&self, config: EngineConfig) -> Link;
}

pub struct TokioLauncher {
    runtime: tokio::runtime::Handle,
}

impl TokioLauncher {
    pub fn new(runtime: tokio::runtime::Handle) -> Self {
        Self { runtime }
    }
}

impl Launcher for TokioLauncher {
    fn launch(&self, config: EngineConfig) -> Link {
        let _guard = self.runtime.enter();
        let (handle, events, task) = Engine::spawn(config);
        Link {
            commands: Box::new(handle),
            events,
            task: Some(task),
        }
    }
}

/// What the event stream delivers: engine events, then one `Stopped` when the engine ends.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// Boxed: a call's summary makes events large, and messages are moved often.
    Event(Box<EngineEvent>),
    Stopped,
}

/// Turns the engine's event channel into a task the iced runtime polls.
pub fn deliveries<M: Send + 'static>(
    events: mpsc::UnboundedReceiver<EngineEvent>,
    to_message: impl Fn(Delivery) -> M + Send + 'static,
) -> Task<M> {
    let events = stream::unfold(events, |mut events| async move {
        events.recv().await.map(|event| (event, events))
    })
    .map(|event| Delivery::Event(Box::new(event)))
    .chain(stream::once(async { Delivery::Stopped }));
    Task::run(events, to_message)
}

/// Waits (a bounded time) for stopped engines, so their hang-ups reach the server.
pub(super) async fn join_all(tasks: Vec<JoinHandle<()>>, limit: Duration) {
    let all = async {
        for task in tasks {
            let _ = task.await;
        }
    };
    let _ = tokio::time::timeout(limit, all).await;
}
