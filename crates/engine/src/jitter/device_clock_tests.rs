//! `ReceivePath` as the media pump drives it: packets pushed as they arrive, PCM pulled by
//! the samples a simulated audio device needs (10 ms periods, a pump waking every 5 ms),
//! on a fake clock. The arrivals are bursty, the way chromium's packets reach us on a
//! loaded machine: the stream stalls for 60–100 ms every second or two and then delivers
//! the held packets at once.

use std::time::{Duration, Instant};

use super::*;
use crate::codec::EncoderSettings;
use crate::codec::test_support::encode_all;
use voicecall_core::format::{MAX_DECODED_SAMPLES, RTP_TICKS_PER_FRAME, SAMPLE_RATE};
use voicecall_lab::analysis::compare;
use voicecall_lab::signals::{TestRng, speech_48k};

const PERIOD_SAMPLES: usize = 480;
const PUMP_US: u64 = 5_000;
/// The pump keeps at least this much decoded audio queued for the device.
const LOW_WATER: usize = 1_200;

/// Arrival time (µs) of each 20 ms packet: a few ms of scheduling noise, and every 50–100
/// packets a stall of 60–100 ms that releases the held packets together at its end. Few
/// enough packets are held (< 5 %) that the delay target rightly ignores the stalls.
fn bursty_arrivals(count: usize, seed: u64) -> Vec<u64> {
    let mut rng = TestRng::new(seed);
    let mut next_stall = 50;
    let mut stall_until = 0u64;
    (0..count)
        .map(|i| {
            let sent = i as u64 * 20_000;
            if i == next_stall {
                stall_until = sent + 60_000 + (rng.unit() * 40_000.0) as u64;
                next_stall += 50 + (rng.unit() * 50.0) as usize;
            }
            let noise = (rng.unit() * 3_000.0) as u64;
            sent.max(stall_until) + 2_000 + noise
        })
        .collect()
}

struct Played {
    audio: Vec<i16>,
    stats: JitterStats,
}

/// Plays `speech` through `rx`, clocked by the device; the device's output is returned.
fn play(speech: &[i16], mut rx: ReceivePath, seed: u64) -> Played {
    let packets = encode_all(speech, &EncoderSettings::default());
    let arrivals = bursty_arrivals(packets.len(), seed);
    let t0 = Instant::now();
    let mut out = vec![0i16; MAX_DECODED_SAMPLES];
    let mut queue: std::collections::VecDeque<i16> = std::collections::VecDeque::new();
    let mut audio = Vec::new();
    let mut next_packet = 0;
    let end_us = packets.len() as u64 * 20_000 + 1_000_000;
    let mut now_us = 0;
    while now_us < end_us {
        let now = t0 + Duration::from_micros(now_us);
        while next_packet < packets.len() && arrivals[next_packet] <= now_us {
            let i = next_packet;
            let ts = (i as u32).wrapping_mul(RTP_TICKS_PER_FRAME);
            rx.push(i as u16, ts, &packets[i], now);
            next_packet += 1;
        }
        while queue.len() < LOW_WATER {
            let (n, _) = rx.pull(now, &mut out).expect("decoder works");
            queue.extend(&out[..n]);
        }
        if now_us % 10_000 == 0 {
            for _ in 0..PERIOD_SAMPLES {
                audio.push(queue.pop_front().unwrap_or(0));
            }
        }
        now_us += PUMP_US;
    }
    Played {
        audio,
        stats: rx.stats(),
    }
}

/// Matched fraction of both runs must stay above this: a stall of up to 100 ms in speech
/// loses its segment whichever way the buffer recovers, and time-stretched speech drifts
/// against the reference within a segment, which the waveform comparison scores lower
/// than a clean whole-frame slip (PESQ, the quality bench's measure, does not).
const MIN_MATCHED: f64 = 0.8;

#[test]
fn bursty_arrival_is_absorbed_by_time_stretching_without_skipping_frames() {
    let speech = speech_48k("speech-a.wav");
    let rx = ReceivePath::new(JitterConfig::default()).expect("decoder");
    let stretched = play(&speech, rx, 7);
    let s = stretched.stats;
    assert_eq!(s.skipped, 0, "{s:?}");
    assert!(s.accelerated_samples > 0, "{s:?}");
    let c = compare(&speech, &stretched.audio, SAMPLE_RATE);
    assert!(
        c.passes(0.9, MIN_MATCHED),
        "{:.3} {s:?}",
        c.matched_fraction
    );

    // The same arrivals without stretching: the stalls leave surplus the buffer can only
    // skip whole frames to shed (what `frames_skipped` counted in chromium calls).
    let mut rx = ReceivePath::new(JitterConfig::default()).expect("decoder");
    rx.set_time_stretch(false);
    let framed = play(&speech, rx, 7);
    let f = framed.stats;
    assert!(f.skipped >= 3, "{f:?}");
    assert_eq!(f.accelerated_samples + f.expanded_samples, 0, "{f:?}");
    let c = compare(&speech, &framed.audio, SAMPLE_RATE);
    assert!(
        c.passes(0.9, MIN_MATCHED),
        "{:.3} {f:?}",
        c.matched_fraction
    );
}
