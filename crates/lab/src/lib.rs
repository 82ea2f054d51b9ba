//! Test and benchmark tooling for voicecall: audio analysis (does a recording contain the
//! other side's speech?), test signals, a netem-style UDP relay, helpers that start the
//! real servers and clients, and what the host machine was doing during a run. Used only by tests and benchmarks; nothing here ships in the app.

pub mod analysis;
pub mod assets;
pub mod host;
pub mod netem;
pub mod signals;
pub mod support;
