//! The send side of a call's audio, sans-IO: PCM frames in, RTP payloads out. Encodes
//! with Opus, leaves DTX frames unsent, and applies the loss protection the policy chose
//! (`voicecall_core::protection`): RFC 2198 RED copies of earlier frames, Opus in-band FEC
//! and the encoder bitrate.

use crate::codec::red::{self, MAX_RED_BLOCK_BYTES, MAX_RED_OFFSET};
use crate::codec::{CodecError, Encoder, EncoderSettings, MAX_PACKET_BYTES, PayloadTypes};
use crate::jitter::DTX_MAX_BYTES;
use voicecall_core::effort::{HIGH_RATE_COMPLEXITY, QUIET_COMPLEXITY, speech_complexity};
use voicecall_core::format::RTP_TICKS_PER_FRAME;
use voicecall_core::protection::{MAX_RED_SPAN, Protection, ProtectionLevel, RedPlan};
use voicecall_core::talkspurt::{DEFAULT_HANGOVER_FRAMES, DtxHangover, VoiceActivity};

const MAX_SPAN: usize = MAX_RED_SPAN as usize;
/// Room for a RED packet: the primary and up to `MAX_SPAN` blocks with headers.
const MAX_PAYLOAD: usize = 1 + MAX_PACKET_BYTES + MAX_SPAN * (4 + MAX_RED_BLOCK_BYTES);

/// Who decides the protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProtectionMode {
    /// The peer's reports, through `voicecall_core::protection::ProtectionPolicy`.
    #[default]
    Adaptive,
    /// Always this (benchmark baselines): RED only where the peer negotiated it.
    Fixed(Protection),
}

impl ProtectionMode {
    /// RED with copies of the `distances` frames back, always; the encoder's own FEC and
    /// bitrate settings.
    pub fn fixed_red(distances: &[u8], encoder: &EncoderSettings) -> Option<Self> {
        let red = RedPlan::of(distances)?;
        Some(Self::Fixed(Protection {
            level: if red.is_off() {
                ProtectionLevel::Off
            } else {
                ProtectionLevel::Red
            },
            red,
            fec_loss_pct: encoder.expected_loss_pct,
            bitrate_bps: u32::try_from(encoder.bitrate_bps).unwrap_or(0),
        }))
    }
}

/// Settings of the send path besides the encoder's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendConfig {
    pub encoder: EncoderSettings,
    pub protection: ProtectionMode,
    /// Frames after the last speech frame before Opus may use DTX again (0: Opus alone).
    pub dtx_hangover_frames: u16,
    /// Opus complexity by bitrate and silence (`voicecall_core::effort`); off: always the
    /// configured one.
    pub adaptive_complexity: bool,
    /// With `adaptive_complexity`, speech from `LOW_RATE_BPS` on is encoded at no more.
    pub high_rate_complexity: u8,
}

impl Default for SendConfig {
    fn default() -> Self {
        Self {
            encoder: EncoderSettings::default(),
            protection: ProtectionMode::default(),
            dtx_hangover_frames: DEFAULT_HANGOVER_FRAMES,
            adaptive_complexity: true,
            high_rate_complexity: HIGH_RATE_COMPLEXITY,
        }
    }
}

impl SendConfig {
    /// What the send path starts with: a fixed protection, or for the adaptive one a clean
    /// line (plain Opus, no FEC, the configured bitrate) until the peer reports.
    pub fn initial_protection(&self) -> Protection {
        match self.protection {
            ProtectionMode::Fixed(p) => p,
            ProtectionMode::Adaptive => Protection {
                level: ProtectionLevel::Off,
                red: RedPlan::NONE,
                fec_loss_pct: 0,
                bitrate_bps: u32::try_from(self.encoder.bitrate_bps).unwrap_or(0),
            },
        }
    }
}

/// One packet to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outgoing<'a> {
    pub payload_type: u8,
    pub timestamp: u32,
    /// First packet of a talkspurt (after DTX), RFC 3551 §4.1.
    pub marker: bool,
    pub payload: &'a [u8],
}

