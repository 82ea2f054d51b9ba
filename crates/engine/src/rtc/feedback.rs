//! The loss feedback loop's RTCP side, as an interceptor in webrtc-rs's chain.
//!
//! Why our own: webrtc-rs 0.21 reads nothing from the receiver reports it receives. Inbound
//! RTCP ends at the chain's terminus (`NoopInterceptor`), and the function that would have
//! fed a report into `get_stats`' remote-inbound entry (`process_read_rtcp_for_stats` in
//! `rtc`'s interceptor handler) is never called, so `RemoteInboundRtp.fraction_lost` stays
//! 0 for the whole call. The sender therefore never learned the peer's loss: FEC never
//! fired and adaptive RED never engaged.
//!
//! Both directions of the loop run here, on the chain's own packets and timer:
//! - receiving: each remote stream's packets are recorded as they come off the wire
//!   (before any buffering), and once a second an RTCP XR packet goes out with a Loss RLE
//!   block (RFC 3611 §4.1) whose run-length chunks are the loss bursts and the gaps between
//!   them ([`LossRecorder`]). The standard receiver report (loss fraction, jitter) is sent
//!   by webrtc-rs' `ReceiverReportInterceptor` as before;
//! - sending: the reception report blocks (in RR or SR) and Loss RLE blocks about our own
//!   streams are taken off inbound RTCP and handed to the media pipeline as [`PeerReport`]s.
//!
//! The packets themselves travel on: this interceptor only looks.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use rtc::interceptor::{AttributedPacket, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::extended_report::{Chunk, ExtendedReport, LossRLEReportBlock, RLEReportBlock};
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::reception_report::ReceptionReport as RtcpReceptionReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::sansio::Protocol;
use rtc::shared::TransportContext;
use rtc::shared::error::Error;
use tokio::sync::mpsc;
use voicecall_core::protection::{
    LossRecorder, LossRuns, PeerReport, ReceptionReport, decode_chunks, encode_chunks,
};

/// Where the interceptor sits in the chain (see `rtc::interceptor::Slot`): it generates
/// RTCP, so above the pacer (3 000); it records arrivals, so below the jitter buffer
/// (13 000). Next to the receiver reports (10 000), whose companion it is.
pub(super) const SLOT: usize = 10_500;
/// Loss runs go out as often as webrtc-rs' receiver reports.
pub(super) const REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// Reports waiting for the media pipeline; beyond this (a pipeline that stopped reading)
/// new ones are dropped.
pub(super) const REPORT_QUEUE: usize = 32;

pub(super) struct FeedbackInterceptor {
    interval: Duration,
    next_report: Option<Instant>,
    local: Vec<u32>,
    remote: HashMap<u32, LossRecorder>,
    reports: mpsc::Sender<PeerReport>,
    read_queue: VecDeque<TaggedPacket>,
    write_queue: VecDeque<TaggedPacket>,
}

impl FeedbackInterceptor {
    pub(super) fn new(interval: Duration, reports: mpsc::Sender<PeerReport>) -> Self {
        Self {
            interval,
            next_report: None,
            local: Vec::new(),
            remote: HashMap::new(),
            reports,
            read_queue: VecDeque::new(),
            write_queue: VecDeque::new(),
        }
    }

    fn deliver(&self, report: PeerReport) {
        // A full queue means the pipeline is not reading; the next report says it again.
        let _ = self.reports.try_send(report);
    }

