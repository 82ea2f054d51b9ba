//! What the user asked to use as microphone and speaker.
//!
//! Text form (command line, settings file): `default`, `silence` / `discard`,
//! `wav:PATH`, `wav-loop:PATH` (input only), `device:NAME`; a bare path ending in `.wav`
//! means that file, and any other text is taken as a device id or name.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum InputSpec {
    /// The system's default microphone (cpal).
    #[default]
    Default,
    /// A cpal device by id (as in `DeviceInfo::id`) or name.
    Device(String),
    /// A WAV file played in real time as if a microphone heard it; after its end, silence
    /// or, with `repeat`, the file again.
    Wav { path: PathBuf, repeat: bool },
    /// A microphone that hears nothing, at real-time pace.
    Silence,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OutputSpec {
    /// The system's default speaker (cpal).
    #[default]
    Default,
    /// A cpal device by id (as in `DeviceInfo::id`) or name.
    Device(String),
    /// Records what a speaker would have played, at real-time pace, into a 48 kHz mono
    /// 16-bit WAV file.
    Wav(PathBuf),
    /// Plays at real-time pace into nothing.
    Discard,
}

/// Whether the speaker can be heard by the microphone: only when both are real devices.
/// A WAV or silent source hears no room, so there is no echo to cancel there, and the
/// canceller would only eat the near-end speech during double talk.
pub fn has_acoustic_path(input: &InputSpec, output: &OutputSpec) -> bool {
    matches!(input, InputSpec::Default | InputSpec::Device(_))
        && matches!(output, OutputSpec::Default | OutputSpec::Device(_))
}

impl InputSpec {
    /// `--input FILE` style option: a file plays once, no file means the default device.
    pub fn from_cli(wav: Option<PathBuf>) -> Self {
        match wav {
            Some(path) => InputSpec::Wav {
                path,
                repeat: false,
            },
            None => InputSpec::Default,
        }
    }

    pub fn is_headless(&self) -> bool {
        matches!(self, InputSpec::Wav { .. } | InputSpec::Silence)
    }

    /// What to open when this microphone goes away mid-call (unplugged): the system's
    /// default, which may be another device by now. Files and silence never go away.
    pub fn replacement(&self) -> Option<InputSpec> {
        (!self.is_headless()).then_some(InputSpec::Default)
    }
}

impl OutputSpec {
    /// `--output FILE` style option: record to the file, or no file means the default
    /// device.
    pub fn from_cli(wav: Option<PathBuf>) -> Self {
        match wav {
            Some(path) => OutputSpec::Wav(path),
            None => OutputSpec::Default,
        }
    }

    pub fn is_headless(&self) -> bool {
        matches!(self, OutputSpec::Wav(_) | OutputSpec::Discard)
    }

    /// What to open when this speaker goes away mid-call: the system's default. A
    /// recording that cannot be written is not replaced by a speaker.
    pub fn replacement(&self) -> Option<OutputSpec> {
        (!self.is_headless()).then_some(OutputSpec::Default)
    }
}

/// Which way audio flows through a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Input,
    Output,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Input => "input",
            Direction::Output => "output",
        })
    }
}

/// A microphone or speaker setting that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid audio {direction} {spec:?}: {reason}")]
pub struct SpecError {
    pub direction: Direction,
    pub spec: String,
    pub reason: &'static str,
}

/// The text forms both directions share, before each maps them to its own spec.
enum Parsed {
    Default,
    /// `silence` / `discard` / `none`.
    Nothing,
    Wav {
        path: PathBuf,
        repeat: bool,
    },
    Device(String),
}

fn parse(text: &str, direction: Direction, nothing: &[&str]) -> Result<Parsed, SpecError> {
    let error = |reason| SpecError {
        direction,
        spec: text.to_owned(),
        reason,
    };
    let non_empty = |rest: &str| {
        if rest.is_empty() {
            Err(error("nothing after the prefix"))
        } else {
            Ok(rest.to_owned())
        }
    };
    let t = text.trim();
    Ok(match t {
        "" => {
            return Err(error(match direction {
                Direction::Input => "empty; use `default`, `silence`, `wav:PATH` or `device:NAME`",
                Direction::Output => "empty; use `default`, `discard`, `wav:PATH` or `device:NAME`",
            }));
        }
        "default" => Parsed::Default,
        t if nothing.contains(&t) => Parsed::Nothing,
        t => {
            // Only a microphone can loop a file.
            let looped = (direction == Direction::Input)
                .then(|| t.strip_prefix("wav-loop:"))
                .flatten();
            if let Some(path) = looped {
                Parsed::Wav {
                    path: non_empty(path)?.into(),
                    repeat: true,
                }
            } else if let Some(path) = t.strip_prefix("wav:") {
                Parsed::Wav {
                    path: non_empty(path)?.into(),
                    repeat: false,
                }
            } else if let Some(name) = t.strip_prefix("device:") {
                Parsed::Device(non_empty(name)?)
            } else if t.to_ascii_lowercase().ends_with(".wav") {
                Parsed::Wav {
                    path: t.into(),
                    repeat: false,
                }
            } else {
                Parsed::Device(t.to_owned())
            }
        }
    })
}

