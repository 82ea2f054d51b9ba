//! voicecall's sans-IO core: what a call *is*, with no sockets, threads, audio devices or
//! clock. Inputs and `now` go in, commands come out; the engine does the I/O and the shells
//! render.
//!
//! - `id`: peer and call IDs; `format`: the one PCM format the engine speaks.
//! - `link`: call links (`voicecall:ID?server=URL`) and how servers compare.
//! - `config`: settings with their validation, the saved identity, where files live.
//! - `device`: what the user chose as microphone and speaker (`InputSpec`, `OutputSpec`).
//! - `ice`: STUN/TURN servers and candidate kinds.
//! - `call`: the call state machine.
//! - `signaling`: the server's messages, their wire form, and the signaling session machine.
//! - `sas`: the security code both people compare, and the commitment that keeps a server
//!   in the middle from choosing it.
//! - `contacts`: people saved by name, and the certificate a verified one is pinned to.
//! - `quality`: per-call statistics and the figures shown from them.
//! - `protection`: the loss feedback loop's decisions: what the peer reports about our
//!   audio, and the RED/FEC/bitrate protection the sender applies.
//! - `talkspurt`: when the sender may let Opus go silent (DTX) after speech; `effort`: how
//!   hard the Opus encoder works on each frame; `denoise`: whether the microphone's noise is
//!   worth RNNoise.
//! - `pump_schedule`: when the audio pump wakes, aligned to the devices' callbacks.

pub mod call;
pub mod config;
pub mod contacts;
pub mod denoise;
pub mod device;
pub mod effort;
pub mod format;
pub mod ice;
pub mod id;
pub mod link;
pub mod protection;
pub mod pump_schedule;
pub mod quality;
pub mod sas;
pub mod signaling;
pub mod talkspurt;