    fn read_rtcp(&self, packet: &dyn rtc::rtcp::Packet, at: Instant) {
        let any = packet.as_any();
        let blocks = if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
            rr.reports.as_slice()
        } else if let Some(sr) = any.downcast_ref::<SenderReport>() {
            sr.reports.as_slice()
        } else if let Some(xr) = any.downcast_ref::<ExtendedReport>() {
            for block in &xr.reports {
                if let Some(rle) = block.as_any().downcast_ref::<RLEReportBlock>() {
                    self.read_loss_rle(rle, at);
                }
            }
            return;
        } else {
            return;
        };
        for block in blocks.iter().filter(|b| self.local.contains(&b.ssrc)) {
            self.deliver(PeerReport::Reception {
                at,
                report: reception(block),
            });
        }
    }

    fn read_loss_rle(&self, block: &RLEReportBlock, at: Instant) {
        if !block.is_loss_rle || !self.local.contains(&block.ssrc) {
            return;
        }
        let words: Vec<u16> = block.chunks.iter().map(|c| c.0).collect();
        match decode_chunks(&words) {
            Ok(runs) => self.deliver(PeerReport::LossRuns {
                at,
                runs: LossRuns {
                    begin_seq: block.begin_seq,
                    end_seq: block.end_seq,
                    runs,
                },
            }),
            Err(err) => tracing::debug!(error = %err, "ignoring a malformed Loss RLE block"),
        }
    }

    /// One XR packet per remote stream with news: its loss runs since the last one.
    fn emit_loss_runs(&mut self, now: Instant) {
        let sender_ssrc = self.local.first().copied().unwrap_or(0);
        for (&ssrc, recorder) in self.remote.iter_mut() {
            let Some(runs) = recorder.report() else {
                continue;
            };
            let block = LossRLEReportBlock {
                is_loss_rle: true,
                t: 0,
                ssrc,
                begin_seq: runs.begin_seq,
                end_seq: runs.end_seq,
                chunks: encode_chunks(&runs.runs).into_iter().map(Chunk).collect(),
            };
            let xr = ExtendedReport {
                sender_ssrc,
                reports: vec![Box::new(block)],
            };
            self.write_queue.push_back(TaggedPacket {
                now,
                transport: TransportContext::default(),
                message: AttributedPacket::new(Packet::Rtcp(vec![Box::new(xr)])),
            });
        }
    }
}

