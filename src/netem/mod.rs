//! Network impairment for tests and benchmarks: what `tc netem` would do, in userspace.
//!
//! [`Impairment`] decides, packet by packet and reproducibly from a seed, whether a packet
//! is lost and how long it is held. The `voicecall-netem` binary applies it to a UDP relay
//! placed between a client and its TURN server.

mod model;
mod relay;

pub use model::{Fate, Impairment, ImpairmentConfig, LossModel};
pub use relay::{Direction, RelayConfig, RelayStats, carries_rtp, run_relay};
