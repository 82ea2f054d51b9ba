//! When the relay received each RTP packet from its clients: how a sender paces its
//! packets, seen from the network (on loopback, the relay's arrival time is the send time).
//! The RTP header travels in the clear under SRTP, so SSRC, sequence number, timestamp and
//! marker are readable here. Recording is off until [`ArrivalLog::start`].

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// RTP clock of Opus.
const TICKS_PER_SECOND: f64 = 48_000.0;
/// One 20 ms frame in RTP ticks.
const FRAME_TICKS: u32 = 960;
/// NetEq judges each packet's delay against the fastest packet of the last 2 s.
const DELAY_WINDOW: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpArrival {
    pub at: Instant,
    pub ssrc: u32,
    pub sequence: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub payload_type: u8,
    pub bytes: usize,
}

impl RtpArrival {
    /// Reads an RTP packet's fixed header; `None` for anything shorter.
    pub fn parse(rtp: &[u8], at: Instant) -> Option<Self> {
        let header = rtp.get(..12)?;
        Some(Self {
            at,
            ssrc: u32::from_be_bytes([header[8], header[9], header[10], header[11]]),
            sequence: u16::from_be_bytes([header[2], header[3]]),
            timestamp: u32::from_be_bytes([header[4], header[5], header[6], header[7]]),
            marker: header[1] & 0x80 != 0,
            payload_type: header[1] & 0x7F,
            bytes: rtp.len(),
        })
    }
}

#[derive(Debug, Default)]
pub struct ArrivalLog {
    recording: AtomicBool,
    packets: Mutex<Vec<RtpArrival>>,
}

impl ArrivalLog {
    /// Records from now on (and forgets what was recorded before).
    pub fn start(&self) {
        self.take();
        self.recording.store(true, Ordering::Relaxed);
    }

    /// What was recorded since `start`; recording goes on.
    pub fn take(&self) -> Vec<RtpArrival> {
        std::mem::take(&mut *self.packets.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn record(&self, rtp: &[u8]) {
        if !self.recording.load(Ordering::Relaxed) {
            return;
        }
        if let Some(arrival) = RtpArrival::parse(rtp, Instant::now()) {
            self.packets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(arrival);
        }
    }
}

/// How one stream's packets left its sender.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacing {
    pub packets: usize,
    /// Packets with the marker bit (talkspurt starts).
    pub marked: usize,
    /// Timestamp jumps of more than one frame (frames not sent: DTX).
    pub timestamp_gaps: usize,
    /// Packets that arrived less than 5 ms after the one before although they are a
    /// frame or more later in RTP time: sent in a burst.
    pub bursts: usize,
    /// Each packet's delay beyond the fastest packet of the 2 s before it (what NetEq's
    /// delay manager measures), in ms: median, 95th percentile and maximum.
    pub delay_p50_ms: f64,
    pub delay_p95_ms: f64,
    pub delay_max_ms: f64,
}

impl std::fmt::Display for Pacing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} packets, {} marked, {} ts gaps, {} in bursts, delay p50 {:.1} p95 {:.1} max {:.1} ms",
            self.packets,
            self.marked,
            self.timestamp_gaps,
            self.bursts,
            self.delay_p50_ms,
            self.delay_p95_ms,
            self.delay_max_ms
        )
    }
}

/// Pacing of each SSRC in `log`.
pub fn pacing_by_ssrc(log: &[RtpArrival]) -> BTreeMap<u32, Pacing> {
    let mut streams: BTreeMap<u32, Vec<RtpArrival>> = BTreeMap::new();
    for packet in log {
        streams.entry(packet.ssrc).or_default().push(*packet);
    }
    streams
        .into_iter()
        .filter_map(|(ssrc, packets)| Some((ssrc, pacing(&packets)?)))
        .collect()
}

/// Pacing of one stream's packets in arrival order; `None` if empty.
pub fn pacing(packets: &[RtpArrival]) -> Option<Pacing> {
    let first = packets.first()?;
    // Sending time relative to RTP time, in seconds, unwrapping the timestamp.
    let mut rtp_seconds = 0.0;
    let mut last_ts = first.timestamp;
    let mut offsets: Vec<(Instant, f64)> = Vec::with_capacity(packets.len());
    let (mut gaps, mut bursts) = (0, 0);
    for (i, p) in packets.iter().enumerate() {
        let step = p.timestamp.wrapping_sub(last_ts) as i32;
        last_ts = p.timestamp;
        rtp_seconds += f64::from(step) / TICKS_PER_SECOND;
        if i > 0 {
            if step > FRAME_TICKS as i32 {
                gaps += 1;
            }
            let since = p.at.duration_since(packets[i - 1].at);
            if step >= FRAME_TICKS as i32 && since < Duration::from_millis(5) {
                bursts += 1;
            }
        }
        let wall = p.at.duration_since(first.at).as_secs_f64();
        offsets.push((p.at, wall - rtp_seconds));
    }
    let mut delays: Vec<f64> = Vec::with_capacity(offsets.len());
    let mut window_start = 0;
    for (i, &(at, offset)) in offsets.iter().enumerate() {
        while at.duration_since(offsets[window_start].0) > DELAY_WINDOW {
            window_start += 1;
        }
        let fastest = offsets[window_start..=i]
            .iter()
            .map(|&(_, o)| o)
            .fold(f64::INFINITY, f64::min);
        delays.push((offset - fastest) * 1000.0);
    }
    delays.sort_by(f64::total_cmp);
    let at = |q: f64| delays[((delays.len() - 1) as f64 * q).round() as usize];
    Some(Pacing {
        packets: packets.len(),
        marked: packets.iter().filter(|p| p.marker).count(),
        timestamp_gaps: gaps,
        bursts,
        delay_p50_ms: at(0.5),
        delay_p95_ms: at(0.95),
        delay_max_ms: at(1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(start: Instant, ms: u64, timestamp: u32) -> RtpArrival {
        RtpArrival {
            at: start + Duration::from_millis(ms),
            ssrc: 7,
            sequence: 0,
            timestamp,
            marker: false,
            payload_type: 111,
            bytes: 50,
        }
    }

    #[test]
    fn even_packets_have_no_delay_and_a_burst_shows() {
        let start = Instant::now();
        let even: Vec<_> = (0..100)
            .map(|i| packet(start, i * 20, i as u32 * 960))
            .collect();
        let p = pacing(&even).unwrap();
        assert_eq!((p.bursts, p.timestamp_gaps), (0, 0));
        assert!(p.delay_max_ms < 0.001, "{p}");

        // Frames 50–54 held back and sent together at frame 54's time (+5 ms): frame 50
        // leaves 85 ms late.
        let mut held = even.clone();
        for (i, pkt) in held.iter_mut().enumerate().take(55).skip(50) {
            pkt.at = start + Duration::from_millis(54 * 20 + i as u64 / 10);
        }
        let p = pacing(&held).unwrap();
        assert_eq!(p.bursts, 4);
        assert!((p.delay_max_ms - 85.0).abs() < 1.0, "{p}");
    }

    #[test]
    fn silence_is_a_timestamp_gap_not_a_delay() {
        let start = Instant::now();
        let mut packets: Vec<_> = (0..10)
            .map(|i| packet(start, i * 20, i as u32 * 960))
            .collect();
        packets.push(packet(start, 1_000, 50 * 960));
        let p = pacing(&packets).unwrap();
        assert_eq!(p.timestamp_gaps, 1);
        assert!(p.delay_max_ms < 0.001, "{p}");
    }
}
