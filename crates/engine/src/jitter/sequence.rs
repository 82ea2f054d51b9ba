/// Where the first packet's extended number lands: far enough from zero that packets sent
/// before it (the first one seen is not the first sent) still unwrap without underflow.
const ORIGIN: u64 = 1 << 32;

/// Extends RTP's wrapping 16-bit sequence numbers to 64 bits by taking, for each packet,
/// the extension nearest the highest number seen so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct SequenceUnwrapper {
    highest: Option<u64>,
}

impl SequenceUnwrapper {
    pub(crate) fn unwrap(&mut self, seq: u16) -> u64 {
        let Some(highest) = self.highest else {
            let ext = ORIGIN + u64::from(seq);
            self.highest = Some(ext);
            return ext;
        };
        // Reinterpreting the 16-bit difference as signed picks the nearest extension.
        let delta = i64::from(seq.wrapping_sub(highest as u16) as i16);
        let ext = highest.saturating_add_signed(delta);
        if ext > highest {
            self.highest = Some(ext);
        }
        ext
    }

    /// The extension `unwrap` would give, without moving the highest number seen.
    pub(crate) fn peek(&self, seq: u16) -> u64 {
        match self.highest {
            None => ORIGIN + u64::from(seq),
            Some(highest) => {
                highest.saturating_add_signed(i64::from(seq.wrapping_sub(highest as u16) as i16))
            }
        }
    }

    pub(crate) fn reset(&mut self) {
        self.highest = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwraps_forward_across_the_wrap() {
        let mut u = SequenceUnwrapper::default();
        let first = u.unwrap(65_534);
        assert_eq!(u.unwrap(65_535), first + 1);
        assert_eq!(u.unwrap(0), first + 2);
        assert_eq!(u.unwrap(1), first + 3);
        // A late packet from before the wrap.
        assert_eq!(u.unwrap(65_533), first - 1);
        assert_eq!(u.unwrap(2), first + 4);
    }

    #[test]
    fn reordered_packets_around_the_wrap_keep_their_order() {
        let mut u = SequenceUnwrapper::default();
        let base = u.unwrap(65_530);
        for (seq, offset) in [(3u16, 9i64), (65_532, 2), (0, 6), (65_535, 5), (1, 7)] {
            assert_eq!(u.unwrap(seq) as i64 - base as i64, offset, "seq {seq}");
        }
    }

    #[test]
    fn packets_before_the_first_seen_do_not_underflow() {
        let mut u = SequenceUnwrapper::default();
        let first = u.unwrap(5);
        assert_eq!(u.unwrap(3), first - 2);
        assert_eq!(u.unwrap(65_000), first - 541);
        assert_eq!(u.unwrap(6), first + 1);
    }

    #[test]
    fn many_wraps_keep_counting() {
        let mut u = SequenceUnwrapper::default();
        let first = u.unwrap(0);
        let mut ext = first;
        for i in 1..=200_000u64 {
            ext = u.unwrap((i % 65_536) as u16);
        }
        assert_eq!(ext, first + 200_000);
    }
}
