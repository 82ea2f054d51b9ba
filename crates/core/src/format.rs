//! The one audio format the engine speaks internally: what Opus and WebRTC want for voice.

use std::time::Duration;

/// Every PCM buffer inside the engine is 48 kHz mono, whatever the device runs at.
pub const SAMPLE_RATE: u32 = 48_000;
/// 20 ms frames: the Opus frame size browsers and the seed design use.
pub const FRAME_SAMPLES: usize = 960;
pub const FRAME_DURATION: Duration = Duration::from_millis(20);
/// Opus packets can carry up to 120 ms; decoders must have room for that.
pub const MAX_DECODED_SAMPLES: usize = 5_760;
/// RTP clock ticks per 20 ms frame (the Opus RTP clock is always 48 kHz).
pub const RTP_TICKS_PER_FRAME: u32 = 960;
