//! From the peer's reports to the protection the sender applies.
//!
//! The ladder, cheapest first: plain Opus; Opus in-band FEC (a low-bitrate copy of the
//! previous frame inside each packet, paid for from the frame's own bits); RED with one
//! full copy, the FEC kept inside it so a lost pair is rebuilt too; then two copies, spread
//! further apart when the losses come in bursts. Each report picks the cheapest rung
//! whose expected unrecovered loss is small enough, judged over the last report or two
//! (`react_window`) and over a longer `window`; the costlier of the two wins. Going up is therefore immediate: a report that shows loss is already a second
//! late. Going down waits until the longer window has called for less for
//! `step_down_after`, and needs the loss clearly below the threshold that raised it, so a
//! line near a threshold does not flap.

use std::time::{Duration, Instant};

use super::history::{LossHistory, LossSummary};
use super::plan::{Protection, ProtectionLevel, RedPlan};
use super::report::PeerReport;

/// Below this many packets in the window the numbers say nothing (silence, no reports).
const MIN_PACKETS: u32 = 25;
/// Loss from which Opus spends bits on in-band FEC.
const FEC_FROM_LOSS: f64 = 0.01;
/// Loss from which a full RED copy is worth its bitrate.
const RED_FROM_LOSS: f64 = 0.025;
/// Going down needs the loss below this share of the threshold it crosses.
const STAY_FACTOR: f64 = 0.6;
/// Good enough: the unrecovered loss a plan should leave. PLC hides this much well.
const TARGET_RESIDUAL: f64 = 0.005;
/// libopus gains nothing from planning for more loss than this.
const MAX_FEC_LOSS_PCT: u8 = 30;
/// Opus FEC budget before any report, for a peer without RED.
const START_FEC_LOSS_PCT: u8 = 5;
/// Primary bitrate by RED copies. One copy keeps the clean bitrate and in-band FEC: the
/// FEC inside each copy rebuilds a second loss in a row, which a second copy would
/// otherwise be paid for with primary bits (measured against Chromium's NetEq at 10 %
/// random loss: docs/quality.md, "two RED copies at 28 kb/s"). Two or more copies give bits
/// back so the total stays within about two and a half times the clean rate.
const RED_PRIMARY_BPS: [u32; 4] = [40_000, 40_000, 28_000, 24_000];

/// The primary bitrate beside the one copy a call starts with, before any report.
const START_RED_PRIMARY_BPS: u32 = 32_000;

/// Whether a RED plan keeps Opus' in-band FEC in its frames (and copies).
fn red_keeps_fec(plan: RedPlan) -> bool {
    plan.copies() == 1
}

/// RED plans tried, cheapest first (fewer copies, then nearer ones). Spread plans follow
/// the adjacent plan of the same cost, so they are chosen only when bursts make them
/// rebuild more.
fn red_candidates(max_copies: u8) -> impl Iterator<Item = RedPlan> {
    const PLANS: [&[u8]; 6] = [&[1], &[1, 2], &[1, 3], &[1, 4], &[1, 2, 3], &[1, 2, 4]];
    PLANS
        .into_iter()
        .filter_map(RedPlan::of)
        .filter(move |p| p.copies() <= max_copies)
}

#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    /// The peer negotiated RED (`red/48000/2`); without it the ladder stops at FEC.
    pub red_available: bool,
    /// At most this many RED copies per packet.
    pub max_red_copies: u8,
    /// The encoder bitrate on a clean line (and with FEC only).
    pub clean_bitrate_bps: u32,
    /// How far back reports count when deciding to step down.
    pub window: Duration,
    /// How far back reports count when deciding to step up: the latest one or two.
    pub react_window: Duration,
    /// How long a cheaper rung must have sufficed before stepping down.
    pub step_down_after: Duration,
    /// Start with one RED copy (FEC without RED) until the peer's reports say the line is
    /// clean: the first reports take a second or two, and a lossy start would go bare.
    pub start_protected: bool,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            red_available: true,
            max_red_copies: 2,
            clean_bitrate_bps: 40_000,
            window: Duration::from_secs(3),
            react_window: Duration::from_millis(1_500),
            step_down_after: Duration::from_secs(5),
            start_protected: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProtectionPolicy {
    config: PolicyConfig,
    history: LossHistory,
    current: Protection,
    /// Since when a cheaper protection would have done.
    cheaper_since: Option<Instant>,
}

