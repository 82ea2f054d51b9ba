//! The sending side of the feedback loop: the outcome of each packet we sent, as the peer
//! reported it, over the last few seconds.
//!
//! From an RTCP XR Loss RLE block the outcome of every packet is known, so loss bursts and
//! what each RED plan would have rebuilt are counted exactly. A peer that sends only
//! receiver reports (a browser) gives a loss fraction per report; losses are then taken as
//! independent.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::plan::{MAX_RED_SPAN, RedPlan};
use super::report::{LossRuns, PeerReport, ReceptionReport};
use super::seq::{extend_near, first_extended};

/// Packets remembered: 10 s of 20 ms frames.
const SLOTS: usize = 512;
/// Receiver reports remembered (a browser sends one every few seconds).
const MAX_RECEPTION_REPORTS: usize = 16;
/// A receiver report claiming more than this many packets since the last is not believed
/// (a restarted stream, or garbage): about 20 s of audio.
const MAX_REPORTED_INTERVAL: u32 = 1_000;
/// Packets a first receiver report is taken to cover (one second of 20 ms frames): with
/// nothing before it, its loss fraction is all there is.
const FIRST_REPORT_WEIGHT: u32 = 50;
/// RTP clock of Opus, for the jitter.
const RTP_TICKS_PER_MS: f64 = 48.0;

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The extended sequence number held, so a slot of an older lap is never read.
    ext: u64,
    received: bool,
    /// When the first report about it arrived; a later report may correct the outcome
    /// (a late arrival) without making it newer.
    learned: Instant,
}

#[derive(Debug, Clone, Copy)]
struct ReceptionInterval {
    at: Instant,
    expected: u32,
    lost: u32,
}

/// The numbers a [`LossHistory`] window gives.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LossSummary {
    /// Packets whose outcome the window holds, and of those lost.
    pub packets: u32,
    pub lost: u32,
    /// Lost fraction (0–1).
    pub loss: f64,
    /// Runs of consecutive losses, and their mean length in packets (1.0 when outcomes are
    /// not known packet by packet).
    pub bursts: u32,
    pub mean_burst: f64,
    /// Outcomes are known packet by packet (the peer sends loss runs).
    pub exact: bool,
    /// The peer's last reported interarrival jitter.
    pub jitter_ms: f64,
}

#[derive(Debug, Clone)]
pub struct LossHistory {
    slots: Vec<Option<Slot>>,
    highest: Option<u64>,
    reception: VecDeque<ReceptionInterval>,
    last_reception: Option<ReceptionReport>,
    jitter_ms: f64,
}

impl LossHistory {
    pub fn new() -> Self {
        Self {
            slots: vec![None; SLOTS],
            highest: None,
            reception: VecDeque::with_capacity(MAX_RECEPTION_REPORTS),
            last_reception: None,
            jitter_ms: 0.0,
        }
    }

    pub fn on_report(&mut self, report: &PeerReport) {
        match report {
            PeerReport::Reception { at, report } => self.on_reception(*at, report),
            PeerReport::LossRuns { at, runs } => self.on_runs(*at, runs),
        }
    }

    fn on_reception(&mut self, at: Instant, report: &ReceptionReport) {
        self.jitter_ms = f64::from(report.jitter_ticks) / RTP_TICKS_PER_MS;
        let interval = match self.last_reception {
            None => Some((
                FIRST_REPORT_WEIGHT,
                (u32::from(report.fraction_lost) * FIRST_REPORT_WEIGHT + 128) / 256,
            )),
            Some(last) => {
                let expected = report.highest_seq.wrapping_sub(last.highest_seq);
                let lost = report
                    .cumulative_lost
                    .saturating_sub(last.cumulative_lost)
                    .clamp(0, i32::MAX) as u32;
                // Nothing sent since (our DTX): no news, not a clean line.
                (expected > 0 && expected <= MAX_REPORTED_INTERVAL)
                    .then_some((expected, lost.min(expected)))
            }
        };
        self.last_reception = Some(*report);
        if let Some((expected, lost)) = interval {
            if self.reception.len() == MAX_RECEPTION_REPORTS {
                self.reception.pop_front();
            }
            self.reception
                .push_back(ReceptionInterval { at, expected, lost });
        }
    }

    fn on_runs(&mut self, at: Instant, runs: &LossRuns) {
        let begin = match self.highest {
            Some(highest) => extend_near(highest, runs.begin_seq),
            None => first_extended(runs.begin_seq),
        };
        for (offset, received) in runs.outcomes() {
            let ext = begin + u64::from(offset);
            let index = (ext % SLOTS as u64) as usize;
            let learned = match self.slots[index] {
                Some(slot) if slot.ext == ext => slot.learned,
                _ => at,
            };
            self.slots[index] = Some(Slot {
                ext,
                received,
                learned,
            });
            self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        }
    }

