//! The send side of a call's audio, sans-IO: PCM frames in, RTP payloads out. Encodes
//! with Opus, leaves DTX frames unsent, wraps frames in RFC 2198 RED while the path is
//! lossy, and turns the peer's receiver reports into Opus' expected-loss setting.

use std::time::{Duration, Instant};

use crate::codec::red::{self, MAX_RED_BLOCK_BYTES, MAX_RED_OFFSET};
use crate::codec::{CodecError, Encoder, EncoderSettings, MAX_PACKET_BYTES, PayloadTypes};
use crate::jitter::DTX_MAX_BYTES;
use voicecall_core::format::RTP_TICKS_PER_FRAME;

/// When to wrap frames in RED (only ever when the peer negotiated `red/48000/2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RedPolicy {
    /// Plain Opus always.
    Off,
    /// Start protected; drop the redundancy once the peer's reports show a clean path for
    /// `RED_CLEAN_HOLD`, and take it up again at the first reported loss.
    Adaptive,
    /// The default: in the quality bench the webrtc-rs receiver reports did not show the
    /// relay's loss, so `Adaptive` dropped the protection mid-call (10 % loss: 2.3 vs 2.55
    /// PESQ). A voice call can afford the ~12 kb/s until the reports are trusted.
    #[default]
    Always,
}

/// How many earlier frames each RED packet repeats. Chromium sends one; two cost ~28 kb/s
/// more but survive two losses in a row, which single redundancy does not: in the quality
/// bench 10 % random loss went from 3.2 to 4.0 PESQ and 5 % bursty from 2.5 to 3.0.
pub const DEFAULT_RED_DISTANCE: usize = 2;
const MAX_RED_DISTANCE: usize = 2;
/// Without a reported loss for this long, RED is switched off again.
const RED_CLEAN_HOLD: Duration = Duration::from_secs(10);
/// Reported loss (fraction) from which RED is switched on.
const RED_ON_LOSS: f64 = 0.01;
/// Each receiver report (about one a second) forgets this share of the remembered loss,
/// so a burst keeps the protection up for a few seconds but not for ever.
const LOSS_MEMORY: f64 = 0.8;
/// libopus gains nothing from planning for more loss than this.
const MAX_EXPECTED_LOSS_PCT: u8 = 30;
/// Room for a RED packet: the primary and up to `MAX_RED_DISTANCE` blocks with headers.
const MAX_PAYLOAD: usize = 1 + MAX_PACKET_BYTES + MAX_RED_DISTANCE * (4 + MAX_RED_BLOCK_BYTES);

/// Settings of the send path besides the encoder's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendConfig {
    pub encoder: EncoderSettings,
    pub red: RedPolicy,
    pub red_distance: usize,
    /// Feed the peer's reported loss into Opus' FEC budget; off keeps
    /// `encoder.expected_loss_pct` fixed.
    pub loss_feedback: bool,
}