fn reception(block: &RtcpReceptionReport) -> ReceptionReport {
    // The cumulative count is a 24-bit signed number on the wire.
    let lost = block.total_lost & 0x00FF_FFFF;
    let cumulative_lost = if lost & 0x0080_0000 != 0 {
        lost as i32 - 0x0100_0000
    } else {
        lost as i32
    };
    ReceptionReport {
        fraction_lost: block.fraction_lost,
        cumulative_lost,
        highest_seq: block.last_sequence_number,
        jitter_ticks: block.jitter,
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for FeedbackInterceptor {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        match &msg.message.packet {
            Packet::Rtp(rtp) => {
                if let Some(recorder) = self.remote.get_mut(&rtp.header.ssrc) {
                    recorder.on_packet(rtp.header.sequence_number);
                    if self.next_report.is_none() {
                        self.next_report = Some(msg.now + self.interval);
                    }
                }
            }
            Packet::Rtcp(packets) => {
                for packet in packets {
                    self.read_rtcp(packet.as_ref(), msg.now);
                }
            }
            _ => {}
        }
        self.read_queue.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read_queue.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write_queue.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write_queue.pop_front()
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), Self::Error> {
        if let Some(due) = self.next_report
            && now >= due
        {
            self.next_report = Some(now + self.interval);
            self.emit_loss_runs(now);
        }
        Ok(())
    }

    fn poll_timeout(&mut self) -> Option<Self::Time> {
        self.next_report
    }
}

impl Interceptor for FeedbackInterceptor {
    fn bind_local_stream(&mut self, info: &StreamInfo) {
        if !self.local.contains(&info.ssrc) {
            self.local.push(info.ssrc);
        }
    }

    fn unbind_local_stream(&mut self, info: &StreamInfo) {
        self.local.retain(|&ssrc| ssrc != info.ssrc);
    }

    fn bind_remote_stream(&mut self, info: &StreamInfo) {
        self.remote.entry(info.ssrc).or_default();
    }

    fn unbind_remote_stream(&mut self, info: &StreamInfo) {
        self.remote.remove(&info.ssrc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: u32 = 0x1111;
    const THEIRS: u32 = 0x2222;

    fn tagged(now: Instant, packet: Packet) -> TaggedPacket {
        TaggedPacket {
            now,
            transport: TransportContext::default(),
            message: AttributedPacket::new(packet),
        }
    }

    fn rtp(now: Instant, ssrc: u32, seq: u16) -> TaggedPacket {
        tagged(
            now,
            Packet::Rtp(rtc::rtp::Packet {
                header: rtc::rtp::header::Header {
                    version: 2,
                    ssrc,
                    sequence_number: seq,
                    timestamp: u32::from(seq) * 960,
                    ..Default::default()
                },
                payload: bytes::Bytes::from_static(&[1, 2, 3]),
            }),
        )
    }

    fn info(ssrc: u32) -> StreamInfo {
        StreamInfo {
            ssrc,
            clock_rate: 48_000,
            ..Default::default()
        }
    }

    /// Both ends of a call: the receiver of `THEIRS` reports, the sender of `THEIRS` reads.
    #[test]
    fn loss_runs_go_out_as_xr_and_come_back_as_reports() {
        let t0 = Instant::now();
        let (receiver_tx, _unused) = mpsc::channel(REPORT_QUEUE);
        let mut receiver = FeedbackInterceptor::new(REPORT_INTERVAL, receiver_tx);
        receiver.bind_local_stream(&info(OURS));
        receiver.bind_remote_stream(&info(THEIRS));
        // Packets 100..150 with a burst of three lost; another stream is not ours to report.
        for seq in (100u16..150).filter(|s| !(120..123).contains(s)) {
            receiver.handle_read(rtp(t0, THEIRS, seq)).unwrap();
            assert!(receiver.poll_read().is_some(), "packets pass through");
        }
        receiver.handle_read(rtp(t0, 0x9999, 7)).unwrap();
        assert_eq!(receiver.poll_timeout(), Some(t0 + REPORT_INTERVAL));
        receiver.handle_timeout(t0 + REPORT_INTERVAL).unwrap();
        let out = receiver.poll_write().expect("an XR packet");
        assert!(receiver.poll_write().is_none(), "one per stream with news");

        // Over the wire and back: what a peer's RTCP parser makes of it.
        let Packet::Rtcp(packets) = out.message.packet else {
            panic!("not RTCP");
        };
        let bytes = rtc::rtcp::packet::marshal(&packets).unwrap();
        let parsed = rtc::rtcp::packet::unmarshal(&mut bytes.freeze()).unwrap();

        let (sender_tx, mut reports) = mpsc::channel(REPORT_QUEUE);
        let mut sender = FeedbackInterceptor::new(REPORT_INTERVAL, sender_tx);
        sender.bind_local_stream(&info(THEIRS));
        let at = t0 + Duration::from_millis(1_030);
        sender
            .handle_read(tagged(at, Packet::Rtcp(parsed)))
            .unwrap();
        assert!(sender.poll_read().is_some(), "RTCP passes through too");
        let Ok(PeerReport::LossRuns { at: got_at, runs }) = reports.try_recv() else {
            panic!("no loss runs reported");
        };
        assert_eq!(got_at, at);
        assert_eq!((runs.begin_seq, runs.end_seq), (100, 148));
        let lost: Vec<u16> = runs
            .outcomes()
            .filter(|(_, received)| !received)
            .map(|(i, _)| runs.begin_seq + i)
            .collect();
        assert_eq!(lost, vec![120, 121, 122]);
    }

    #[test]
    fn reception_report_blocks_about_our_stream_are_handed_on() {
        let t0 = Instant::now();
        let (tx, mut reports) = mpsc::channel(REPORT_QUEUE);
        let mut sender = FeedbackInterceptor::new(REPORT_INTERVAL, tx);
        sender.bind_local_stream(&info(OURS));
        let block = |ssrc| RtcpReceptionReport {
            ssrc,
            fraction_lost: 26,
            // -3 in 24 bits: more duplicates than losses.
            total_lost: 0x00FF_FFFD,
            last_sequence_number: 70_000,
            jitter: 480,
            ..Default::default()
        };
        let rr = ReceiverReport {
            ssrc: THEIRS,
            reports: vec![block(0x5555), block(OURS)],
            ..Default::default()
        };
        sender
            .handle_read(tagged(t0, Packet::Rtcp(vec![Box::new(rr)])))
            .unwrap();
        let Ok(PeerReport::Reception { report, .. }) = reports.try_recv() else {
            panic!("no reception report");
        };
        assert_eq!(
            report,
            ReceptionReport {
                fraction_lost: 26,
                cumulative_lost: -3,
                highest_seq: 70_000,
                jitter_ticks: 480,
            }
        );
        assert!(
            reports.try_recv().is_err(),
            "the other stream's block is not ours"
        );
    }
}
