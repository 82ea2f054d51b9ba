use thiserror::Error;

#[derive(Debug, Error)]
pub enum CodecError {
    #[error("creating the Opus {what} failed: {source}")]
    Create {
        what: &'static str,
        #[source]
        source: opus::Error,
    },
    #[error("invalid encoder setting {name} = {value} (allowed {allowed})")]
    InvalidSetting {
        name: &'static str,
        value: i64,
        allowed: &'static str,
    },
    #[error("configuring the Opus encoder ({what}) failed: {source}")]
    Configure {
        what: &'static str,
        #[source]
        source: opus::Error,
    },
    #[error("PCM frame has {got} samples, expected {expected}")]
    WrongFrameLength { expected: usize, got: usize },
    #[error("frame of {0} samples is not a valid Opus frame size at 48 kHz")]
    InvalidFrameSamples(usize),
    #[error("output buffer holds {got} samples, need {needed}")]
    OutputTooSmall { needed: usize, got: usize },
    #[error("empty packet")]
    EmptyPacket,
    #[error("packet of {0} bytes is larger than any Opus packet")]
    PacketTooLarge(usize),
    #[error("Opus encoding failed: {0}")]
    Encode(#[source] opus::Error),
    #[error("Opus decoding failed: {0}")]
    Decode(#[source] opus::Error),
}
