//! RTCP BYE both ways (`voicecall_core::call::Goodbye`), as an interceptor in webrtc-rs's chain:
//! a BYE from the peer's stream becomes an [`RtcEvent::PeerGoodbye`], and our own BYE is
//! reported once it has been taken into the chain, so closing the connection after that
//! cannot cut it off (the close flushes what the chain holds before its `close_notify`).

use std::collections::VecDeque;
use std::time::Instant;

use rtc::interceptor::{Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::goodbye::Goodbye as Bye;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;
use tokio::sync::{mpsc, watch};
use voicecall_core::call::Goodbye;

use super::events::RtcEvent;

/// Wire-most (see `rtc::interceptor::Slot`): a BYE of ours seen here has passed every other
/// interceptor, and a BYE of the peer's is seen before any of them could drop it.
pub(super) const SLOT: usize = 500;

pub(super) struct GoodbyeInterceptor {
    remote: Vec<u32>,
    events: mpsc::UnboundedSender<RtcEvent>,
    sent: watch::Sender<bool>,
    read_queue: VecDeque<TaggedPacket>,
    write_queue: VecDeque<TaggedPacket>,
}

impl GoodbyeInterceptor {
    /// `sent` turns true when a BYE of ours goes down the chain.
    pub(super) fn new(events: mpsc::UnboundedSender<RtcEvent>, sent: watch::Sender<bool>) -> Self {
        Self {
            remote: Vec::new(),
            events,
            sent,
            read_queue: VecDeque::new(),
            write_queue: VecDeque::new(),
        }
    }
}

fn byes(packet: &Packet) -> impl Iterator<Item = &Bye> {
    let packets = match packet {
        Packet::Rtcp(packets) => packets.as_slice(),
        _ => &[],
    };
    packets
        .iter()
        .filter_map(|p| p.as_any().downcast_ref::<Bye>())
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for GoodbyeInterceptor {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        for bye in byes(&msg.message.packet) {
            // Only about the peer's own audio; the reason text says whether it is ours.
            if !bye.sources.iter().any(|s| self.remote.contains(s)) {
                continue;
            }
            if let Some(goodbye) = Goodbye::from_reason(&bye.reason) {
                let _ = self.events.send(RtcEvent::PeerGoodbye(goodbye));
            }
        }
        self.read_queue.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read_queue.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        if byes(&msg.message.packet).next().is_some() {
            self.sent.send_replace(true);
        }
        self.write_queue.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write_queue.pop_front()
    }

    fn handle_timeout(&mut self, _now: Instant) -> Result<(), Self::Error> {
        Ok(())
    }

    fn poll_timeout(&mut self) -> Option<Self::Time> {
        None
    }
}

impl Interceptor for GoodbyeInterceptor {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}

    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}

    fn bind_remote_stream(&mut self, info: &StreamInfo) {
        if !self.remote.contains(&info.ssrc) {
            self.remote.push(info.ssrc);
        }
    }

    fn unbind_remote_stream(&mut self, info: &StreamInfo) {
        self.remote.retain(|&ssrc| ssrc != info.ssrc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use rtc::interceptor::AttributedPacket;
    use rtc::shared::TransportContext;

    const THEIRS: u32 = 0x2222;

    fn rtcp(bye: Bye) -> TaggedPacket {
        TaggedPacket {
            now: Instant::now(),
            transport: TransportContext::default(),
            message: AttributedPacket::new(Packet::Rtcp(vec![Box::new(bye)])),
        }
    }

    fn bye(ssrc: u32, reason: &'static str) -> Bye {
        Bye {
            sources: vec![ssrc],
            reason: Bytes::from_static(reason.as_bytes()),
        }
    }

    /// What a peer's RTCP parser makes of a BYE as it goes on the wire.
    fn over_the_wire(packet: TaggedPacket) -> TaggedPacket {
        let Packet::Rtcp(packets) = packet.message.packet else {
            panic!("not RTCP");
        };
        let bytes = rtc::rtcp::packet::marshal(&packets).unwrap();
        let parsed = rtc::rtcp::packet::unmarshal(&mut bytes.freeze()).unwrap();
        TaggedPacket {
            now: packet.now,
            transport: packet.transport,
            message: AttributedPacket::new(Packet::Rtcp(parsed)),
        }
    }

    fn interceptor() -> (
        GoodbyeInterceptor,
        mpsc::UnboundedReceiver<RtcEvent>,
        watch::Receiver<bool>,
    ) {
        let (events, rx) = mpsc::unbounded_channel();
        let (sent, sent_rx) = watch::channel(false);
        let mut it = GoodbyeInterceptor::new(events, sent);
        it.bind_remote_stream(&StreamInfo {
            ssrc: THEIRS,
            ..Default::default()
        });
        (it, rx, sent_rx)
    }

    #[test]
    fn our_bye_is_reported_sent_and_the_peers_becomes_an_event() {
        let (mut ours, _, sent) = interceptor();
        let hangup = Goodbye::HungUp.reason();
        ours.handle_write(rtcp(bye(THEIRS, hangup))).unwrap();
        assert!(*sent.borrow(), "the BYE went down the chain");
        let out = ours.poll_write().expect("it travels on");

        let (mut theirs, mut events, _) = interceptor();
        theirs.handle_read(over_the_wire(out)).unwrap();
        assert!(theirs.poll_read().is_some(), "RTCP passes through");
        assert_eq!(
            events.try_recv().ok(),
            Some(RtcEvent::PeerGoodbye(Goodbye::HungUp))
        );
    }

    #[test]
    fn other_byes_mean_nothing() {
        let (mut it, mut events, sent) = interceptor();
        // A browser's BYE (no reason) and one about a stream that is not the peer's.
        it.handle_read(rtcp(bye(THEIRS, ""))).unwrap();
        it.handle_read(rtcp(bye(0x9999, Goodbye::HungUp.reason())))
            .unwrap();
        assert!(events.try_recv().is_err());
        assert!(!*sent.borrow(), "nothing of ours was written");
    }
}