impl ProtectionPolicy {
    /// Starts unprotected, or with light protection if `start_protected`; a clean line
    /// steps down from it once its reports fill the window.
    pub fn new(config: PolicyConfig) -> Self {
        let red_plan = RedPlan::of(&[1]).filter(|_| config.red_available);
        let current = match red_plan {
            // Before any report: one plain copy paid for by the primary, the cheapest
            // cover for the first seconds of a line that is most likely clean.
            Some(red) if config.start_protected => Protection {
                level: ProtectionLevel::Red,
                red,
                fec_loss_pct: 0,
                bitrate_bps: START_RED_PRIMARY_BPS.min(config.clean_bitrate_bps),
            },
            None if config.start_protected => Protection {
                level: ProtectionLevel::Fec,
                red: RedPlan::NONE,
                fec_loss_pct: START_FEC_LOSS_PCT,
                bitrate_bps: config.clean_bitrate_bps,
            },
            _ => Protection {
                level: ProtectionLevel::Off,
                red: RedPlan::NONE,
                fec_loss_pct: 0,
                bitrate_bps: config.clean_bitrate_bps,
            },
        };
        Self {
            history: LossHistory::new(),
            config,
            current,
            cheaper_since: None,
        }
    }

    pub fn protection(&self) -> Protection {
        self.current
    }

    /// The losses over the longer window.
    pub fn summary(&self, now: Instant) -> LossSummary {
        self.history.summary(now, self.config.window)
    }

    /// Takes one report in and decides again; true if the protection changed.
    pub fn on_report(&mut self, report: &PeerReport, now: Instant) -> bool {
        self.history.on_report(report);
        self.update(now)
    }

    /// Decides again without a new report (the step-down hold may have run out).
    pub fn update(&mut self, now: Instant) -> bool {
        let recent = self.wanted(now, self.config.react_window);
        let longer = self.wanted(now, self.config.window);
        let wanted = match (recent, longer) {
            // No news is not good news: keep what we have.
            (None, None) => return false,
            (Some(p), None) | (None, Some(p)) => p,
            (Some(a), Some(b)) => {
                if (cost(&a), a.fec_loss_pct) >= (cost(&b), b.fec_loss_pct) {
                    a
                } else {
                    b
                }
            }
        };
        match cost(&wanted).cmp(&cost(&self.current)) {
            std::cmp::Ordering::Greater => {
                self.cheaper_since = None;
                self.current = wanted;
                true
            }
            std::cmp::Ordering::Less => {
                let since = *self.cheaper_since.get_or_insert(now);
                if now.saturating_duration_since(since) >= self.config.step_down_after {
                    self.cheaper_since = None;
                    self.current = wanted;
                    true
                } else {
                    false
                }
            }
            std::cmp::Ordering::Equal => {
                self.cheaper_since = None;
                let changed = wanted != self.current;
                // Same rung, e.g. a new FEC percentage: follow at once.
                self.current = wanted;
                changed
            }
        }
    }

    /// The cheapest protection the losses within `window` call for; `None` when it holds
    /// too few packets to say.
    fn wanted(&self, now: Instant, window: Duration) -> Option<Protection> {
        let s = self.history.summary(now, window);
        if s.packets < MIN_PACKETS {
            return None;
        }
        let stay = |level: ProtectionLevel| {
            if self.current.level >= level {
                STAY_FACTOR
            } else {
                1.0
            }
        };
        let fec_pct = ((s.loss * 100.0).ceil() as u8).clamp(1, MAX_FEC_LOSS_PCT);
        if s.loss < FEC_FROM_LOSS * stay(ProtectionLevel::Fec) {
            return Some(self.off());
        }
        if !self.config.red_available || s.loss < RED_FROM_LOSS * stay(ProtectionLevel::Red) {
            return Some(Protection {
                level: ProtectionLevel::Fec,
                red: RedPlan::NONE,
                fec_loss_pct: fec_pct,
                bitrate_bps: self.config.clean_bitrate_bps,
            });
        }
        let mut best: Option<(RedPlan, f64)> = None;
        for plan in red_candidates(self.config.max_red_copies) {
            let residual = self
                .history
                .residual(plan, red_keeps_fec(plan), now, window);
            if residual <= TARGET_RESIDUAL {
                best = Some((plan, residual));
                break;
            }
            if best.is_none_or(|(_, r)| residual < r) {
                best = Some((plan, residual));
            }
        }
        let Some((plan, _)) = best else {
            return Some(self.off());
        };
        let copies = usize::from(plan.copies()).min(RED_PRIMARY_BPS.len() - 1);
        Some(Protection {
            level: ProtectionLevel::Red,
            red: plan,
            fec_loss_pct: if red_keeps_fec(plan) { fec_pct } else { 0 },
            bitrate_bps: RED_PRIMARY_BPS[copies].min(self.config.clean_bitrate_bps),
        })
    }