    /// The outcome of `ext` if it was learned within the window.
    fn outcome(&self, ext: u64, since: Instant) -> Option<bool> {
        let slot = self.slots[(ext % SLOTS as u64) as usize]?;
        (slot.ext == ext && slot.learned >= since).then_some(slot.received)
    }

    fn since(now: Instant, window: Duration) -> Instant {
        now.checked_sub(window).unwrap_or(now)
    }

    /// The extended numbers the window may hold, oldest first.
    fn range(&self) -> std::ops::RangeInclusive<u64> {
        match self.highest {
            Some(h) => h.saturating_sub(SLOTS as u64 - 1)..=h,
            #[allow(clippy::reversed_empty_ranges)]
            None => 1..=0,
        }
    }

    /// What was learned within `window` of `now`.
    pub fn summary(&self, now: Instant, window: Duration) -> LossSummary {
        let since = Self::since(now, window);
        let (mut packets, mut lost, mut bursts) = (0u32, 0u32, 0u32);
        let mut in_burst = false;
        for ext in self.range() {
            match self.outcome(ext, since) {
                Some(true) => {
                    packets += 1;
                    in_burst = false;
                }
                Some(false) => {
                    packets += 1;
                    lost += 1;
                    if !in_burst {
                        bursts += 1;
                    }
                    in_burst = true;
                }
                None => in_burst = false,
            }
        }
        let jitter_ms = self.jitter_ms;
        if packets > 0 {
            return LossSummary {
                packets,
                lost,
                loss: f64::from(lost) / f64::from(packets),
                bursts,
                mean_burst: if bursts > 0 {
                    f64::from(lost) / f64::from(bursts)
                } else {
                    0.0
                },
                exact: true,
                jitter_ms,
            };
        }
        let (expected, lost) = self
            .reception
            .iter()
            .filter(|r| r.at >= since)
            .fold((0, 0), |(e, l), r| (e + r.expected, l + r.lost));
        LossSummary {
            packets: expected,
            lost,
            loss: if expected > 0 {
                f64::from(lost) / f64::from(expected)
            } else {
                0.0
            },
            bursts: lost,
            mean_burst: if lost > 0 { 1.0 } else { 0.0 },
            exact: false,
            jitter_ms,
        }
    }

    /// The share of the window's packets that `plan` would not have rebuilt: lost, and
    /// every packet that carried a copy of it lost too. With `fec` every frame also holds
    /// Opus' in-band FEC for the frame before it, so a loss is rebuilt (at lower quality)
    /// wherever the next frame's payload arrived: in its own packet or in a copy. Without
    /// packet-by-packet outcomes, losses are taken as independent.
    pub fn residual(&self, plan: RedPlan, fec: bool, now: Instant, window: Duration) -> f64 {
        let summary = self.summary(now, window);
        if summary.packets == 0 {
            return 0.0;
        }
        if !summary.exact {
            return summary
                .loss
                .powi(i32::from(plan.copies()) + 1 + i32::from(fec));
        }
        let since = Self::since(now, window);
        let Some(highest) = self.highest else {
            return 0.0;
        };
        let arrived = |ext: u64| self.outcome(ext, since) != Some(false);
        // Where frame `ext`'s payload can be read from: its packet or a copy of it.
        let payload_arrived =
            |ext: u64| arrived(ext) || plan.distances().any(|d| arrived(ext + u64::from(d)));
        let span = u64::from(plan.span().min(MAX_RED_SPAN)) + u64::from(fec);
        let (mut judged, mut unrecovered) = (0u32, 0u32);
        for ext in self.range() {
            // A packet whose copies have not all been reported on yet is not judged.
            if ext + span > highest {
                break;
            }
            match self.outcome(ext, since) {
                Some(true) => judged += 1,
                Some(false) => {
                    judged += 1;
                    // Its own packet is lost: only a copy, or FEC in the next payload.
                    let rebuilt = payload_arrived(ext) || (fec && payload_arrived(ext + 1));
                    if !rebuilt {
                        unrecovered += 1;
                    }
                }
                None => {}
            }
        }
        if judged == 0 {
            return 0.0;
        }
        f64::from(unrecovered) / f64::from(judged)
    }

    pub fn jitter_ms(&self) -> f64 {
        self.jitter_ms
    }
}

impl Default for LossHistory {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protection::report::Run;

    const W: Duration = Duration::from_secs(3);

