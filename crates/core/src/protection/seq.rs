//! 16-bit RTP sequence numbers extended to 64 bits, so windows and ranges never wrap.

/// The extended sequence number nearest to `reference` whose low 16 bits are `seq`.
pub(crate) fn extend_near(reference: u64, seq: u16) -> u64 {
    let delta = i64::from(seq.wrapping_sub(reference as u16) as i16);
    // Extended numbers start at 1 << 16, so one step back from the first is never negative.
    reference.saturating_add_signed(delta)
}

/// The first extended number: far enough from zero that reordering before it still fits.
pub(crate) fn first_extended(seq: u16) -> u64 {
    (1 << 16) | u64::from(seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extends_across_the_wrap_both_ways() {
        let base = first_extended(65_530);
        assert_eq!(extend_near(base, 65_531), base + 1);
        assert_eq!(extend_near(base, 3), base + 9);
        assert_eq!(extend_near(base + 9, 65_529), base - 1);
        assert_eq!(extend_near(base, 65_530), base);
    }
}