#[derive(Clone, Copy)]
struct Sent {
    ts: u32,
    /// 0 for "nothing usable": not sent yet, or too large for a RED block.
    len: usize,
    valid: bool,
    bytes: [u8; MAX_RED_BLOCK_BYTES],
}

const NOTHING_SENT: Sent = Sent {
    ts: 0,
    len: 0,
    valid: false,
    bytes: [0; MAX_RED_BLOCK_BYTES],
};

pub struct SendPath {
    encoder: Encoder,
    types: PayloadTypes,
    protection: Protection,
    timestamp: u32,
    /// A DTX packet was sent; later ones are not until speech resumes.
    in_dtx: bool,
    /// The last frame was not sent (or none was yet), so the next one starts a talkspurt
    /// and carries the marker bit (RFC 3551 §4.1): a receiver may play it at once.
    skipped_last: bool,
    /// DTX as configured, and as set on the encoder now (off through a hangover).
    dtx_configured: bool,
    dtx_on: bool,
    hangover: DtxHangover,
    /// The configured complexity, its cap at high bitrates, whether it adapts, the one set
    /// for speech now, and whether the encoder runs at `QUIET_COMPLEXITY` instead.
    configured_complexity: u8,
    high_rate_complexity: u8,
    adaptive_complexity: bool,
    complexity: u8,
    quiet_complexity: bool,
    /// The last packets sent, newest at `history[0]`: the RED blocks of the next one.
    history: [Sent; MAX_SPAN],
    encoded: [u8; MAX_PACKET_BYTES],
    payload: [u8; MAX_PAYLOAD],
    /// Length of the last packet in `payload`.
    payload_len: usize,
    frames_red: u64,
    frames_unsent: u64,
}

impl std::fmt::Debug for SendPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendPath")
            .field("protection", &self.protection)
            .finish_non_exhaustive()
    }
}

impl SendPath {
    pub fn new(
        config: &SendConfig,
        types: PayloadTypes,
        first_timestamp: u32,
    ) -> Result<Self, CodecError> {
        let encoder = Encoder::new(&config.encoder)?;
        let mut send = Self {
            encoder,
            types,
            protection: Protection {
                level: ProtectionLevel::Off,
                red: RedPlan::NONE,
                fec_loss_pct: config.encoder.expected_loss_pct,
                bitrate_bps: u32::try_from(config.encoder.bitrate_bps).unwrap_or(0),
            },
            timestamp: first_timestamp,
            in_dtx: false,
            skipped_last: true,
            dtx_configured: config.encoder.dtx,
            dtx_on: config.encoder.dtx,
            hangover: DtxHangover::new(config.dtx_hangover_frames),
            configured_complexity: config.encoder.complexity,
            high_rate_complexity: config.high_rate_complexity,
            adaptive_complexity: config.adaptive_complexity,
            complexity: config.encoder.complexity,
            quiet_complexity: false,
            history: [NOTHING_SENT; MAX_SPAN],
            encoded: [0; MAX_PACKET_BYTES],
            payload: [0; MAX_PAYLOAD],
            payload_len: 0,
            frames_red: 0,
            frames_unsent: 0,
        };
        send.apply(config.initial_protection())?;
        send.set_speech_complexity()?;
        Ok(send)
    }

    /// Switches to `protection` from the next frame on. RED stays off towards a peer that
    /// did not negotiate it.
    pub fn apply(&mut self, protection: Protection) -> Result<(), CodecError> {
        let mut protection = protection;
        if self.types.red.is_none() && !protection.red.is_off() {
            protection.red = RedPlan::NONE;
            if protection.level == ProtectionLevel::Red {
                protection.level = ProtectionLevel::Fec;
            }
        }
        if protection.bitrate_bps != self.protection.bitrate_bps {
            self.encoder
                .set_bitrate(i32::try_from(protection.bitrate_bps).unwrap_or(i32::MAX))?;
        }
        if protection.fec_loss_pct != self.protection.fec_loss_pct {
            self.encoder.set_expected_loss(protection.fec_loss_pct)?;
        }
        self.protection = protection;
        self.set_speech_complexity()
    }

