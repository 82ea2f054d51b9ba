//! The call engine's lifecycle as the app runs it: started with the app, replaced when
//! settings change or Retry is pressed, shut down (after hanging up) on exit. The engine
//! runs on a tokio runtime of its own and talks to the window only through `bridge`.

mod bridge;

use std::time::Duration;

use iced::Task;
use tokio::task::JoinHandle;
use voicecall_engine::controller::UserCommand;

pub use bridge::{CommandSink, Delivery, Launcher, Link, TokioLauncher};

/// How long the app waits on exit for the engine to hang up and leave the server.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The engine in use, and the tasks of every engine started, awaited on exit so the last
/// hang-up reaches the server.
#[derive(Default)]
pub struct EngineSlot {
    commands: Option<Box<dyn CommandSink>>,
    /// Counts starts: deliveries of a replaced engine carry an older number.
    generation: u64,
    tasks: Vec<JoinHandle<()>>,
}

impl EngineSlot {
    /// Asks the running engine (if any) to hang up and leave the server.
    pub fn retire(&mut self) {
        if let Some(old) = self.commands.take() {
            old.send(UserCommand::Shutdown);
        }
    }

    /// Takes `link`'s engine instead of the running one (retired first). Its events
    /// arrive as `to_message(generation, delivery)`.
    pub fn replace<M: Send + 'static>(
        &mut self,
        link: Link,
        to_message: impl Fn(u64, Delivery) -> M + Send + 'static,
    ) -> Task<M> {
        self.retire();
        self.generation += 1;
        let generation = self.generation;
        self.tasks.extend(link.task);
        self.commands = Some(link.commands);
        bridge::deliveries(link.events, move |delivery| {
            to_message(generation, delivery)
        })
    }

    /// Whether deliveries numbered `generation` come from the engine in use.
    pub fn is_current(&self, generation: u64) -> bool {
        generation == self.generation
    }

    #[cfg(test)]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// False when no engine is running to take it.
    pub fn send(&self, command: UserCommand) -> bool {
        self.commands
            .as_ref()
            .is_some_and(|commands| commands.send(command))
    }

    /// The engine's task ended by itself.
    pub fn stopped(&mut self) {
        self.commands = None;
    }

    /// Hangs up and leaves the server; the task ends when every engine has finished, or
    /// after a grace period.
    pub fn shut_down(&mut self) -> Task<()> {
        let _ = self.send(UserCommand::Shutdown);
        let tasks = std::mem::take(&mut self.tasks);
        Task::future(bridge::join_all(tasks, SHUTDOWN_GRACE))
    }
}
