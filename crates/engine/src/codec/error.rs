use std::fmt;
use std::ops::RangeInclusive;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CodecError {
    #[error("creating the Opus {coder} failed: {source}")]
    Create {
        coder: Coder,
        #[source]
        source: LibopusError,
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
        source: LibopusError,
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
    Encode(#[source] LibopusError),
    #[error("Opus decoding failed: {0}")]
    Decode(#[source] LibopusError),
    #[error("setting the Opus decoder's complexity failed: {0}")]
    DecoderComplexity(#[source] LibopusError),
}

/// An error code from a libopus call, with the call's name and libopus' text for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("{function}: {description}")]
pub struct LibopusError {
    pub function: &'static str,
    pub code: i32,
    description: &'static str,
}

impl LibopusError {
    pub(super) fn from_code(function: &'static str, code: i32) -> Self {
        Self {
            function,
            code,
            description: super::libopus::strerror(code),
        }
    }
}

/// The encoder goes through the `opus` crate, whose errors carry the same code.
impl From<opus::Error> for LibopusError {
    fn from(e: opus::Error) -> Self {
        Self {
            function: e.function(),
            code: e.code() as i32,
            description: e.description(),
        }
    }
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
