use std::time::{Duration, Instant};

use super::bursts::BurstMemory;
use super::estimator::DelayEstimator;
use super::ring::{SLOT_COUNT, SLOT_PAYLOAD_BYTES, SlotRing};
use super::sequence::SequenceUnwrapper;
use super::stretch::Stretch;
use super::{InsertOutcome, JitterConfig, JitterStats, Playout};
use voicecall_core::format::{FRAME_DURATION, FRAME_SAMPLES, RTP_TICKS_PER_FRAME};

/// Frames of nothing-newer concealment before declaring a stall: PLC bridges a short gap
/// well, but beyond ~60 ms it turns into a drone and silence is better.
const STALL_FRAMES: u32 = 3;
/// "Well above target": a frame of phase slack plus a frame of real surplus.
const CATCHUP_MARGIN_FRAMES: u64 = 2;
/// The surplus must last this long: depth swings by the jitter itself.
const CATCHUP_AFTER: Duration = Duration::from_millis(300);
/// At most one skip per this interval, so catching up never sounds like a fast-forward.
const SKIP_INTERVAL: Duration = Duration::from_millis(100);
/// Without a quiet frame for this long, skip a loud one anyway.
const FORCED_SKIP_AFTER: Duration = Duration::from_millis(600);
/// When the caller time-stretches: a surplus of one frame lasting this long is shortened
/// away, quiet frames first (a pause loses up to 10 ms per frame unheard)...
const STRETCH_AFTER: Duration = Duration::from_millis(300);
/// ...speech only when the surplus is two frames or more and no pause came for this long,
/// and then a pitch period at most this often, so the rhythm of speech never audibly
/// hurries...
const STRETCH_SPEECH_AFTER: Duration = Duration::from_millis(1_000);
const STRETCH_SPEECH_INTERVAL: Duration = Duration::from_millis(200);
/// ...and a whole frame is skipped only if shortening found nothing to cut (audio that
/// neither repeats nor falls quiet) for this long.
const STRETCH_GIVE_UP: Duration = Duration::from_millis(2_000);
/// Short of the target because the packet after the newest is overdue (late, or lost
/// with its RED copy riding in the packet after it), the buffer waits this long before a
/// frame is lengthened, and then lengthens at most this often. At 10 % loss a packet lost
/// at the head read a frame short on every tenth pop until the next one brought the copy;
/// a period repeated there came back out as a shortening in the next pause, 0.4 s of each
/// per call, and the quality bench scored it lower (docs/benchmarks.md, "Quality on main").
/// Short with nothing overdue (the lead not reached yet) it lengthens at once: waiting
/// there too let more late packets be concealed on a clean line (measured, same section).
const OVERDUE_SHORT_AFTER: Duration = Duration::from_millis(60);
/// A packet at most this fraction of the running mean size is quiet: Opus VBR spends
/// far fewer bits on pauses, so size is a free loudness hint.
const QUIET_SIZE_FRACTION: f64 = 0.75;
const MEAN_SIZE_GAIN: f64 = 1.0 / 64.0;
/// RFC 3550 A.1's MAX_MISORDER: a packet this far behind the playout point is not
/// reordering but a sender that restarted its sequence.
const MAX_MISORDER: u64 = 100;
/// Playout delays beyond half the ring would leave no room for reordering.
const MAX_TARGET_FRAMES: u64 = SLOT_COUNT as u64 / 2;
/// An Opus packet of at most this many bytes is a TOC without audio: the sender entered
/// DTX (RFC 7587 §3.1.3; libopus emits 1-byte packets, WebRTC sends only the first one).
/// Until the next packet the decoder's concealment plays comfort noise.
pub const DTX_MAX_BYTES: usize = 2;
/// Silence and comfort noise come in pieces this long when the caller time-stretches:
/// 5 ms, the pump's interval (Opus decodes any multiple of 2.5 ms).
const QUIET_PIECE_SAMPLES: usize = FRAME_SAMPLES / 4;
/// Bounds of the learned packet duration, in RTP ticks (2.5 ms .. 120 ms).
const MIN_FRAME_TICKS: u32 = 120;
const MAX_FRAME_TICKS: u32 = 5_760;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing played since creation or the last resync.
    Idle,
    Playing,
    /// The stream stalled; waiting for the target depth again.
    Refilling,
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Buffering,
    Play(u64),
    Lost {
        next: Option<u64>,
    },
    /// The sender is in DTX (a timestamp gap with no sequence gap, or a DTX packet with
    /// nothing after it yet): comfort noise, not loss.
    Dtx,
}