    fn runs_of(begin: u16, pattern: &str) -> LossRuns {
        let mut runs: Vec<Run> = Vec::new();
        for c in pattern.chars() {
            let received = c == '.';
            match runs.last_mut() {
                Some(r) if r.received == received => r.len += 1,
                _ => runs.push(Run { received, len: 1 }),
            }
        }
        LossRuns {
            begin_seq: begin,
            end_seq: begin.wrapping_add(pattern.len() as u16),
            runs,
        }
    }

    fn report(at: Instant, begin: u16, pattern: &str) -> PeerReport {
        PeerReport::LossRuns {
            at,
            runs: runs_of(begin, pattern),
        }
    }

    #[test]
    fn counts_bursts_and_what_each_plan_would_rebuild() {
        let t0 = Instant::now();
        let mut h = LossHistory::new();
        // Twenty packets: a burst of three and two single losses.
        h.on_report(&report(t0, 65_530, "..xxx.....x....x...."));
        let s = h.summary(t0, W);
        assert_eq!((s.packets, s.lost, s.bursts), (20, 5, 3));
        assert!((s.mean_burst - 5.0 / 3.0).abs() < 1e-9);
        assert!(s.exact);
        let residual = |d: &[u8]| h.residual(RedPlan::of(d).unwrap(), false, t0, W);
        // Packets are judged once every packet that would carry their copies is known.
        // One copy one back loses the burst's first two packets.
        assert!((residual(&[1]) - 2.0 / 19.0).abs() < 1e-9);
        // Adjacent copies lose the burst's first packet; a copy two back alone its first.
        assert!((residual(&[1, 2]) - 1.0 / 18.0).abs() < 1e-9);
        assert!((residual(&[2]) - 1.0 / 18.0).abs() < 1e-9);
        // Copies one and three back rebuild the whole burst for the same bitrate.
        assert_eq!(residual(&[1, 3]), 0.0);
        assert_eq!(h.residual(RedPlan::NONE, false, t0, W), 5.0 / 20.0);
        // In-band FEC reads each loss from the next frame's payload, wherever it came:
        // alone it rebuilds the single losses and the burst's last packet; beside one copy,
        // all but the burst's first (the next payload's copy, two packets on, was lost too).
        let fec = |plan: RedPlan| h.residual(plan, true, t0, W);
        assert!((fec(RedPlan::NONE) - 2.0 / 19.0).abs() < 1e-9);
        assert!((fec(RedPlan::of(&[1]).unwrap()) - 1.0 / 18.0).abs() < 1e-9);
    }

    #[test]
    fn overlapping_reports_correct_outcomes_but_keep_their_age() {
        let t0 = Instant::now();
        let mut h = LossHistory::new();
        h.on_report(&report(t0, 100, "....x"));
        // The next report covers it again: the loss was a late arrival after all.
        h.on_report(&report(t0 + Duration::from_secs(2), 100, "........"));
        assert_eq!(h.summary(t0 + Duration::from_secs(2), W).lost, 0);
        // Outcomes first learned at t0 leave the window after 3 s; the rest stay.
        let later = h.summary(t0 + Duration::from_millis(3_500), W);
        assert_eq!(later.packets, 3);
    }

    #[test]
    fn receiver_reports_alone_give_an_independent_loss_estimate() {
        let t0 = Instant::now();
        let mut h = LossHistory::new();
        let rr = |fraction_lost, cumulative_lost, highest_seq| ReceptionReport {
            fraction_lost,
            cumulative_lost,
            highest_seq,
            jitter_ticks: 480,
        };
        let at = |s| t0 + Duration::from_secs(s);
        h.on_report(&PeerReport::Reception {
            at: at(0),
            report: rr(26, 5, 1_050),
        });
        h.on_report(&PeerReport::Reception {
            at: at(1),
            report: rr(26, 10, 1_100),
        });
        // No packets since (DTX): no news.
        h.on_report(&PeerReport::Reception {
            at: at(2),
            report: rr(0, 10, 1_100),
        });
        let s = h.summary(at(2), W);
        assert!(!s.exact);
        assert_eq!((s.packets, s.lost), (100, 10));
        assert_eq!(s.jitter_ms, 10.0);
        let one_copy = h.residual(RedPlan::of(&[1]).unwrap(), false, at(2), W);
        assert!((one_copy - 0.01).abs() < 1e-9);
        let with_fec = h.residual(RedPlan::of(&[1]).unwrap(), true, at(2), W);
        assert!((with_fec - 0.001).abs() < 1e-9);
        // Reports age out; garbage (a jump of millions) is not believed.
        h.on_report(&PeerReport::Reception {
            at: at(9),
            report: rr(0, 10, 9_000_000),
        });
        assert_eq!(h.summary(at(9), W).packets, 0);
    }
}