    fn off(&self) -> Protection {
        Protection {
            level: ProtectionLevel::Off,
            red: RedPlan::NONE,
            fec_loss_pct: 0,
            bitrate_bps: self.config.clean_bitrate_bps,
        }
    }
}

/// What a protection costs, for ordering: the rung, then copies, then how far back.
fn cost(p: &Protection) -> (ProtectionLevel, u8, u8) {
    (p.level, p.red.copies(), p.red.span())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protection::report::{LossRuns, ReceptionReport, Run};

    /// A fake clock and a peer that reports once a second on the packets of that second
    /// (50 of 20 ms), with loss from a deterministic pattern.
    struct Line {
        t0: Instant,
        second: u64,
        seq: u16,
        policy: ProtectionPolicy,
    }

    impl Line {
        fn new(config: PolicyConfig) -> Self {
            Self {
                t0: Instant::now(),
                second: 0,
                seq: 65_000,
                policy: ProtectionPolicy::new(config),
            }
        }

        fn now(&self) -> Instant {
            self.t0 + Duration::from_secs(self.second)
        }

        /// One second of traffic; `lost(i)` says whether packet `i` of it is lost.
        fn second_with(&mut self, lost: impl Fn(u64) -> bool) -> Protection {
            let mut runs: Vec<Run> = Vec::new();
            for i in 0..50 {
                let received = !lost(self.second * 50 + i);
                match runs.last_mut() {
                    Some(r) if r.received == received => r.len += 1,
                    _ => runs.push(Run { received, len: 1 }),
                }
            }
            let begin = self.seq;
            self.seq = self.seq.wrapping_add(50);
            self.second += 1;
            let report = PeerReport::LossRuns {
                at: self.now(),
                runs: LossRuns {
                    begin_seq: begin,
                    end_seq: self.seq,
                    runs,
                },
            };
            self.policy.on_report(&report, self.now());
            self.policy.protection()
        }

        fn seconds_with(&mut self, n: u64, lost: impl Fn(u64) -> bool) -> Vec<Protection> {
            (0..n).map(|_| self.second_with(&lost)).collect()
        }
    }

    /// Every tenth packet.
    fn ten_percent(i: u64) -> bool {
        i % 10 == 3
    }

    /// Bursts of three every sixty packets: 5 % loss, mean burst 3.
    fn bursty(i: u64) -> bool {
        i % 60 < 3
    }

    fn clean(_: u64) -> bool {
        false
    }

    #[test]
    fn a_protected_start_steps_down_on_a_clean_line_and_stays_up_on_a_lossy_one() {
        let protected = PolicyConfig {
            start_protected: true,
            ..PolicyConfig::default()
        };
        let mut line = Line::new(protected.clone());
        assert_eq!(line.policy.protection().level, ProtectionLevel::Red);
        assert_eq!(line.policy.protection().red.copies(), 1);
        let after = line.seconds_with(12, clean);
        let off_at = after
            .iter()
            .position(|p| p.level == ProtectionLevel::Off)
            .expect("protection turned off");
        assert!((4..=9).contains(&off_at), "off after {off_at} s: {after:?}");
        let mut lossy = Line::new(protected.clone());
        assert!(
            lossy
                .seconds_with(12, ten_percent)
                .iter()
                .all(|p| p.level == ProtectionLevel::Red)
        );
        let no_red = PolicyConfig {
            red_available: false,
            ..protected
        };
        let start = Line::new(no_red).policy.protection();
        assert_eq!(start.level, ProtectionLevel::Fec);
        assert_eq!(start.fec_loss_pct, START_FEC_LOSS_PCT);
    }

    #[test]
    fn a_clean_line_stays_unprotected_at_the_clean_bitrate() {
        let mut line = Line::new(PolicyConfig::default());
        for p in line.seconds_with(20, clean) {
            assert_eq!(p.level, ProtectionLevel::Off);
            assert!(p.red.is_off());
            assert_eq!(p.fec_loss_pct, 0);
            assert_eq!(p.bitrate_bps, 40_000);
        }
    }

    #[test]
    fn ten_percent_loss_turns_red_on_at_the_first_report_and_a_clean_line_turns_it_off() {
        let mut line = Line::new(PolicyConfig::default());
        line.seconds_with(5, clean);
        let first = line.second_with(ten_percent);
        assert_eq!(first.level, ProtectionLevel::Red, "{first:?}");
        // Never two losses in a row: one copy of the frame before rebuilds every one, so
        // no second copy is paid for; the primary keeps its bitrate and FEC.
        let steady = *line.seconds_with(10, ten_percent).last().unwrap();
        assert_eq!(steady.red, RedPlan::of(&[1]).unwrap());
        assert_eq!(steady.fec_loss_pct, 10);
        assert_eq!(steady.bitrate_bps, 40_000);
        // Clean again: held for the window plus the step-down time, then off.
        let after = line.seconds_with(12, clean);
        let off_at = after
            .iter()
            .position(|p| p.level == ProtectionLevel::Off)
            .expect("protection turned off");
        assert!((5..=9).contains(&off_at), "off after {off_at} s: {after:?}");
        assert!(
            after[off_at..]
                .iter()
                .all(|p| p.level == ProtectionLevel::Off)
        );
    }

    #[test]
    fn one_copy_with_fec_covers_random_loss_with_pairs() {
        // 11 %: every tenth packet, and once in a hundred the one after it too. One copy
        // alone leaves the pairs' first packets (1 %); the FEC in the second packet's copy
        // rebuilds them, so no second copy is bought with the primary's bits.
        let pairs = |i: u64| i % 10 == 3 || i % 100 == 4;
        let mut line = Line::new(PolicyConfig::default());
        let p = *line.seconds_with(8, pairs).last().unwrap();
        assert_eq!(p.red, RedPlan::of(&[1]).unwrap(), "{p:?}");
        assert_eq!(p.fec_loss_pct, 11, "{p:?}");
        assert_eq!(p.bitrate_bps, 40_000);
    }

    #[test]
    fn bursts_spread_the_copies() {
        let mut line = Line::new(PolicyConfig::default());
        let p = *line.seconds_with(6, bursty).last().unwrap();
        assert_eq!(p.level, ProtectionLevel::Red);
        assert_eq!(p.red, RedPlan::of(&[1, 3]).unwrap(), "{p:?}");
        let s = line.policy.summary(line.now());
        assert!(s.mean_burst >= 2.5, "{s:?}");
    }

    #[test]
    fn light_loss_gets_fec_only_and_no_red_peer_never_gets_red() {
        // One loss in 64 packets: ~1.6 %.
        let light = |i: u64| i % 64 == 7;
        let mut line = Line::new(PolicyConfig::default());
        let p = *line.seconds_with(6, light).last().unwrap();
        assert_eq!(p.level, ProtectionLevel::Fec, "{p:?}");
        assert!((1..=2).contains(&p.fec_loss_pct), "{p:?}");
        assert!(p.red.is_off());

        let mut line = Line::new(PolicyConfig {
            red_available: false,
            ..Default::default()
        });
        let p = *line.seconds_with(6, ten_percent).last().unwrap();
        assert_eq!(p.level, ProtectionLevel::Fec);
        assert_eq!(p.fec_loss_pct, 10);
        assert_eq!(p.bitrate_bps, 40_000);
    }

    #[test]
    fn loss_hovering_near_a_threshold_does_not_flap() {
        let mut line = Line::new(PolicyConfig::default());
        // Alternating seconds of 4 % and 2 % loss: around RED's 2.5 % threshold.
        let mut levels = Vec::new();
        for s in 0..30u64 {
            let every = if s % 2 == 0 { 25 } else { 50 };
            levels.push(line.second_with(move |i| i % every == 1).level);
        }
        let switches = levels.windows(2).filter(|w| w[0] != w[1]).count();
        assert!(switches <= 1, "{levels:?}");
    }

    #[test]
    fn silence_and_missing_reports_keep_the_protection() {
        let mut line = Line::new(PolicyConfig::default());
        line.seconds_with(4, ten_percent);
        let on = line.policy.protection();
        assert_eq!(on.level, ProtectionLevel::Red);
        // Thirty seconds without a single report: no evidence either way.
        for s in 1..=30 {
            assert!(!line.policy.update(line.now() + Duration::from_secs(s)));
        }
        assert_eq!(line.policy.protection(), on);
    }

    #[test]
    fn receiver_reports_alone_drive_the_ladder() {
        let t0 = Instant::now();
        let mut policy = ProtectionPolicy::new(PolicyConfig::default());
        let mut highest = 10_000u32;
        let mut cumulative = 0i32;
        for s in 1..=4u64 {
            highest += 50;
            cumulative += 5;
            let report = PeerReport::Reception {
                at: t0 + Duration::from_secs(s),
                report: ReceptionReport {
                    fraction_lost: 26,
                    cumulative_lost: cumulative,
                    highest_seq: highest,
                    jitter_ticks: 0,
                },
            };
            policy.on_report(&report, t0 + Duration::from_secs(s));
        }
        // 10 % independent loss (a libwebrtc peer reports no runs): one copy alone leaves
        // 1 %, one copy with the FEC inside it 0.1 %, so no second copy.
        let p = policy.protection();
        assert_eq!(p.red, RedPlan::of(&[1]).unwrap(), "{p:?}");
        assert_eq!(p.fec_loss_pct, 10, "{p:?}");
    }
}