enum Class {
    Fits,
    Duplicate,
    Late,
    /// Far behind the playout point: possibly a restarted sender.
    Stray,
    /// Beyond the ring ahead of the playout point.
    TooFarAhead,
}

/// Sans-IO receive jitter buffer for 20 ms Opus packets. The caller passes arrival times
/// into `insert` and calls `pop` once per 20 ms of audio output; nothing here allocates
/// after `new`, blocks or reads a clock.
#[derive(Debug)]
pub struct JitterBuffer {
    ring: SlotRing,
    unwrapper: SequenceUnwrapper,
    estimator: DelayEstimator,
    phase: Phase,
    /// Highest extended sequence number stored since the last (re)start.
    highest: Option<u64>,
    /// Next extended sequence number to play; `None` until playout starts.
    next_play: Option<u64>,
    underrun_streak: u32,
    /// When the buffer, not playing, first held a packet: playout also starts once that
    /// packet has waited the target delay, or a stream ending (or a lone packet after a
    /// stall) would never reach the target depth and never play.
    waiting_since: Option<Instant>,
    /// RFC 3550 A.1's `bad_seq`: a restart is believed when two strays arrive in sequence.
    stray_successor: Option<u64>,
    excess_since: Option<Instant>,
    last_skip: Option<Instant>,
    mean_payload_len: f64,
    /// RTP timestamp of the next 20 ms to output, once playing.
    cursor_ts: Option<u32>,
    /// Packet duration in RTP ticks, learned from adjacent sequence numbers.
    frame_ticks: u32,
    /// The last packet played was a DTX packet: silence until the sender speaks again.
    peer_in_dtx: bool,
    /// The caller time-stretches the frames it plays (`stretch`), so the buffer adjusts
    /// its delay by pitch periods instead of skipping and holding whole frames.
    time_stretch: bool,
    /// What to do with the frame the last `pop` returned.
    stretch: Stretch,
    /// When shortening last removed audio.
    last_accelerated: Option<Instant>,
    /// Since when every pop found the buffer short with the next packet overdue
    /// (`OVERDUE_SHORT_AFTER`), or since the last lengthening that followed.
    short_since: Option<Instant>,
    /// Arrival time of each packet held, by slot: with time-stretching the delay is kept
    /// to the millisecond, not only in whole frames (see `target_frames`).
    arrived_at: [Option<Instant>; SLOT_COUNT],
    /// Recent loss bursts and how far back the peer's copies reach...
    bursts: BurstMemory,
    /// ...make this many frames of wait beyond the jitter, as of the last `pop`.
    burst_wait: u64,
    /// The packet, held while not playing, that the sender marked as a talkspurt's first
    /// (RTP marker bit): nothing before it is due, so with time-stretching it may play at
    /// once and lengthening grows the buffer to its target.
    talkspurt_start: Option<u64>,
    stats: JitterStats,
}

impl JitterBuffer {
    pub fn new(config: JitterConfig) -> Self {
        let max_ms = MAX_TARGET_FRAMES * FRAME_DURATION.as_millis() as u64;
        let max_delay = config.max_delay.min(Duration::from_millis(max_ms));
        let config = JitterConfig {
            min_delay: config.min_delay.min(max_delay),
            max_delay,
            ..config
        };
        Self {
            ring: SlotRing::new(),
            unwrapper: SequenceUnwrapper::default(),
            estimator: DelayEstimator::new(&config),
            phase: Phase::Idle,
            highest: None,
            next_play: None,
            underrun_streak: 0,
            waiting_since: None,
            stray_successor: None,
            excess_since: None,
            last_skip: None,
            mean_payload_len: 0.0,
            cursor_ts: None,
            frame_ticks: RTP_TICKS_PER_FRAME,
            peer_in_dtx: false,
            time_stretch: false,
            stretch: Stretch::None,
            last_accelerated: None,
            short_since: None,
            arrived_at: [None; SLOT_COUNT],
            bursts: BurstMemory::default(),
            burst_wait: 0,
            talkspurt_start: None,
            stats: JitterStats::default(),
        }
    }

    /// Says the caller can time-stretch decoded frames: the buffer then asks for a frame
    /// to be shortened when it holds more than its target and lengthened when it holds less
    /// (`stretch`), and skips whole frames only when shortening cannot help.
    pub fn set_time_stretch(&mut self, on: bool) {
        self.time_stretch = on;
    }

