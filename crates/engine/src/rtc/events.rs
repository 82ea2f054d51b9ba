use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnectionEventHandler, RTCIceGatheringState, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState,
};

use super::rx_trace::RxTrace;
use crate::jitter::trace::TracedPacket;
use voicecall_core::call::{Goodbye, RtcState};
use voicecall_core::signaling::message::IceCandidate;

/// What the peer connection reports to the controller.
#[derive(Debug, Clone, PartialEq)]
pub enum RtcEvent {
    LocalCandidate(IceCandidate),
    GatheringComplete,
    State(RtcState),
    /// The remote audio track started (its first packet arrived).
    RemoteTrack,
    /// The peer sent an RTCP BYE of ours on its audio stream.
    PeerGoodbye(Goodbye),
}

/// One received audio packet, as much of RTP as the receive path needs.
#[derive(Debug, Clone)]
pub struct RemoteRtp {
    /// Opus or RED, see `AudioTrackWriter::payload_types`.
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    /// Set on a talkspurt's first packet (RFC 3551 §4.1).
    pub marker: bool,
    pub payload: Bytes,
    /// When the reader took it off the track: the pump may take it up later (it sleeps
    /// on its own thread to wake on time for the speaker).
    pub arrived: Instant,
}

/// Forwards webrtc-rs callbacks into channels. Callbacks run on the connection's driver
/// task, so nothing here may block or loop.
pub(super) struct Handler {
    pub events: mpsc::UnboundedSender<RtcEvent>,
    pub audio: mpsc::Sender<RemoteRtp>,
    /// webrtc-rs reports `sdpMid` as ""; the peer needs the real one from our SDP.
    pub mid: String,
    /// False without trickle ICE: candidates then travel in the description only.
    pub trickle: bool,
    /// Counts finished candidate gatherings, so a description can wait for one.
    pub gathered: watch::Sender<u64>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if !self.trickle {
            return;
        }
        match event.candidate.to_json() {
            Ok(init) => {
                let mid = init
                    .sdp_mid
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| self.mid.clone());
                let _ = self.events.send(RtcEvent::LocalCandidate(IceCandidate {
                    candidate: init.candidate,
                    mid: Some(mid),
                    mline_index: Some(init.sdp_mline_index.unwrap_or(0)),
                }));
            }
            Err(err) => tracing::warn!(error = %err, "could not serialise a local candidate"),
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.send_modify(|n| *n += 1);
            let _ = self.events.send(RtcEvent::GatheringComplete);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!(%state, "peer connection state");
        let mapped = match state {
            RTCPeerConnectionState::Connecting => RtcState::Connecting,
            RTCPeerConnectionState::Connected => RtcState::Connected,
            RTCPeerConnectionState::Disconnected => RtcState::Disconnected,
            RTCPeerConnectionState::Failed => RtcState::Failed,
            RTCPeerConnectionState::Closed => RtcState::Closed,
            _ => return,
        };
        let _ = self.events.send(RtcEvent::State(mapped));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.events.send(RtcEvent::RemoteTrack);
        let audio = self.audio.clone();
        // `on_track` runs on the driver task: reading the track here would stall the
        // connection, so the packets are pumped from a task of their own.
        tokio::spawn(async move {
            let mut trace = RxTrace::from_env();
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(packet) = event {
                    let arrived = Instant::now();
                    if let Some(trace) = &mut trace {
                        let header = &packet.header;
                        let traced = TracedPacket {
                            arrival_us: 0,
                            seq: header.sequence_number,
                            timestamp: header.timestamp,
                            payload_type: header.payload_type,
                            marker: header.marker,
                            payload: packet.payload.to_vec(),
                        };
                        trace.record(traced, arrived);
                    }
                    let rtp = RemoteRtp {
                        payload_type: packet.header.payload_type,
                        sequence: packet.header.sequence_number,
                        timestamp: packet.header.timestamp,
                        marker: packet.header.marker,
                        payload: packet.payload,
                        arrived,
                    };
                    // A full queue means the receive path is not running (yet); drop.
                    let _ = audio.try_send(rtp);
                }
            }
        });
    }
}