    /// The complexity for speech at the current bitrate, set on the encoder unless it is
    /// encoding silence at `QUIET_COMPLEXITY`.
    fn set_speech_complexity(&mut self) -> Result<(), CodecError> {
        let complexity = if self.adaptive_complexity {
            speech_complexity(
                self.configured_complexity,
                self.high_rate_complexity,
                self.protection.bitrate_bps,
            )
        } else {
            self.configured_complexity
        };
        if complexity != self.complexity {
            self.complexity = complexity;
            if !self.quiet_complexity {
                self.encoder.set_complexity(complexity)?;
            }
        }
        Ok(())
    }

    /// The complexity speech is encoded at now.
    pub fn complexity(&self) -> u8 {
        self.complexity
    }

    pub fn protection(&self) -> Protection {
        self.protection
    }

    /// In DTX silence: the frames now are not sent.
    pub fn is_silent(&self) -> bool {
        self.in_dtx
    }

    /// What the capture path's voice detector said about the next frame (`None`: no
    /// detector ran). DTX stays off through the hangover after speech; a noise-only frame
    /// in DTX silence is encoded at a low complexity, since it will most likely not be
    /// sent either.
    pub fn voice(&mut self, activity: Option<VoiceActivity>) -> Result<(), CodecError> {
        let dtx = self.dtx_configured
            && self
                .hangover
                .dtx_allowed(activity.map(|a| a.speech_probability));
        if dtx != self.dtx_on {
            self.encoder.set_dtx(dtx)?;
            self.dtx_on = dtx;
        }
        let quiet =
            self.adaptive_complexity && self.in_dtx && activity.is_some_and(|a| a.noise_only);
        if quiet != self.quiet_complexity {
            self.encoder.set_complexity(if quiet {
                QUIET_COMPLEXITY
            } else {
                self.complexity
            })?;
            self.quiet_complexity = quiet;
        }
        Ok(())
    }

