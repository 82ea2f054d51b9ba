use std::ops::RangeInclusive;

use opus::{Application, Bitrate, Channels};

use super::CodecError;
use super::error::{Coder, EncoderSetting};
use voicecall_core::format::{FRAME_SAMPLES, SAMPLE_RATE};

/// Below 6 kb/s Opus voice is unintelligible; above 510 kb/s libopus refuses mono.
const BITRATE_RANGE: RangeInclusive<i32> = 6_000..=510_000;
const COMPLEXITY_RANGE: RangeInclusive<i64> = 0..=10;
const MAX_LOSS_PCT: u8 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncoderSettings {
    pub bitrate_bps: i32,
    /// In-band FEC: each packet also carries a low-bitrate copy of the previous frame, which
    /// the receiver decodes when that previous packet is lost.
    pub fec: bool,
    /// How much redundancy libopus spends on FEC; 0 disables FEC whatever `fec` says.
    pub expected_loss_pct: u8,
    pub dtx: bool,
    pub complexity: u8,
}

impl Default for EncoderSettings {
    fn default() -> Self {
        Self {
            bitrate_bps: 40_000,
            fec: true,
            expected_loss_pct: 5,
            // Silence costs next to nothing; the receive path plays comfort noise.
            dtx: true,
            complexity: 9,
        }
    }
}

impl EncoderSettings {
    fn validate(&self) -> Result<(), CodecError> {
        let bitrate = i64::from(*BITRATE_RANGE.start())..=i64::from(*BITRATE_RANGE.end());
        let checks = [
            (
                EncoderSetting::Bitrate,
                i64::from(self.bitrate_bps),
                bitrate,
            ),
            (
                EncoderSetting::Complexity,
                i64::from(self.complexity),
                COMPLEXITY_RANGE,
            ),
            (
                EncoderSetting::ExpectedLoss,
                i64::from(self.expected_loss_pct),
                0..=i64::from(MAX_LOSS_PCT),
            ),
        ];
        match checks
            .into_iter()
            .find(|(_, value, allowed)| !allowed.contains(value))
        {
            Some((setting, value, allowed)) => Err(CodecError::InvalidSetting {
                setting,
                value,
                allowed,
            }),
            None => Ok(()),
        }
    }
}

/// Opus encoder for 20 ms frames of 48 kHz mono speech.
pub struct Encoder {
    inner: opus::Encoder,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").finish_non_exhaustive()
    }
}

impl Encoder {
    pub fn new(settings: &EncoderSettings) -> Result<Self, CodecError> {
        settings.validate()?;
        let inner = opus::Encoder::new(SAMPLE_RATE, Channels::Mono, Application::Voip).map_err(
            |source| CodecError::Create {
                coder: Coder::Encoder,
                source: source.into(),
            },
        )?;
        let mut encoder = Self { inner };
        encoder.configure(EncoderSetting::Bitrate, |e| {
            e.set_bitrate(Bitrate::Bits(settings.bitrate_bps))
        })?;
        encoder.configure(EncoderSetting::Fec, |e| e.set_inband_fec(settings.fec))?;
        encoder.configure(EncoderSetting::ExpectedLoss, |e| {
            e.set_packet_loss_perc(i32::from(settings.expected_loss_pct))
        })?;
        encoder.configure(EncoderSetting::Dtx, |e| e.set_dtx(settings.dtx))?;
        encoder.configure(EncoderSetting::Complexity, |e| {
            e.set_complexity(i32::from(settings.complexity))
        })?;
        Ok(encoder)
    }

    /// Sets or reads one setting on libopus, naming it if libopus refuses.
    fn configure<T>(
        &mut self,
        setting: EncoderSetting,
        call: impl FnOnce(&mut opus::Encoder) -> Result<T, opus::Error>,
    ) -> Result<T, CodecError> {
        call(&mut self.inner).map_err(|source| CodecError::Configure {
            setting,
            source: source.into(),
        })
    }

