//! What the peer tells us about the packets we sent, as carried by RTCP.

use std::time::Instant;

/// An RFC 3550 reception report block (in an RR or SR) about our stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceptionReport {
    /// Lost since the previous report, in 256ths.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed on the wire; duplicates can make it negative).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units (1/48000 s for Opus).
    pub jitter_ticks: u32,
}

/// One run of an RFC 3611 Loss RLE block: `len` packets in a row that all arrived, or that
/// were all lost (a loss burst).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub received: bool,
    pub len: u16,
}

/// The outcome of every packet in `[begin_seq, end_seq)` (16-bit, wrapping), as runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LossRuns {
    pub begin_seq: u16,
    pub end_seq: u16,
    pub runs: Vec<Run>,
}

impl LossRuns {
    /// Packets the range covers.
    pub fn span(&self) -> u16 {
        self.end_seq.wrapping_sub(self.begin_seq)
    }

    /// Each packet's outcome in order, `(offset from begin_seq, received)`, stopping at the
    /// range's end even if the runs say more (a report's runs are never trusted to agree
    /// with its range).
    pub fn outcomes(&self) -> impl Iterator<Item = (u16, bool)> + '_ {
        let span = self.span();
        self.runs
            .iter()
            .flat_map(|run| std::iter::repeat_n(run.received, usize::from(run.len)))
            .take(usize::from(span))
            .enumerate()
            .map(|(i, received)| (i as u16, received))
    }
}

/// One piece of feedback about our stream, with when it arrived.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerReport {
    Reception {
        at: Instant,
        report: ReceptionReport,
    },
    LossRuns {
        at: Instant,
        runs: LossRuns,
    },
}

impl PeerReport {
    pub fn at(&self) -> Instant {
        match self {
            PeerReport::Reception { at, .. } | PeerReport::LossRuns { at, .. } => *at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_the_runs_and_stop_at_the_range() {
        let runs = LossRuns {
            begin_seq: 65_534,
            end_seq: 3,
            runs: vec![
                Run {
                    received: true,
                    len: 2,
                },
                Run {
                    received: false,
                    len: 2,
                },
                Run {
                    received: true,
                    len: 9,
                },
            ],
        };
        assert_eq!(runs.span(), 5);
        let got: Vec<_> = runs.outcomes().collect();
        assert_eq!(
            got,
            vec![(0, true), (1, true), (2, false), (3, false), (4, true)]
        );
    }
}