impl FromStr for InputSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match parse(text, Direction::Input, &["silence", "none"])? {
            Parsed::Default => InputSpec::Default,
            Parsed::Nothing => InputSpec::Silence,
            Parsed::Wav { path, repeat } => InputSpec::Wav { path, repeat },
            Parsed::Device(name) => InputSpec::Device(name),
        })
    }
}

impl FromStr for OutputSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(
            match parse(text, Direction::Output, &["discard", "none"])? {
                Parsed::Default => OutputSpec::Default,
                Parsed::Nothing => OutputSpec::Discard,
                Parsed::Wav { path, .. } => OutputSpec::Wav(path),
                Parsed::Device(name) => OutputSpec::Device(name),
            },
        )
    }
}

impl fmt::Display for InputSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputSpec::Default => f.write_str("default"),
            InputSpec::Device(name) => write!(f, "device:{name}"),
            InputSpec::Wav {
                path,
                repeat: false,
            } => write!(f, "wav:{}", path.display()),
            InputSpec::Wav { path, repeat: true } => write!(f, "wav-loop:{}", path.display()),
            InputSpec::Silence => f.write_str("silence"),
        }
    }
}

impl fmt::Display for OutputSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputSpec::Default => f.write_str("default"),
            OutputSpec::Device(name) => write!(f, "device:{name}"),
            OutputSpec::Wav(path) => write!(f, "wav:{}", path.display()),
            OutputSpec::Discard => f.write_str("discard"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip() {
        let inputs = [
            InputSpec::Default,
            InputSpec::Silence,
            InputSpec::Device("alsa:hw:0,0".into()),
            InputSpec::Wav {
                path: "a b/c.wav".into(),
                repeat: false,
            },
            InputSpec::Wav {
                path: "x.wav".into(),
                repeat: true,
            },
        ];
        for spec in inputs {
            assert_eq!(
                spec.to_string().parse::<InputSpec>().ok(),
                Some(spec.clone())
            );
        }
        let outputs = [
            OutputSpec::Default,
            OutputSpec::Discard,
            OutputSpec::Device("Speakers".into()),
            OutputSpec::Wav("out.wav".into()),
        ];
        for spec in outputs {
            assert_eq!(
                spec.to_string().parse::<OutputSpec>().ok(),
                Some(spec.clone())
            );
        }
    }

    #[test]
    fn shorthand_and_bad_text() {
        assert_eq!(
            "speech.WAV".parse::<InputSpec>().ok(),
            Some(InputSpec::Wav {
                path: "speech.WAV".into(),
                repeat: false
            })
        );
        assert_eq!(
            "hw:1,0".parse::<OutputSpec>().ok(),
            Some(OutputSpec::Device("hw:1,0".into()))
        );
        let err = "wav:".parse::<InputSpec>().expect_err("empty path");
        assert!(err.to_string().contains("wav:"), "{err}");
        assert!("  ".parse::<OutputSpec>().is_err());
    }

    #[test]
    fn cli_helpers() {
        assert_eq!(InputSpec::from_cli(None), InputSpec::Default);
        assert_eq!(
            OutputSpec::from_cli(Some("o.wav".into())),
            OutputSpec::Wav("o.wav".into())
        );
        assert!(InputSpec::from_cli(Some("i.wav".into())).is_headless());
        assert!(!OutputSpec::Default.is_headless());
    }

    #[test]
    fn a_lost_sound_card_is_replaced_by_the_default_and_files_are_never_replaced() {
        let named = InputSpec::Device("USB headset".into());
        assert_eq!(named.replacement(), Some(InputSpec::Default));
        assert_eq!(InputSpec::Default.replacement(), Some(InputSpec::Default));
        assert_eq!(InputSpec::Silence.replacement(), None);
        assert_eq!(
            OutputSpec::Device("USB headset".into()).replacement(),
            Some(OutputSpec::Default)
        );
        assert_eq!(OutputSpec::Wav("heard.wav".into()).replacement(), None);
        assert_eq!(OutputSpec::Discard.replacement(), None);
    }
}