    /// How the frame the last `pop` returned should be played. Only ever asked for a
    /// `Frame` or a `Redundant`.
    pub fn stretch(&self) -> Stretch {
        self.stretch
    }

    /// The caller stretched a frame from `before` to `after` samples (equal when the frame
    /// had nothing to cut or repeat).
    pub fn record_stretch(&mut self, before: usize, after: usize, now: Instant) {
        if after < before {
            self.stats.accelerated_samples += (before - after) as u64;
            self.last_accelerated = Some(now);
        } else if after > before {
            self.stats.expanded_samples += (after - before) as u64;
            if self.short_since.is_some() {
                self.short_since = Some(now);
            }
        }
    }

    pub fn insert(
        &mut self,
        seq: u16,
        rtp_timestamp: u32,
        payload: &[u8],
        now: Instant,
    ) -> InsertOutcome {
        if payload.is_empty() {
            self.stats.rejected += 1;
            return InsertOutcome::Empty;
        }
        if payload.len() > SLOT_PAYLOAD_BYTES {
            self.stats.rejected += 1;
            return InsertOutcome::TooLarge;
        }
        self.stats.received += 1;
        let mut ext = self.unwrapper.unwrap(seq);
        let mut outcome = InsertOutcome::Accepted;
        match self.classify(ext) {
            Class::Fits => {}
            Class::Duplicate => {
                self.stats.duplicates += 1;
                return InsertOutcome::Duplicate;
            }
            Class::Late => {
                self.stats.late += 1;
                // Late packets are exactly the evidence that the delay is too short.
                self.estimator.observe(rtp_timestamp, now);
                return InsertOutcome::Late;
            }
            Class::Stray => {
                if self.stray_successor != Some(ext) {
                    self.stray_successor = Some(ext + 1);
                    self.stats.late += 1;
                    return InsertOutcome::Late;
                }
                self.resync();
                ext = self.unwrapper.unwrap(seq);
                outcome = InsertOutcome::Resynced;
            }
            Class::TooFarAhead => {
                self.resync();
                outcome = InsertOutcome::Resynced;
            }
        }
        self.stray_successor = None;
        self.estimator.observe(rtp_timestamp, now);
        self.learn_frame_ticks(ext, rtp_timestamp);
        self.arrived_at[(ext % SLOT_COUNT as u64) as usize] = Some(now);
        if !self.ring.store_frame(ext, rtp_timestamp, payload, false) {
            // Unreachable after the size check; counted rather than trusted.
            self.stats.rejected += 1;
            return InsertOutcome::TooLarge;
        }
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        if self.phase != Phase::Playing && self.waiting_since.is_none() {
            self.waiting_since = Some(now);
        }
        let len = payload.len() as f64;
        self.mean_payload_len = if self.mean_payload_len == 0.0 {
            len
        } else {
            self.mean_payload_len + (len - self.mean_payload_len) * MEAN_SIZE_GAIN
        };
        outcome
    }

    /// Stores a frame rebuilt from a RED block of a later packet, under the sequence number
    /// the caller derived for it. Only fills a gap: a frame already held or played, or one
    /// whose time has passed, is ignored, and it says nothing about network timing.
    pub fn insert_redundant(&mut self, seq: u16, rtp_timestamp: u32, payload: &[u8]) -> bool {
        if payload.is_empty() || payload.len() > SLOT_PAYLOAD_BYTES || self.highest.is_none() {
            return false;
        }
        let ext = self.unwrapper.peek(seq);
        if !matches!(self.classify(ext), Class::Fits) || self.highest.is_some_and(|h| ext > h) {
            return false;
        }
        // The block's timestamp must sit between its neighbours', or the sender's RED does
        // not map blocks to the previous packets the way ours and Chromium's do.
        let before = |a: u32, b: u32| (b.wrapping_sub(a) as i32) > 0;
        if let Some(prev) = self.ring.timestamp(ext.wrapping_sub(1))
            && !before(prev, rtp_timestamp)
        {
            return false;
        }
        if let Some(next) = self.ring.timestamp(ext + 1)
            && !before(rtp_timestamp, next)
        {
            return false;
        }
        if !self.ring.store_frame(ext, rtp_timestamp, payload, true) {
            return false;
        }
        self.stats.red_stored += 1;
        true
    }

