//! Network impairment for tests and benchmarks: what `tc netem` would do, in userspace.
//!
//! [`Impairment`] decides, packet by packet and reproducibly from a seed, whether a packet
//! is lost and how long it is held. The relay applies it between a client and its TURN
//! server: in-process ([`RelayThread`]) or as the `voicecall-netem` binary.

mod arrivals;
mod cli;
mod model;
mod relay;
mod thread;

pub use arrivals::{ArrivalLog, Pacing, RtpArrival, pacing, pacing_by_ssrc};
pub use cli::{Args, Dir};
pub use model::{Fate, Impairment, ImpairmentConfig, LossModel};
pub use relay::{Direction, RelayConfig, RelayStats, carries_rtp, run_relay};
pub use thread::RelayThread;
