//! A traced stream (`jitter::trace`) played through `ReceivePath` the way the media pump
//! drives it, on a fake clock: packets pushed when they arrived, PCM pulled by a
//! simulated audio device (10 ms periods, the pump waking every 5 ms and keeping
//! `LOW_WATER` samples queued). Deterministic: the same trace plays the same audio.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::trace::TracedPacket;
use super::{JitterConfig, JitterStats, ReceivePath};
use voicecall_core::format::MAX_DECODED_SAMPLES;

const PERIOD_SAMPLES: usize = 480;
const PUMP_US: u64 = 5_000;
/// The pump keeps at least this much decoded audio queued for the device.
const LOW_WATER: usize = 1_200;
/// RTP ticks per microsecond ×1000 (48 kHz clock).
const TICKS_PER_MS: u64 = 48;

/// When each packet is pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrivals {
    /// As the trace recorded them.
    Recorded,
    /// On the packet's RTP timestamp: a sender paced to the sample and a network without
    /// jitter (padding arrives with the frame it follows).
    Ideal,
}

/// The device's output and the receive path's counters at the end.
pub fn play(packets: &[TracedPacket], arrivals: Arrivals) -> (Vec<i16>, JitterStats) {
    let rx = ReceivePath::new(JitterConfig::default()).expect("the Opus decoder opens");
    play_with(packets, arrivals, rx)
}

/// `play` through a receive path set up by the caller.
pub fn play_with(
    packets: &[TracedPacket],
    arrivals: Arrivals,
    mut rx: ReceivePath,
) -> (Vec<i16>, JitterStats) {
    let mut order: Vec<(u64, &TracedPacket)> = match arrivals {
        Arrivals::Recorded => packets
            .iter()
            .map(|p| (u64::from(p.arrival_us), p))
            .collect(),
        Arrivals::Ideal => {
            let first = packets.first().map_or(0, |p| p.timestamp);
            packets
                .iter()
                .map(|p| {
                    let ticks = u64::from(p.timestamp.wrapping_sub(first));
                    (ticks * 1000 / TICKS_PER_MS, p)
                })
                .collect()
        }
    };
    order.sort_by_key(|(at, _)| *at);
    let t0 = Instant::now();
    let mut out = vec![0i16; MAX_DECODED_SAMPLES];
    let mut queue: VecDeque<i16> = VecDeque::new();
    let mut audio = Vec::new();
    let mut next = 0;
    let end_us = order.last().map_or(0, |(at, _)| *at) + 1_000_000;
    let mut now_us = 0;
    while now_us < end_us {
        let now = t0 + Duration::from_micros(now_us);
        while let Some((at, p)) = order.get(next)
            && *at <= now_us
        {
            rx.push_rtp(
                p.payload_type,
                p.seq,
                p.timestamp,
                p.marker,
                &p.payload,
                now,
            );
            next += 1;
        }
        while queue.len() < LOW_WATER {
            let (n, _) = rx.pull(now, &mut out).expect("the decoder works");
            queue.extend(&out[..n]);
        }
        if now_us % 10_000 == 0 {
            for _ in 0..PERIOD_SAMPLES {
                audio.push(queue.pop_front().unwrap_or(0));
            }
        }
        now_us += PUMP_US;
    }
    (audio, rx.stats())
}