    /// The packet `seq`, just inserted, carried the RTP marker bit: the sender starts a
    /// talkspurt with it. Only a packet still waiting to play counts; a talkspurt in the
    /// middle of a call is DTX's business (`in_dtx_gap`).
    pub fn note_talkspurt_start(&mut self, seq: u16) {
        let ext = self.unwrapper.peek(seq);
        if self.phase != Phase::Playing && self.ring.is_filled(ext) {
            self.talkspurt_start = Some(ext);
        }
    }

    /// A RED packet carried a copy of the frame `frames` before it: a loss burst that long
    /// can be waited out.
    pub fn note_red_distance(&mut self, frames: u32) {
        self.bursts.note_distance(frames);
    }

    /// Learns the packet duration from the smallest timestamp step between adjacent
    /// sequence numbers: DTX makes steps longer, never shorter.
    fn learn_frame_ticks(&mut self, ext: u64, ts: u32) {
        let step = |a: u32, b: u32| b.wrapping_sub(a);
        let mut candidate = None;
        if let Some(prev) = self.ring.timestamp(ext.wrapping_sub(1)) {
            candidate = Some(step(prev, ts));
        }
        if let Some(next) = self.ring.timestamp(ext + 1) {
            let s = step(ts, next);
            candidate = Some(candidate.map_or(s, |c: u32| c.min(s)));
        }
        if let Some(ticks) = candidate.filter(|t| (MIN_FRAME_TICKS..=MAX_FRAME_TICKS).contains(t)) {
            self.frame_ticks = self.frame_ticks.min(ticks);
        }
    }

    fn classify(&self, ext: u64) -> Class {
        if self.ring.is_filled(ext) {
            return Class::Duplicate;
        }
        let Some(highest) = self.highest else {
            return Class::Fits;
        };
        // Before playout starts the window hangs from the newest packet, and a newer one
        // simply pushes the oldest out.
        let (floor, ceiling) = match self.next_play {
            Some(next) => (next, next + SLOT_COUNT as u64),
            None => (highest.saturating_sub(SLOT_COUNT as u64 - 1), u64::MAX),
        };
        if ext < floor {
            if self.ring.was_played(ext) {
                Class::Duplicate
            } else if ext + MAX_MISORDER < floor {
                Class::Stray
            } else {
                Class::Late
            }
        } else if ext >= ceiling {
            Class::TooFarAhead
        } else {
            Class::Fits
        }
    }

    fn resync(&mut self) {
        self.ring.clear();
        self.unwrapper.reset();
        self.estimator.reset();
        self.phase = Phase::Idle;
        self.highest = None;
        self.next_play = None;
        self.underrun_streak = 0;
        self.waiting_since = None;
        self.stray_successor = None;
        self.excess_since = None;
        self.last_skip = None;
        self.last_accelerated = None;
        self.short_since = None;
        self.arrived_at = [None; SLOT_COUNT];
        self.bursts.reset();
        self.burst_wait = 0;
        self.talkspurt_start = None;
        self.cursor_ts = None;
        self.peer_in_dtx = false;
        self.frame_ticks = RTP_TICKS_PER_FRAME;
        self.stats.resyncs += 1;
    }

