//! The receiving side of the feedback loop: which of the peer's packets arrived, reported
//! as loss bursts and the gaps between them (an RTCP XR Loss RLE block's runs).

use super::report::{LossRuns, Run};
use super::seq::{extend_near, first_extended};

/// Packets remembered (one bit each).
const WINDOW: u64 = 512;
/// Each report covers up to this many packets back, overlapping the previous one: a lost
/// RTCP packet costs nothing, and a packet that arrived after being reported lost is
/// reported again as received.
const REPORT_SPAN: u64 = 128;
/// The newest packets are left for the next report: a packet a little out of order is
/// not reported lost while it is still on its way.
const HOLD_BACK: u64 = 2;

#[derive(Debug, Clone)]
pub struct LossRecorder {
    first: Option<u64>,
    highest: u64,
    received: [u64; (WINDOW / 64) as usize],
    /// End (exclusive) of the last report.
    reported_until: u64,
}

impl Default for LossRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl LossRecorder {
    pub fn new() -> Self {
        Self {
            first: None,
            highest: 0,
            received: [0; (WINDOW / 64) as usize],
            reported_until: 0,
        }
    }

    /// One packet of the stream arrived (in any order, duplicates included).
    pub fn on_packet(&mut self, seq: u16) {
        let ext = match self.first {
            None => {
                let ext = first_extended(seq);
                self.first = Some(ext);
                self.highest = ext;
                self.reported_until = ext;
                ext
            }
            Some(first) => {
                let ext = extend_near(self.highest, seq);
                if ext < first || ext + WINDOW <= self.highest {
                    return; // older than anything this can still report
                }
                if ext > self.highest {
                    // Forget what the window's new positions held.
                    for stale in (self.highest + 1..=ext).rev().take(WINDOW as usize) {
                        self.set(stale, false);
                    }
                    self.highest = ext;
                }
                ext
            }
        };
        self.set(ext, true);
    }

    fn set(&mut self, ext: u64, received: bool) {
        let bit = ext % WINDOW;
        let word = &mut self.received[(bit / 64) as usize];
        let mask = 1u64 << (bit % 64);
        if received {
            *word |= mask;
        } else {
            *word &= !mask;
        }
    }

    fn get(&self, ext: u64) -> bool {
        let bit = ext % WINDOW;
        self.received[(bit / 64) as usize] & (1u64 << (bit % 64)) != 0
    }

    /// The outcomes since before the last report, or `None` when nothing new arrived.
    pub fn report(&mut self) -> Option<LossRuns> {
        let first = self.first?;
        let end = (self.highest + 1).saturating_sub(HOLD_BACK);
        if end <= self.reported_until {
            return None;
        }
        let begin = first.max(end.saturating_sub(REPORT_SPAN));
        let mut runs: Vec<Run> = Vec::new();
        for ext in begin..end {
            let received = self.get(ext);
            match runs.last_mut() {
                Some(run) if run.received == received => run.len += 1,
                _ => runs.push(Run { received, len: 1 }),
            }
        }
        self.reported_until = end;
        Some(LossRuns {
            begin_seq: begin as u16,
            end_seq: end as u16,
            runs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(received: bool, len: u16) -> Run {
        Run { received, len }
    }

    #[test]
    fn reports_bursts_and_gaps_holding_back_the_newest() {
        let mut rec = LossRecorder::new();
        assert_eq!(rec.report(), None, "nothing arrived yet");
        // 65_530..65_545 across the wrap, with 65_533..=65_535 and 2 lost.
        for seq in (65_530u16..=65_535).chain(0..10) {
            if !matches!(seq, 65_533..=65_535 | 2) {
                rec.on_packet(seq);
            }
        }
        let report = rec.report().expect("a report");
        assert_eq!(report.begin_seq, 65_530);
        assert_eq!(report.end_seq, 8, "the newest two are held back");
        assert_eq!(
            report.runs,
            vec![
                run(true, 3),
                run(false, 3),
                run(true, 2),
                run(false, 1),
                run(true, 5)
            ]
        );
        assert_eq!(rec.report(), None, "nothing new since");
    }

    #[test]
    fn reports_overlap_and_correct_a_late_arrival() {
        let mut rec = LossRecorder::new();
        for seq in 0..20u16 {
            if seq != 10 {
                rec.on_packet(seq);
            }
        }
        let first = rec.report().unwrap();
        assert_eq!((first.begin_seq, first.end_seq), (0, 18));
        assert!(first.runs.contains(&run(false, 1)));
        rec.on_packet(10); // late, after the report said lost
        rec.on_packet(20);
        let second = rec.report().unwrap();
        assert_eq!((second.begin_seq, second.end_seq), (0, 19));
        assert_eq!(second.runs, vec![run(true, 19)]);
    }

    #[test]
    fn long_streams_report_a_bounded_span_and_ignore_ancient_packets() {
        let mut rec = LossRecorder::new();
        for seq in 0..1_000u16 {
            rec.on_packet(seq);
        }
        rec.on_packet(3); // far behind the window
        let report = rec.report().unwrap();
        assert_eq!(report.span() as u64, REPORT_SPAN);
        assert_eq!(report.runs, vec![run(true, REPORT_SPAN as u16)]);
        // A jump ahead past the whole window forgets everything in between.
        rec.on_packet(5_000);
        rec.on_packet(5_001);
        rec.on_packet(5_002);
        let report = rec.report().unwrap();
        assert_eq!(report.end_seq, 5_001);
        assert_eq!(report.runs.last(), Some(&run(true, 1)));
        assert!(!report.runs[report.runs.len() - 2].received);
    }
}