impl Default for SendConfig {
    fn default() -> Self {
        Self {
            encoder: EncoderSettings::default(),
            red: RedPolicy::default(),
            red_distance: DEFAULT_RED_DISTANCE,
            loss_feedback: true,
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
    len: usize,
    bytes: [u8; MAX_RED_BLOCK_BYTES],
}

const NOTHING_SENT: Sent = Sent {
    ts: 0,
    len: 0,
    bytes: [0; MAX_RED_BLOCK_BYTES],
};

/// Loss the peer reports, remembered with decay, and what it implies.
#[derive(Debug, Clone, Copy)]
struct LossState {
    remembered: f64,
    last_loss: Instant,
}

pub struct SendPath {
    encoder: Encoder,
    config: SendConfig,
    types: PayloadTypes,
    red_active: bool,
    loss: LossState,
    expected_loss_pct: u8,
    timestamp: u32,
    /// A DTX packet was sent; later ones are not until speech resumes.
    in_dtx: bool,
    /// The last frame was not sent, so the next one starts a talkspurt.
    skipped_last: bool,
    /// The last packets sent, newest at `history[0]`: the RED blocks of the next one.
    history: [Sent; MAX_RED_DISTANCE],
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
            .field("red_active", &self.red_active)
            .field("expected_loss_pct", &self.expected_loss_pct)
            .finish_non_exhaustive()
    }
}

impl SendPath {
    pub fn new(
        config: &SendConfig,
        types: PayloadTypes,
        first_timestamp: u32,
        now: Instant,
    ) -> Result<Self, CodecError> {
        let encoder = Encoder::new(&config.encoder)?;
        let mut config = config.clone();
        config.red_distance = config.red_distance.clamp(1, MAX_RED_DISTANCE);
        let red_active = types.red.is_some() && config.red != RedPolicy::Off;
        Ok(Self {
            encoder,
            expected_loss_pct: config.encoder.expected_loss_pct,
            config,
            types,
            red_active,
            loss: LossState {
                remembered: 0.0,
                last_loss: now,
            },
            timestamp: first_timestamp,
            in_dtx: false,
            skipped_last: false,
            history: [NOTHING_SENT; MAX_RED_DISTANCE],
            encoded: [0; MAX_PACKET_BYTES],
            payload: [0; MAX_PAYLOAD],
            payload_len: 0,
            frames_red: 0,
            frames_unsent: 0,
        })
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
        let (payload_type, payload_len) = match self.types.red.filter(|_| self.red_active) {
            Some(red_pt) => {
                let blocks = self.red_blocks(ts);
                let mut refs: [(u32, &[u8]); MAX_RED_DISTANCE] = [(0, &[]); MAX_RED_DISTANCE];
                for (dst, &(offset, idx)) in refs.iter_mut().zip(blocks.iter().flatten()) {
                    let sent = &self.history[idx];
                    *dst = (offset, &sent.bytes[..sent.len]);
                }
                let count = blocks.iter().flatten().count();
                let n = red::pack(
                    self.types.opus,
                    &refs[..count],
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

    /// The RED blocks for a packet at `ts`: `(offset, history index)`, oldest first. Only
    /// an unbroken run of the newest packets goes in, so the receiver can map block `i` of
    /// `k` to sequence number `n - k + i`.
    fn red_blocks(&self, ts: u32) -> [Option<(u32, usize)>; MAX_RED_DISTANCE] {
        let mut usable = 0;
        for (i, sent) in self
            .history
            .iter()
            .take(self.config.red_distance)
            .enumerate()
        {
            let offset = ts.wrapping_sub(sent.ts);
            if sent.len == 0 || offset == 0 || offset > MAX_RED_OFFSET {
                break;
            }
            usable = i + 1;
        }
        let mut out = [None; MAX_RED_DISTANCE];
        for (k, slot) in out.iter_mut().take(usable).enumerate() {
            let idx = usable - 1 - k;
            *slot = Some((ts.wrapping_sub(self.history[idx].ts), idx));
        }
        out
    }

    /// The peer's receiver report: `fraction_lost` (0–1) of our packets over its last
    /// interval. Raises protection at once, lowers it slowly.
    pub fn on_loss_report(&mut self, fraction_lost: f64, now: Instant) {
        let fraction = if fraction_lost.is_finite() {
            fraction_lost.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.loss.remembered = fraction.max(self.loss.remembered * LOSS_MEMORY);
        if fraction >= RED_ON_LOSS {
            self.loss.last_loss = now;
        }
        if self.config.loss_feedback {
            let pct = (self.loss.remembered * 100.0).round() as u8;
            let pct = pct.min(MAX_EXPECTED_LOSS_PCT);
            if pct != self.expected_loss_pct && self.encoder.set_expected_loss(pct).is_ok() {
                self.expected_loss_pct = pct;
            }
        }
        self.update_red(now);
    }

    /// Re-evaluates RED without a new report (a peer that stopped reporting is no evidence
    /// of loss).
    pub fn update_red(&mut self, now: Instant) {
        self.red_active = self.types.red.is_some()
            && match self.config.red {
                RedPolicy::Off => false,
                RedPolicy::Always => true,
                RedPolicy::Adaptive => {
                    now.saturating_duration_since(self.loss.last_loss) < RED_CLEAN_HOLD
                }
            };
    }

    /// The payload of the last packet `encode` returned, for when its borrow had to end.
    pub fn last_payload(&self) -> &[u8] {
        &self.payload[..self.payload_len]
    }

    pub fn red_active(&self) -> bool {
        self.red_active
    }

    pub fn expected_loss_pct(&self) -> u8 {
        self.expected_loss_pct
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

    #[test]
    fn red_packets_carry_the_previous_frame() {
        let now = Instant::now();
        let mut send = SendPath::new(&SendConfig::default(), TYPES, 1_000, now).unwrap();
        assert!(send.red_active(), "RED is on from the first packet");
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
    fn a_peer_without_red_gets_plain_opus() {
        let types = PayloadTypes {
            opus: 109,
            red: None,
        };
        for policy in [RedPolicy::Adaptive, RedPolicy::Always] {
            let config = SendConfig {
                red: policy,
                ..Default::default()
            };
            let mut send = SendPath::new(&config, types, 0, Instant::now()).unwrap();
            send.on_loss_report(0.2, Instant::now());
            for i in 0..5 {
                let p = send.encode(&tone(i)).unwrap().unwrap();
                assert_eq!(p.payload_type, 109);
                assert!(crate::codec::packet_samples(p.payload) == Some(FRAME_SAMPLES));
            }
            assert!(!send.red_active());
        }
    }

    #[test]
    fn loss_reports_drive_fec_and_red() {
        let t0 = Instant::now();
        let config = SendConfig {
            red: RedPolicy::Adaptive,
            ..Default::default()
        };
        let mut send = SendPath::new(&config, TYPES, 0, t0).unwrap();
        // Clean reports: RED goes off after the hold, expected loss drops to 0.
        for s in 1..=12 {
            send.on_loss_report(0.0, t0 + Duration::from_secs(s));
        }
        assert!(!send.red_active());
        assert_eq!(send.expected_loss_pct(), 0);
        assert_eq!(send.encoder.expected_loss().unwrap(), 0);
        let plain = send.encode(&tone(0)).unwrap().unwrap();
        assert_eq!(plain.payload_type, 111);
        // 10 % loss reported: RED on and libopus told at once.
        send.on_loss_report(0.1, t0 + Duration::from_secs(13));
        assert!(send.red_active());
        assert_eq!(send.expected_loss_pct(), 10);
        assert_eq!(send.encoder.expected_loss().unwrap(), 10);
        // The memory fades over a few reports, RED holds for the clean hold time.
        send.on_loss_report(0.0, t0 + Duration::from_secs(14));
        assert_eq!(send.expected_loss_pct(), 8);
        for s in 15..=22 {
            send.on_loss_report(0.0, t0 + Duration::from_secs(s));
        }
        assert!(send.red_active());
        send.on_loss_report(0.0, t0 + Duration::from_secs(24));
        assert!(!send.red_active());
        // Garbage in is clamped, not trusted.
        send.on_loss_report(f64::NAN, t0 + Duration::from_secs(25));
        send.on_loss_report(7.0, t0 + Duration::from_secs(26));
        assert_eq!(send.expected_loss_pct(), MAX_EXPECTED_LOSS_PCT);
    }

    #[test]
    fn fixed_fec_ignores_reports() {
        let config = SendConfig {
            loss_feedback: false,
            red: RedPolicy::Off,
            ..Default::default()
        };
        let mut send = SendPath::new(&config, TYPES, 0, Instant::now()).unwrap();
        send.on_loss_report(0.25, Instant::now());
        assert_eq!(send.expected_loss_pct(), 5);
        assert!(!send.red_active());
        assert_eq!(send.encode(&tone(0)).unwrap().unwrap().payload_type, 111);
    }

    #[test]
    fn dtx_sends_one_packet_per_silence_then_marks_the_talkspurt() {
        let config = SendConfig {
            encoder: EncoderSettings {
                dtx: true,
                ..Default::default()
            },
            red: RedPolicy::Off,
            ..Default::default()
        };
        let mut send = SendPath::new(&config, TYPES, 0, Instant::now()).unwrap();
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