    /// What to play for the next 20 ms of output.
    pub fn pop(&mut self, now: Instant) -> Playout<'_> {
        self.stretch = Stretch::None;
        self.burst_wait = u64::from(self.bursts.wait_frames(now));
        match self.next_action(now) {
            Action::Buffering => Playout::Buffering,
            Action::Play(ext) => match self.ring.payload(ext) {
                Some(payload) if self.ring.is_redundant(ext) => Playout::Redundant(payload),
                Some(payload) => Playout::Frame(payload),
                None => Playout::Lost { next: None },
            },
            Action::Dtx => Playout::Dtx,
            Action::Lost { next } => Playout::Lost {
                next: next.and_then(|ext| self.ring.payload(ext)),
            },
        }
    }

    fn next_action(&mut self, now: Instant) -> Action {
        if self.phase != Phase::Playing && !self.try_start(now) {
            return Action::Buffering;
        }
        let (Some(next), Some(highest)) = (self.next_play, self.highest) else {
            return Action::Buffering;
        };
        if self.ring.is_filled(next) {
            self.underrun_streak = 0;
            if self.in_dtx_gap(next, highest, now) {
                return self.comfort_noise();
            }
            let ext = self.catch_up(next, highest, now);
            // Running short of the target: play this frame longer, so the next packet has
            // a little more time to arrive before it is due (pre-emptive expand).
            if self.time_stretch && self.stretch == Stretch::None {
                self.stretch = self.lengthen(ext, highest, now);
            }
            self.ring.mark_played(ext);
            self.next_play = Some(ext + 1);
            self.stats.played += 1;
            if self.ring.is_redundant(ext) {
                self.stats.red_recovered += 1;
                self.bursts.missing(now);
            } else {
                self.bursts.arrived();
            }
            self.cursor_ts = self
                .ring
                .timestamp(ext)
                .map(|ts| ts.wrapping_add(self.frame_ticks));
            self.peer_in_dtx = self
                .ring
                .payload_len(ext)
                .is_some_and(|len| len <= DTX_MAX_BYTES);
            return Action::Play(ext);
        }
        let target = self.target_frames();
        if highest > next {
            // A gap with newer packets behind it. While less than the target delay is
            // buffered the missing packet may yet arrive in time, so wait (conceal without
            // consuming its number): this is also how the delay grows to a raised target.
            if highest - next + 1 < target && u64::from(self.underrun_streak) < target {
                self.underrun_streak += 1;
                self.excess_since = None;
                self.stats.underruns += 1;
                return Action::Lost { next: None };
            }
            self.underrun_streak = 0;
            self.stats.lost += 1;
            self.bursts.missing(now);
            self.peer_in_dtx = false;
            self.cursor_ts = self.cursor_ts.map(|c| c.wrapping_add(self.frame_ticks));
            self.next_play = Some(next + 1);
            let following = next + 1;
            return Action::Lost {
                next: self.ring.is_filled(following).then_some(following),
            };
        }
        // The sender stopped sending on purpose: comfort noise for as long as it lasts.
        if self.peer_in_dtx {
            return self.comfort_noise();
        }
        // Nothing newer: maybe just late. Wait the same way, up to a stall.
        self.underrun_streak += 1;
        self.excess_since = None;
        if self.underrun_streak <= STALL_FRAMES {
            self.stats.underruns += 1;
            return Action::Lost { next: None };
        }
        self.phase = Phase::Refilling;
        self.stats.stalls += 1;
        Action::Buffering
    }

    /// True while the next packet's timestamp is at least a frame past the output cursor
    /// with no sequence gap before it: the sender was in DTX. Catching up (the buffer well
    /// above target) cuts the silence short instead of dropping speech.
    fn in_dtx_gap(&self, next: u64, highest: u64, now: Instant) -> bool {
        let (Some(cursor), Some(ts)) = (self.cursor_ts, self.ring.timestamp(next)) else {
            return false;
        };
        // After a DTX packet the comfort noise moves the cursor on in real time, so a
        // talkspurt's first packet arriving on time is no longer ahead of it, and played at
        // once it left the buffer a frame short: the next frames were lengthened, 200–228 ms
        // a call on Chromium's DTX streams, with ideal arrivals too (docs/quality.md).
        let resumes = self.time_stretch && self.peer_in_dtx;
        let ahead = ts.wrapping_sub(cursor) as i32;
        if ahead < RTP_TICKS_PER_FRAME as i32 && !resumes {
            return false;
        }
        if self.time_stretch {
            // A talkspurt starts afresh: its first packet plays as soon as the buffer holds
            // the target, to the millisecond. Keeping the sender's timing across the pause
            // would keep whatever surplus the last talkspurt ended with, and time-stretching
            // cannot shorten comfort noise.
            return self.short(next, highest, now);
        }
        highest - next + 1 < self.target_frames() + CATCHUP_MARGIN_FRAMES
    }

    fn comfort_noise(&mut self) -> Action {
        self.excess_since = None;
        self.short_since = None;
        self.stats.dtx += 1;
        let ticks = self.quiet_samples() as u32;
        self.cursor_ts = self.cursor_ts.map(|c| c.wrapping_add(ticks));
        Action::Dtx
    }

    /// How much silence or comfort noise to play for a `Buffering` or `Dtx` pop. A caller
    /// that time-stretches is clocked by samples, so in DTX it gets comfort noise in short
    /// pieces: a talkspurt's first packet then waits at most one piece to be played
    /// instead of a whole frame. Silence while (re)filling stays whole frames: starting a
    /// little sooner there only left more to stretch (the bursty device-clock test matched
    /// less of the speech).
    pub fn quiet_samples(&self) -> usize {
        if self.time_stretch && self.phase == Phase::Playing {
            QUIET_PIECE_SAMPLES
        } else {
            FRAME_SAMPLES
        }
    }

    /// Starts (or restarts) playout once the buffered span, or the wait, reaches the target.
    fn try_start(&mut self, now: Instant) -> bool {
        let Some(highest) = self.highest else {
            return false;
        };
        let from = self
            .next_play
            .unwrap_or_else(|| highest.saturating_sub(SLOT_COUNT as u64 - 1));
        let Some(first) = self.ring.first_filled(from, highest) else {
            return false;
        };
        let target = self.target_frames();
        let waited = self
            .waiting_since
            .is_some_and(|t| now.saturating_duration_since(t) >= FRAME_DURATION * target as u32);
        // A marked first packet has nothing before it to wait for; without stretching the
        // buffer could not grow from it, so there it waits like any other.
        let marked = self.time_stretch && self.talkspurt_start == Some(first);
        if highest - first + 1 < target && !waited && !marked {
            return false;
        }
        self.talkspurt_start = None;
        if let Some(next) = self.next_play {
            // Numbers that never came while refilling; silence already covered them.
            self.stats.lost += first - next;
        }
        self.next_play = Some(first);
        self.cursor_ts = None;
        self.peer_in_dtx = false;
        self.phase = Phase::Playing;
        self.underrun_streak = 0;
        self.waiting_since = None;
        self.excess_since = None;
        self.short_since = None;
        true
    }

    /// Skips `next` when the buffer has stayed well above target for a while, preferring
    /// quiet frames. Returns the number to play instead.
    fn catch_up(&mut self, next: u64, highest: u64, now: Instant) -> u64 {
        if self.time_stretch {
            return self.shorten(next, highest, now);
        }
        let depth = highest - next + 1;
        if depth < self.target_frames() + CATCHUP_MARGIN_FRAMES {
            self.excess_since = None;
            return next;
        }
        let since = *self.excess_since.get_or_insert(now);
        if now.saturating_duration_since(since) < CATCHUP_AFTER || !self.ring.is_filled(next + 1) {
            return next;
        }
        let anchor = self.last_skip.filter(|&t| t > since).unwrap_or(since);
        let waited = now.saturating_duration_since(anchor);
        let quiet = self
            .ring
            .payload_len(next)
            .is_some_and(|len| len as f64 <= self.mean_payload_len * QUIET_SIZE_FRACTION);
        let due = if quiet {
            waited >= SKIP_INTERVAL
        } else {
            waited >= FORCED_SKIP_AFTER
        };
        if !due {
            return next;
        }
        self.ring.mark_played(next);
        self.stats.skipped += 1;
        self.last_skip = Some(now);
        next + 1
    }

    /// `catch_up` for a caller that time-stretches: asks for `next` to be shortened once
    /// the buffer has held a frame more than its target for a while, and skips it only
    /// when shortening has removed nothing for long. Returns the number to play.
    fn shorten(&mut self, next: u64, highest: u64, now: Instant) -> u64 {
        let depth = highest - next + 1;
        if depth <= self.target_frames() {
            self.excess_since = None;
            return next;
        }
        let since = *self.excess_since.get_or_insert(now);
        let lasted = now.saturating_duration_since(since);
        let anchor = [self.last_skip, self.last_accelerated]
            .into_iter()
            .flatten()
            .fold(since, Instant::max);
        let idle = now.saturating_duration_since(anchor);
        let quiet = self
            .ring
            .payload_len(next)
            .is_some_and(|len| len as f64 <= self.mean_payload_len * QUIET_SIZE_FRACTION);
        let due = if quiet {
            lasted >= STRETCH_AFTER
        } else {
            depth >= self.target_frames() + CATCHUP_MARGIN_FRAMES
                && lasted >= STRETCH_SPEECH_AFTER
                && idle >= STRETCH_SPEECH_INTERVAL
        };
        if due {
            self.stretch = Stretch::Shorten;
        }
        let stuck = idle >= STRETCH_GIVE_UP;
        if !stuck || depth < self.target_frames() + CATCHUP_MARGIN_FRAMES {
            return next;
        }
        if !self.ring.is_filled(next + 1) {
            return next;
        }
        self.stretch = Stretch::None;
        self.ring.mark_played(next);
        self.stats.skipped += 1;
        self.last_skip = Some(now);
        next + 1
    }

    /// Whether to play `ext` longer: when it leaves the buffer short of its target, at
    /// once, unless the next packet is overdue (`OVERDUE_SHORT_AFTER`).
    fn lengthen(&mut self, ext: u64, highest: u64, now: Instant) -> Stretch {
        if !self.short(ext, highest, now) {
            self.short_since = None;
            return Stretch::None;
        }
        let overdue = self
            .newest_waited(highest, now)
            .is_some_and(|w| w >= FRAME_DURATION);
        if !overdue {
            return Stretch::Lengthen;
        }
        let since = *self.short_since.get_or_insert(now);
        if now.saturating_duration_since(since) >= OVERDUE_SHORT_AFTER {
            Stretch::Lengthen
        } else {
            Stretch::None
        }
    }

    /// True when playing `ext` leaves less buffered than the target: fewer frames, or the
    /// target's frames but the newest arrived less than the target's remainder ago.
    fn short(&self, ext: u64, highest: u64, now: Instant) -> bool {
        let depth = highest - ext + 1;
        let target = self.target_frames();
        if depth != target {
            return depth < target;
        }
        let Some(lead) = self.lead() else {
            return false;
        };
        self.newest_waited(highest, now).is_some_and(|w| w < lead)
    }

    fn newest_waited(&self, highest: u64, now: Instant) -> Option<Duration> {
        self.arrived_at[(highest % SLOT_COUNT as u64) as usize]
            .map(|t| now.saturating_duration_since(t))
    }

    /// With time-stretching, the part of the target delay beyond its whole frames: how long
    /// the newest packet should have waited when the buffer holds exactly the target.
    fn lead(&self) -> Option<Duration> {
        let frame_ms = FRAME_DURATION.as_secs_f64() * 1000.0;
        let target_ms = self.estimator.target_ms();
        let whole = self.target_frames() as f64 * frame_ms;
        (target_ms > whole).then(|| Duration::from_secs_f64((target_ms - whole) / 1000.0))
    }

    fn target_frames(&self) -> u64 {
        let frame_ms = FRAME_DURATION.as_secs_f64() * 1000.0;
        let frames = if self.time_stretch {
            // The target's whole frames; `lead` keeps the rest by stretching, so a path
            // with little jitter plays from one frame of buffer.
            (self.estimator.target_ms() / frame_ms + 0.05).floor()
        } else {
            // The tolerance lets a target that decays towards a whole number of frames
            // reach it.
            (self.estimator.target_ms() / frame_ms - 0.1).ceil()
        };
        // While the path loses packets, hold as many frames more than the jitter needs as
        // the copies of its recent bursts take to arrive (`BurstMemory`): a lost frame's
        // RED copy or FEC rides in a later packet, which must arrive before the loss is due
        // to play, or it is concealed and the delay warps twice. A clean path gives it back.
        let floor = (1 + self.burst_wait) as f64;
        (frames.max(floor) as u64).min(MAX_TARGET_FRAMES)
    }

    fn depth_frames(&self) -> u64 {
        let Some(highest) = self.highest else {
            return 0;
        };
        let from = match self.next_play {
            Some(next) => next,
            None => match self
                .ring
                .first_filled(highest.saturating_sub(SLOT_COUNT as u64 - 1), highest)
            {
                Some(first) => first,
                None => return 0,
            },
        };
        (highest + 1).saturating_sub(from)
    }

    /// The caller recovered a `Lost` frame from the next packet's FEC.
    pub fn record_fec_recovered(&mut self) {
        self.stats.fec_recovered += 1;
    }

    /// The caller filled a frame by packet-loss concealment.
    pub fn record_concealed(&mut self) {
        self.stats.concealed += 1;
    }

    /// A payload failed to decode.
    pub fn record_decode_error(&mut self) {
        self.stats.decode_errors += 1;
    }

    pub fn stats(&self) -> JitterStats {
        let frame_ms = FRAME_DURATION.as_millis() as u64;
        let to_ms = |frames: u64| u32::try_from(frames * frame_ms).unwrap_or(u32::MAX);
        JitterStats {
            target_delay_ms: to_ms(self.target_frames()),
            depth_ms: to_ms(self.depth_frames()),
            jitter_ms: self.estimator.jitter_ms(),
            ..self.stats
        }
    }
}
