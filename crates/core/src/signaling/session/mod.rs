//! The signaling session, sans-IO: connect attempts over the server list, registration,
//! the stable ID and token presented on every reconnect, fail-over and backoff, the
//! outbox, and the ICE servers the server issues. Inputs and `now` go in; outputs
//! (`Connect`, `Transmit`, `Disconnect`, events) come out; every wait is a deadline
//! returned by `poll_timeout`. The engine's socket.io driver does the I/O.
//!
//! Never registered: each server once, in order; the first to register us wins, a refusal
//! (ID taken, bad token) ends the search, and otherwise the last error is the answer.
//! Registered: a lost connection is followed by attempts round the server list (starting
//! with the next one) paced by [`Backoff`], presenting the ID and token the server
//! issued, until one registers us again (`Registered`, usually `reclaimed`) or refuses
//! us for good (`Closed`). Messages sent meanwhile wait in the outbox, for at most
//! `outbox_max_age`, and go out in order once registered again, after the ones sent
//! shortly before the loss (which may have died with the connection); the receiving
//! session drops the copies that arrive twice.

mod config;
mod duplicates;
mod error;
mod ice;
mod input;
mod machine;
mod outbox;
mod output;

#[cfg(test)]
mod tests;

pub use config::{Backoff, SessionTimings, SignalingConfig};
pub use error::{CloseReason, SignalingError, ends_session};
pub use ice::IssuedIceServers;
pub use input::{ConnId, Input};
pub use machine::SessionMachine;
pub use output::{Output, SignalingEvent};
