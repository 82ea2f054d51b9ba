//! Opus voice codec for the engine's one internal format (48 kHz mono, 20 ms frames, see
//! `voicecall_core::format`), the payload types negotiated for it, and the little packet
//! inspection the receive path needs.

mod decoder;
mod encoder;
mod error;
mod libopus;
mod packet;
mod payload_types;
pub mod red;

#[cfg(test)]
mod compare_tests;
#[cfg(test)]
mod enhancement_tests;
#[cfg(test)]
mod round_trip_tests;
#[cfg(test)]
pub(crate) mod test_support;

pub use decoder::{DEFAULT_DECODER_COMPLEXITY, Decoder};
pub use encoder::{Encoder, EncoderSettings};
pub use error::{CodecError, Coder, EncoderSetting, LibopusError};
pub use packet::{carries_fec, packet_samples};
pub use payload_types::PayloadTypes;

/// Room for any 20 ms Opus packet (at most 1 + 1275 bytes) that also fits one Ethernet MTU;
/// size encoder output buffers and receive slots with it.
pub const MAX_PACKET_BYTES: usize = 1500;
