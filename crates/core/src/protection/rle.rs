//! The chunks of an RTCP XR Loss RLE report block (RFC 3611 §4.1), as 16-bit words:
//! - run length: `0 | R | length(14)`, `length` packets all received (R = 1) or all lost;
//! - bit vector: `1 | 15 bits`, one per packet, first packet in the most significant bit;
//! - terminating null: `0`, padding the block to a 32-bit boundary.

use super::report::Run;

const CHUNK_TYPE_BIT: u16 = 0x8000;
const RUN_TYPE_BIT: u16 = 0x4000;
const MAX_RUN: u16 = 0x3FFF;
const BIT_VECTOR_BITS: u32 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RleError {
    #[error("a run-length chunk of received packets has length zero")]
    EmptyRun,
}

/// Run-length chunks for `runs` (each run split at the 14-bit limit), padded with a
/// terminating null chunk to an even count. Empty runs are left out.
pub fn encode_chunks(runs: &[Run]) -> Vec<u16> {
    let mut chunks = Vec::with_capacity(runs.len() + 1);
    for run in runs {
        let kind = if run.received { RUN_TYPE_BIT } else { 0 };
        let mut left = run.len;
        while left > 0 {
            let len = left.min(MAX_RUN);
            chunks.push(kind | len);
            left -= len;
        }
    }
    if chunks.len() % 2 == 1 {
        chunks.push(0);
    }
    chunks
}

/// The runs the chunks describe, adjacent runs of the same kind merged. Stops at the first
/// terminating null chunk.
pub fn decode_chunks(chunks: &[u16]) -> Result<Vec<Run>, RleError> {
    let mut runs: Vec<Run> = Vec::new();
    let mut push = |received: bool, len: u16| match runs.last_mut() {
        Some(last) if last.received == received && last.len.checked_add(len).is_some() => {
            last.len += len;
        }
        _ => runs.push(Run { received, len }),
    };
    for &chunk in chunks {
        if chunk == 0 {
            break;
        }
        if chunk & CHUNK_TYPE_BIT == 0 {
            let len = chunk & MAX_RUN;
            let received = chunk & RUN_TYPE_BIT != 0;
            if len == 0 {
                return Err(RleError::EmptyRun);
            }
            push(received, len);
        } else {
            for bit in (0..BIT_VECTOR_BITS).rev() {
                push(chunk & (1 << bit) != 0, 1);
            }
        }
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(received: bool, len: u16) -> Run {
        Run { received, len }
    }

    #[test]
    fn runs_round_trip_and_pad_to_a_word() {
        let runs = vec![run(true, 40), run(false, 3), run(true, 7)];
        let chunks = encode_chunks(&runs);
        assert_eq!(chunks, vec![0x4000 | 40, 3, 0x4000 | 7, 0]);
        assert_eq!(decode_chunks(&chunks).unwrap(), runs);
    }

    #[test]
    fn long_runs_split_at_the_limit_and_merge_back() {
        let runs = vec![run(true, 20_000)];
        let chunks = encode_chunks(&runs);
        assert_eq!(chunks, vec![0x4000 | 0x3FFF, 0x4000 | (20_000 - 0x3FFF)]);
        assert_eq!(decode_chunks(&chunks).unwrap(), runs);
    }

    #[test]
    fn bit_vectors_decode_first_packet_first() {
        // 1 | 110 0000 0000 0001: two received, twelve lost, one received.
        let chunks = [0x8000 | 0b110_0000_0000_0001, 0x4000 | 2];
        assert_eq!(
            decode_chunks(&chunks).unwrap(),
            vec![run(true, 2), run(false, 12), run(true, 3)]
        );
    }

    #[test]
    fn a_zero_length_received_run_is_an_error_and_null_ends_the_list() {
        assert_eq!(decode_chunks(&[0x4000]), Err(RleError::EmptyRun));
        assert_eq!(
            decode_chunks(&[5, 0, 0x4000 | 9]).unwrap(),
            vec![run(false, 5)]
        );
    }
}