    /// Encodes one 20 ms frame into `out` (size it with `MAX_PACKET_BYTES`) and returns the
    /// packet length.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        if pcm.len() != FRAME_SAMPLES {
            return Err(CodecError::WrongFrameLength {
                expected: FRAME_SAMPLES,
                got: pcm.len(),
            });
        }
        self.inner
            .encode(pcm, out)
            .map_err(|e| CodecError::Encode(e.into()))
    }

    /// Feeds the peer's reported loss rate back into the FEC budget. Values above 100 are
    /// clamped, so this only fails if libopus itself does.
    pub fn set_expected_loss(&mut self, pct: u8) -> Result<(), CodecError> {
        self.configure(EncoderSetting::ExpectedLoss, |e| {
            e.set_packet_loss_perc(i32::from(pct.min(MAX_LOSS_PCT)))
        })
    }

    /// Changes the target bitrate; out-of-range values are clamped to 6–510 kb/s because this
    /// is driven by bandwidth estimates rather than by configuration.
    pub fn set_bitrate(&mut self, bps: i32) -> Result<(), CodecError> {
        let bps = bps.clamp(*BITRATE_RANGE.start(), *BITRATE_RANGE.end());
        self.configure(EncoderSetting::Bitrate, |e| {
            e.set_bitrate(Bitrate::Bits(bps))
        })
    }

    /// Lets Opus go silent on inactive frames or not, from the next frame on.
    pub fn set_dtx(&mut self, on: bool) -> Result<(), CodecError> {
        self.configure(EncoderSetting::Dtx, |e| e.set_dtx(on))
    }

    /// Changes the complexity (clamped to 0–10) from the next frame on.
    pub fn set_complexity(&mut self, complexity: u8) -> Result<(), CodecError> {
        let complexity = i32::from(complexity.min(*COMPLEXITY_RANGE.end() as u8));
        self.configure(EncoderSetting::Complexity, |e| e.set_complexity(complexity))
    }

    pub fn bitrate(&mut self) -> Result<i32, CodecError> {
        match self.configure(EncoderSetting::Bitrate, |e| e.get_bitrate())? {
            Bitrate::Bits(bps) => Ok(bps),
            Bitrate::Max | Bitrate::Auto => Ok(0),
        }
    }

    pub fn expected_loss(&mut self) -> Result<u8, CodecError> {
        let pct = self.configure(EncoderSetting::ExpectedLoss, |e| e.get_packet_loss_perc())?;
        Ok(u8::try_from(pct.clamp(0, 100)).unwrap_or(MAX_LOSS_PCT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::MAX_PACKET_BYTES;

    #[test]
    fn default_settings_match_the_design() {
        let s = EncoderSettings::default();
        assert_eq!(s.bitrate_bps, 40_000);
        assert!(s.fec);
        assert_eq!(s.expected_loss_pct, 5);
        assert!(s.dtx);
        assert_eq!(s.complexity, 9);
    }

    #[test]
    fn wrong_frame_length_is_an_error() {
        let mut enc = Encoder::new(&EncoderSettings::default()).unwrap();
        let mut out = [0u8; MAX_PACKET_BYTES];
        for len in [0, 480, 959, 961, 1920] {
            let pcm = vec![0i16; len];
            match enc.encode(&pcm, &mut out) {
                Err(CodecError::WrongFrameLength { expected, got }) => {
                    assert_eq!((expected, got), (FRAME_SAMPLES, len));
                }
                other => panic!("len {len}: expected WrongFrameLength, got {other:?}"),
            }
        }
        assert!(enc.encode(&[0i16; FRAME_SAMPLES], &mut out).unwrap() > 0);
    }

    #[test]
    fn invalid_settings_are_rejected() {
        let bad = [
            (
                EncoderSettings {
                    bitrate_bps: 1_000,
                    ..Default::default()
                },
                EncoderSetting::Bitrate,
            ),
            (
                EncoderSettings {
                    complexity: 11,
                    ..Default::default()
                },
                EncoderSetting::Complexity,
            ),
            (
                EncoderSettings {
                    expected_loss_pct: 101,
                    ..Default::default()
                },
                EncoderSetting::ExpectedLoss,
            ),
        ];
        for (settings, expected) in bad {
            match Encoder::new(&settings) {
                Err(CodecError::InvalidSetting { setting, .. }) => assert_eq!(setting, expected),
                other => panic!("{settings:?}: expected InvalidSetting, got {other:?}"),
            }
        }
    }

    #[test]
    fn runtime_setters_clamp_and_apply() {
        let mut enc = Encoder::new(&EncoderSettings::default()).unwrap();
        enc.set_bitrate(24_000).unwrap();
        assert_eq!(enc.bitrate().unwrap(), 24_000);
        enc.set_bitrate(1).unwrap();
        assert_eq!(enc.bitrate().unwrap(), 6_000);
        enc.set_expected_loss(12).unwrap();
        assert_eq!(enc.expected_loss().unwrap(), 12);
        enc.set_expected_loss(250).unwrap();
        assert_eq!(enc.expected_loss().unwrap(), 100);
    }

    #[test]
    fn bitrate_setting_changes_packet_size() {
        let pcm: Vec<i16> = (0..FRAME_SAMPLES * 50)
            .map(|i| {
                let t = i as f64 / f64::from(SAMPLE_RATE);
                (8_000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()
                    + 3_000.0 * (2.0 * std::f64::consts::PI * 2_300.0 * t).sin())
                    as i16
            })
            .collect();
        let mean_len = |bps| {
            let mut enc = Encoder::new(&EncoderSettings {
                bitrate_bps: bps,
                ..Default::default()
            })
            .unwrap();
            let mut out = [0u8; MAX_PACKET_BYTES];
            let total: usize = pcm
                .chunks_exact(FRAME_SAMPLES)
                .map(|f| enc.encode(f, &mut out).unwrap())
                .sum();
            total as f64 / 50.0
        };
        let low = mean_len(16_000);
        let high = mean_len(64_000);
        // 16 kb/s is 40 bytes per 20 ms frame, 64 kb/s is 160.
        assert!((25.0..60.0).contains(&low), "16 kb/s mean packet {low}");
        assert!((120.0..200.0).contains(&high), "64 kb/s mean packet {high}");
    }
}
