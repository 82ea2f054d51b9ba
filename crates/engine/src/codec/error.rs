use std::fmt;
use std::ops::RangeInclusive;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CodecError {
    #[error("creating the Opus {coder} failed: {source}")]
    Create {
        coder: Coder,
        #[source]
        source: opus::Error,
    },
    #[error(
        "invalid encoder setting {setting} = {value} (allowed {}..={})",
        allowed.start(),
        allowed.end()
    )]
    InvalidSetting {
        setting: EncoderSetting,
        value: i64,
        allowed: RangeInclusive<i64>,
    },
    #[error("configuring the Opus encoder ({setting}) failed: {source}")]
    Configure {
        setting: EncoderSetting,
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

/// Which half of the codec an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coder {
    Encoder,
    Decoder,
}

impl fmt::Display for Coder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Coder::Encoder => "encoder",
            Coder::Decoder => "decoder",
        })
    }
}

/// Which encoder setting was refused; shown by its `EncoderSettings` field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncoderSetting {
    Bitrate,
    Fec,
    ExpectedLoss,
    Dtx,
    Complexity,
}

impl fmt::Display for EncoderSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EncoderSetting::Bitrate => "bitrate_bps",
            EncoderSetting::Fec => "fec",
            EncoderSetting::ExpectedLoss => "expected_loss_pct",
            EncoderSetting::Dtx => "dtx",
            EncoderSetting::Complexity => "complexity",
        })
    }
}
