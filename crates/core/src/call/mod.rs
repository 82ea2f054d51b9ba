//! The call state machine, sans-IO: inputs and `now` go in, commands come out.
//!
//! Idle → Outgoing → Connecting → InCall → Idle, and
//! Idle → Incoming (ringing) → Connecting (accepted) / Idle (declined); every return to
//! Idle from a call is reported once, as `Command::Ended { peer, reason }`.
//! The controller (`crate::controller`) owns the sockets, the peer connection, the audio
//! devices and the clock; this module owns every decision about the call.

mod command;
mod goodbye;
mod input;
mod machine;
mod phase;
mod timings;

#[cfg(test)]
mod tests;

pub use command::{Command, Event, Tone};
pub use goodbye::Goodbye;
pub use input::{Input, RtcState};
pub use machine::CallMachine;
pub use phase::{EndReason, Failure, Phase, Role};
pub use timings::CallTimings;
