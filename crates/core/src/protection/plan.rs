//! What the sender does against loss: RED redundancy, Opus in-band FEC, the bitrate.

use serde::Serialize;

/// The farthest back a RED copy may reach, in frames. A RED packet's blocks stand for the
/// packets just before it in order (block `i` of `k` is packet `n - k + i`: how ours and
/// Chromium's receivers map them), so a copy `d` frames back needs `d` blocks; ours parse
/// at most four.
pub const MAX_RED_SPAN: u8 = 4;

/// Which earlier frames each RED packet repeats, as distances in frames (1 = the frame
/// just before). Frames in between that are not repeated go as empty blocks, so the
/// positions keep meaning what receivers expect. Spread copies (1 and 3) survive a burst
/// of three lost packets that adjacent ones (1 and 2) do not, for the same bitrate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RedPlan(u8);

impl RedPlan {
    pub const NONE: RedPlan = RedPlan(0);

    /// A plan repeating the frames `distances` back; `None` if one is 0 or beyond
    /// [`MAX_RED_SPAN`].
    pub fn of(distances: &[u8]) -> Option<Self> {
        let mut mask = 0u8;
        for &d in distances {
            if d == 0 || d > MAX_RED_SPAN {
                return None;
            }
            mask |= 1 << (d - 1);
        }
        Some(Self(mask))
    }

    /// Bit `d - 1` set for each distance `d` repeated: a compact form for gauges.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// The plan `bits` describes; distances beyond [`MAX_RED_SPAN`] are dropped.
    pub fn from_bits(bits: u8) -> Self {
        Self(bits & ((1 << MAX_RED_SPAN) - 1))
    }

    pub fn is_off(self) -> bool {
        self.0 == 0
    }

    pub fn repeats(self, distance: u8) -> bool {
        (1..=MAX_RED_SPAN).contains(&distance) && self.0 & (1 << (distance - 1)) != 0
    }

    /// How many frames each packet repeats.
    pub fn copies(self) -> u8 {
        self.0.count_ones() as u8
    }

    /// The farthest distance repeated: the blocks each packet carries (0 when off).
    pub fn span(self) -> u8 {
        8 - self.0.leading_zeros() as u8
    }

    /// The distances repeated, nearest first.
    pub fn distances(self) -> impl Iterator<Item = u8> {
        (1..=MAX_RED_SPAN).filter(move |&d| self.repeats(d))
    }
}

impl Serialize for RedPlan {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.distances())
    }
}

/// The rungs of the protection ladder, cheapest first; also what the stats show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ProtectionLevel {
    /// Plain Opus, no redundancy.
    #[default]
    Off,
    /// Opus in-band FEC only (a low-bitrate copy of the previous frame in each packet).
    Fec,
    /// RED with one or more full copies of earlier frames.
    Red,
}

/// What the sender applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Protection {
    pub level: ProtectionLevel,
    pub red: RedPlan,
    /// Opus' expected packet loss (0 = no in-band FEC is spent).
    pub fec_loss_pct: u8,
    /// The Opus encoder's target, for the primary frame only.
    pub bitrate_bps: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_know_their_copies_and_span() {
        let spread = RedPlan::of(&[3, 1]).unwrap();
        assert_eq!(spread.copies(), 2);
        assert_eq!(spread.span(), 3);
        assert_eq!(spread.distances().collect::<Vec<_>>(), vec![1, 3]);
        assert!(spread.repeats(3) && !spread.repeats(2) && !spread.repeats(9));
        assert_eq!(RedPlan::NONE.span(), 0);
        assert!(RedPlan::of(&[0]).is_none() && RedPlan::of(&[5]).is_none());
        assert_eq!(serde_json::to_string(&spread).unwrap(), "[1,3]");
    }
}