    /// Encodes one 20 ms frame. `None`: a DTX frame that need not be sent (the timestamp
    /// still advances, so the receiver sees the gap).
    pub fn encode(&mut self, pcm: &[i16]) -> Result<Option<Outgoing<'_>>, CodecError> {
        let len = self.encoder.encode(pcm, &mut self.encoded)?;
        let ts = self.timestamp;
        self.timestamp = self.timestamp.wrapping_add(RTP_TICKS_PER_FRAME);
        if len <= DTX_MAX_BYTES {
            // Like WebRTC: the first DTX packet tells the receiver to play comfort noise,
            // the rest carry nothing.
            if self.in_dtx {
                self.skipped_last = true;
                self.frames_unsent += 1;
                return Ok(None);
            }
            self.in_dtx = true;
        } else {
            self.in_dtx = false;
        }
        let marker = std::mem::take(&mut self.skipped_last);
        let red_pt = self.types.red.filter(|_| !self.protection.red.is_off());
        let (payload_type, payload_len) = match red_pt {
            Some(red_pt) => {
                let span = self.red_span(ts);
                let mut refs: [(u32, &[u8]); MAX_SPAN] = [(0, &[]); MAX_SPAN];
                // Oldest first: the block `d` packets back goes at position `span - d`.
                for d in 1..=span {
                    let sent = &self.history[d - 1];
                    let copy: &[u8] = if self.protection.red.repeats(d as u8) {
                        &sent.bytes[..sent.len]
                    } else {
                        &[]
                    };
                    refs[span - d] = (ts.wrapping_sub(sent.ts), copy);
                }
                let n = red::pack(
                    self.types.opus,
                    &refs[..span],
                    &self.encoded[..len],
                    &mut self.payload,
                )
                .map_err(|_| CodecError::OutputTooSmall {
                    needed: len,
                    got: MAX_PAYLOAD,
                })?;
                self.frames_red += 1;
                (red_pt, n)
            }
            None => {
                self.payload[..len].copy_from_slice(&self.encoded[..len]);
                (self.types.opus, len)
            }
        };
        // Remember this packet for the next ones' redundancy.
        self.history.rotate_right(1);
        let slot = &mut self.history[0];
        slot.ts = ts;
        slot.valid = true;
        slot.len = if len <= MAX_RED_BLOCK_BYTES { len } else { 0 };
        slot.bytes[..slot.len].copy_from_slice(&self.encoded[..slot.len]);
        self.payload_len = payload_len;
        Ok(Some(Outgoing {
            payload_type,
            timestamp: ts,
            marker,
            payload: &self.payload[..payload_len],
        }))
    }

    /// How many blocks the packet at `ts` carries: the plan's span, cut at the first packet
    /// that cannot be referred to (none sent yet, or too long ago for a block's offset).
    /// Blocks stand for the packets just before this one in order (block `i` of `k` is
    /// packet `n - k + i`), so a cut there keeps every block where receivers look for it.
    fn red_span(&self, ts: u32) -> usize {
        let span = usize::from(self.protection.red.span()).min(MAX_SPAN);
        self.history
            .iter()
            .take(span)
            .take_while(|sent| {
                let offset = ts.wrapping_sub(sent.ts);
                sent.valid && offset > 0 && offset <= MAX_RED_OFFSET
            })
            .count()
    }

    /// The payload of the last packet `encode` returned, for when its borrow had to end.
    pub fn last_payload(&self) -> &[u8] {
        &self.payload[..self.payload_len]
    }

    /// Frames sent inside RED, and DTX frames not sent at all.
    pub fn frames_red(&self) -> u64 {
        self.frames_red
    }

    pub fn frames_unsent(&self) -> u64 {
        self.frames_unsent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::red::parse;
    use voicecall_core::format::FRAME_SAMPLES;

    fn tone(i: usize) -> [i16; FRAME_SAMPLES] {
        let mut pcm = [0i16; FRAME_SAMPLES];
        for (n, s) in pcm.iter_mut().enumerate() {
            let t = (i * FRAME_SAMPLES + n) as f64 / 48_000.0;
            *s = ((t * 2.0 * std::f64::consts::PI * 300.0).sin() * 8_000.0) as i16;
        }
        pcm
    }

    const TYPES: PayloadTypes = PayloadTypes {
        opus: 111,
        red: Some(63),
    };

    fn red(distances: &[u8]) -> Protection {
        Protection {
            level: ProtectionLevel::Red,
            red: RedPlan::of(distances).unwrap(),
            fec_loss_pct: 0,
            bitrate_bps: 32_000,
        }
    }

    fn fixed(protection: Protection) -> SendConfig {
        SendConfig {
            protection: ProtectionMode::Fixed(protection),
            ..Default::default()
        }
    }

    #[test]
    fn adaptive_starts_as_plain_opus_without_fec() {
        let mut send = SendPath::new(&SendConfig::default(), TYPES, 0).unwrap();
        assert_eq!(send.protection().level, ProtectionLevel::Off);
        assert_eq!(send.encoder.expected_loss().unwrap(), 0);
        assert_eq!(send.encoder.bitrate().unwrap(), 40_000);
        assert_eq!(send.encode(&tone(0)).unwrap().unwrap().payload_type, 111);
    }

    #[test]
    fn red_packets_carry_the_previous_frame() {
        let mut send = SendPath::new(&fixed(red(&[1])), TYPES, 1_000).unwrap();
        let first = send.encode(&tone(0)).unwrap().unwrap();
        assert_eq!(first.payload_type, 63);
        let primary0 = parse(first.payload).unwrap().primary.payload.to_vec();
        assert_eq!(parse(first.payload).unwrap().redundant_count(), 0);
        let second = send.encode(&tone(1)).unwrap().unwrap();
        assert_eq!(second.timestamp, 1_000 + 960);
        let red = parse(second.payload).unwrap();
        let block = red.redundant().next().copied().unwrap();
        assert_eq!(block.timestamp_offset, 960);
        assert_eq!(block.payload, primary0.as_slice());
        assert_eq!(block.payload_type, 111);
    }

    #[test]
    fn spread_copies_keep_each_block_at_its_packet_position() {
        let mut send = SendPath::new(&fixed(red(&[1, 3])), TYPES, 0).unwrap();
        let mut primaries = Vec::new();
        for i in 0..3 {
            let p = send.encode(&tone(i)).unwrap().unwrap();
            primaries.push(parse(p.payload).unwrap().primary.payload.to_vec());
        }
        let p = send.encode(&tone(3)).unwrap().unwrap();
        let parsed = parse(p.payload).unwrap();
        let blocks: Vec<_> = parsed
            .redundant()
            .map(|b| (b.timestamp_offset, b.payload.to_vec()))
            .collect();
        // Three blocks for packets n-3, n-2, n-1; the one two back is an empty placeholder.
        assert_eq!(
            blocks,
            vec![
                (3 * 960, primaries[0].clone()),
                (2 * 960, Vec::new()),
                (960, primaries[2].clone()),
            ]
        );
    }

    #[test]
    fn applying_a_protection_sets_fec_and_bitrate_and_a_peer_without_red_gets_plain_opus() {
        let types = PayloadTypes {
            opus: 109,
            red: None,
        };
        let mut send = SendPath::new(&SendConfig::default(), types, 0).unwrap();
        send.apply(Protection {
            fec_loss_pct: 12,
            bitrate_bps: 24_000,
            ..red(&[1, 2])
        })
        .unwrap();
        assert_eq!(send.encoder.expected_loss().unwrap(), 12);
        assert_eq!(send.encoder.bitrate().unwrap(), 24_000);
        assert!(send.protection().red.is_off());
        assert_eq!(send.protection().level, ProtectionLevel::Fec);
        for i in 0..5 {
            let p = send.encode(&tone(i)).unwrap().unwrap();
            assert_eq!(p.payload_type, 109);
            assert!(crate::codec::packet_samples(p.payload) == Some(FRAME_SAMPLES));
        }
        // And back to plain Opus.
        send.apply(SendConfig::default().initial_protection())
            .unwrap();
        assert_eq!(send.encoder.expected_loss().unwrap(), 0);
        assert_eq!(send.encoder.bitrate().unwrap(), 40_000);
    }

    #[test]
    fn speech_complexity_follows_the_bitrate_unless_fixed() {
        let mut send = SendPath::new(&SendConfig::default(), TYPES, 0).unwrap();
        assert_eq!(send.complexity(), 8, "40 kb/s");
        send.apply(Protection {
            bitrate_bps: 16_000,
            ..send.protection()
        })
        .unwrap();
        assert_eq!(send.complexity(), 9, "16 kb/s");
        let fixed = SendConfig {
            adaptive_complexity: false,
            ..SendConfig::default()
        };
        assert_eq!(SendPath::new(&fixed, TYPES, 0).unwrap().complexity(), 9);
    }

    #[test]
    fn dtx_sends_one_packet_per_silence_then_marks_the_talkspurt() {
        let config = SendConfig {
            encoder: EncoderSettings {
                dtx: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let mut send = SendPath::new(&config, TYPES, 0).unwrap();
        let mut sent = Vec::new();
        for i in 0..10 {
            let p = send.encode(&tone(i)).unwrap().unwrap();
            sent.push((p.timestamp, p.payload.len(), p.marker));
        }
        let silence = [0i16; FRAME_SAMPLES];
        let mut unsent = 0;
        for _ in 0..100 {
            match send.encode(&silence).unwrap() {
                Some(p) => sent.push((p.timestamp, p.payload.len(), p.marker)),
                None => unsent += 1,
            }
        }
        assert!(
            unsent > 60,
            "only {unsent} of 100 silent frames left unsent"
        );
        assert!(
            sent.iter()
                .filter(|(_, len, _)| *len <= DTX_MAX_BYTES)
                .count()
                >= 1
        );
        let resumed = send.encode(&tone(200)).unwrap().unwrap();
        assert!(resumed.marker);
        assert_eq!(resumed.timestamp, 110 * 960);
        assert!(!send.encode(&tone(201)).unwrap().unwrap().marker);
        assert_eq!(send.frames_unsent(), unsent);
    }
}
