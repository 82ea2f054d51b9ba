//! `PaddingFilter`: Chromium's padding-only probes leave no holes, and a stream without
//! padding keeps its numbering whatever the network did to it.

use std::time::{Duration, Instant};

use super::padding::PaddingFilter;
use super::*;
use crate::codec::EncoderSettings;
use crate::codec::test_support::encode_all;
use voicecall_core::format::{MAX_DECODED_SAMPLES, RTP_TICKS_PER_FRAME};
use voicecall_lab::signals::speech_48k;

fn ts(frame: u32) -> u32 {
    frame.wrapping_mul(RTP_TICKS_PER_FRAME)
}

/// Chromium's pattern while probing: each frame followed by `pads` padding packets that
/// repeat its timestamp. Returns (seq, timestamp, padding_only, frame index).
fn chromium_stream(frames: u32, pads: u16, first_seq: u16) -> Vec<(u16, u32, bool, u32)> {
    let mut out = Vec::new();
    let mut seq = first_seq;
    for f in 0..frames {
        out.push((seq, ts(f), false, f));
        seq = seq.wrapping_add(1);
        for _ in 0..pads {
            out.push((seq, ts(f), true, f));
            seq = seq.wrapping_add(1);
        }
    }
    out
}

#[test]
fn without_padding_the_numbering_is_unchanged_through_loss_reordering_dtx_and_wrap() {
    let mut filter = PaddingFilter::new();
    // seq, timestamp: a wrap, a loss (65_535), a reordered pair, a duplicate, a DTX jump.
    let packets: [(u16, u32); 9] = [
        (65_532, ts(0)),
        (65_533, ts(1)),
        (65_534, ts(2)),
        (1, ts(5)),
        (0, ts(4)),
        (2, ts(6)),
        (2, ts(6)),
        (3, ts(50)),
        (4, ts(51)),
    ];
    for (seq, t) in packets {
        assert_eq!(filter.renumber(seq, t, false), Some(seq), "seq {seq}");
    }
}

#[test]
fn received_padding_is_taken_out_of_the_sequence() {
    let mut filter = PaddingFilter::new();
    let mut renumbered = Vec::new();
    for (seq, t, pad, _) in chromium_stream(50, 3, 65_500) {
        match filter.renumber(seq, t, pad) {
            Some(n) => renumbered.push(n),
            None => assert!(pad, "media packet {seq} dropped"),
        }
    }
    let expected: Vec<u16> = (0..50u16).map(|i| 65_500u16.wrapping_add(i)).collect();
    assert_eq!(renumbered, expected);
    assert_eq!(filter.padding_seen(), 150);
}

#[test]
fn lost_padding_is_inferred_from_the_timestamps_and_lost_media_still_leaves_a_hole() {
    let mut filter = PaddingFilter::new();
    let stream = chromium_stream(10, 3, 100);
    // Frame 3 and all of frame 2's and frame 3's padding are lost; so is frame 6's padding.
    let lost = |&(seq, _, pad, f): &(u16, u32, bool, u32)| {
        (f == 2 && pad) || f == 3 || (f == 6 && pad) || seq == 0
    };
    let got: Vec<(u32, u16)> = stream
        .iter()
        .filter(|p| !lost(p))
        .filter_map(|&(seq, t, pad, f)| filter.renumber(seq, t, pad).map(|n| (f, n)))
        .collect();
    let frames: Vec<u32> = got.iter().map(|(f, _)| *f).collect();
    assert_eq!(frames, [0, 1, 2, 4, 5, 6, 7, 8, 9]);
    // Every frame keeps its place: frame f is 100 + f, with 103 missing for the lost one.
    for (f, n) in got {
        assert_eq!(u32::from(n), 100 + f, "frame {f}");
    }
}

#[test]
fn a_reordered_frame_goes_back_into_the_hole_it_left() {
    let mut filter = PaddingFilter::new();
    let stream = chromium_stream(6, 2, 7);
    let frame4 = stream.iter().copied().find(|p| p.3 == 4 && !p.2).unwrap();
    let mut got = Vec::new();
    for &(seq, t, pad, f) in stream.iter().filter(|p| p.3 != 4 || p.2) {
        if let Some(n) = filter.renumber(seq, t, pad) {
            got.push((f, n));
        }
    }
    let (seq, t, pad, f) = frame4;
    got.push((f, filter.renumber(seq, t, pad).expect("placed")));
    for (f, n) in got {
        assert_eq!(u32::from(n), 7 + f, "frame {f}");
    }
}

#[test]
fn a_stream_with_padding_plays_without_concealment() {
    let packets = encode_all(&speech_48k("speech-a.wav"), &EncoderSettings::default());
    let frames = packets.len().min(200) as u32;
    let mut rx = ReceivePath::new(JitterConfig::default()).unwrap();
    rx.set_time_stretch(false);
    let t0 = Instant::now();
    let mut out = vec![0i16; MAX_DECODED_SAMPLES];
    let mut concealed = 0;
    let mut decoded = 0;
    let stream = chromium_stream(frames, 3, 40_000);
    for f in 0..frames {
        let now = t0 + Duration::from_millis(u64::from(f) * 20);
        for &(seq, t, pad, _) in stream.iter().filter(|p| p.3 == f) {
            let payload: &[u8] = if pad { &[] } else { &packets[f as usize] };
            rx.push_rtp(111, seq, t, false, payload, now);
        }
        match rx.pull(now + Duration::from_millis(5), &mut out).unwrap().1 {
            FrameSource::Concealed => concealed += 1,
            FrameSource::Decoded => decoded += 1,
            _ => {}
        }
    }
    assert_eq!(concealed, 0, "padding read as loss");
    assert!(decoded >= frames - 5, "decoded {decoded} of {frames}");
    assert_eq!(rx.padding_packets(), u64::from(frames) * 3);
}
