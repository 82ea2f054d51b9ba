use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicU16, Ordering};

use bytes::Bytes;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_OPUS;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use thiserror::Error;
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCIceServer, RTCIceTransportPolicy, RTCSessionDescription, Registry,
    SettingEngineBuilder, StatsSelector, register_default_interceptors,
};
use webrtc::rtp_transceiver::RtpSender;

use super::config::RtcConfig;
use super::events::{Handler, RemoteRtp, RtcEvent};
use super::feedback::{self, FeedbackInterceptor};
use super::goodbye::{self, GoodbyeInterceptor};
use super::opus_sdp::{OPUS_PAYLOAD_TYPE, asks_for_dtx, opus_codec, opus_codec_parameters};
use super::stats::{self, candidate_kind};
use super::turn_tcp::{TurnTcpBridge, TurnTls};
use crate::codec::PayloadTypes;
use voicecall_core::call::Goodbye;
use voicecall_core::ice::CandidateKind;
use voicecall_core::protection::PeerReport;
use voicecall_core::quality::RtcStats;
use voicecall_core::signaling::message::{IceCandidate, SdpKind, SessionDescription};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RtcError {
    #[error("WebRTC setup failed: {0}")]
    Setup(String),
    #[error("the peer's {what} was rejected: {reason}")]
    Remote { what: &'static str, reason: String },
    #[error("WebRTC operation failed: {0}")]
    Operation(String),
}

fn setup(e: impl std::fmt::Display) -> RtcError {
    RtcError::Setup(e.to_string())
}

fn op(e: impl std::fmt::Display) -> RtcError {
    RtcError::Operation(e.to_string())
}

/// Queue depth for received audio before the receive path drains it (~5 s of 20 ms frames).
const REMOTE_AUDIO_QUEUE: usize = 256;
/// RFC 2198 redundancy for Opus, as Chromium negotiates it.
pub const MIME_TYPE_RED: &str = "audio/red";
/// Chromium's payload type for `red/48000/2`.
const RED_PAYLOAD_TYPE: u8 = 63;
/// Without trickle ICE, how long a description may wait for gathering to finish before it
/// goes out with the candidates found so far (an unreachable STUN server never answers).
const GATHERING_WAIT: Duration = Duration::from_secs(5);
/// How often ICE consent checks (STUN binding requests) go out on the selected pair. They
/// ran every 20 ms: that woke webrtc-rs' driver often enough to hide packets that waited
/// for its next tick (fixed in crates/patched), and it was the only proof of life the
/// agent accepted. Received media now counts too, so this only has to beat the NAT
/// binding timeout and keep a silent line from looking disconnected.
const CONSENT_INTERVAL: Duration = Duration::from_millis(500);
/// How long a working relay pair waits for a direct one before it is nominated. webrtc-rs
/// never switches away from a nominated pair, so a relay pair taken while the reflexive
/// checks are still punching through the NATs (slow on a loaded machine) would carry the
/// whole call through TURN. Just past webrtc-rs's 500 ms wait for server-reflexive pairs,
/// so a direct pair found by then wins. Relay-only calls have nothing to wait for.
const RELAY_GRACE: Duration = Duration::from_millis(600);
/// A TURN server's name that does not resolve by then is skipped: the call goes ahead
/// with the other servers (a broken resolver can take half a minute to give up).
const DNS_WAIT: Duration = Duration::from_secs(3);
/// How long closing waits for our BYE to enter webrtc-rs's chain. It takes one pass of the
/// connection's driver; more means the driver is stuck, and the close goes ahead anyway.
const GOODBYE_WAIT: Duration = Duration::from_millis(250);

/// One peer connection carrying one Opus track each way.
pub struct RtcPeer {
    pc: Arc<dyn PeerConnection>,
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn RtpSender>,
    ssrc: u32,
    /// Candidates that arrived before the remote description; adding them earlier fails.
    pending_remote: Vec<RTCIceCandidateInit>,
    remote_applied: bool,
    remote_audio: Option<mpsc::Receiver<RemoteRtp>>,
    /// What the peer's RTCP says about our audio (see [`feedback`]).
    peer_reports: Option<mpsc::Receiver<PeerReport>>,
    /// Set when descriptions must carry all candidates (no trickle ICE).
    no_trickle: bool,
    /// Finished candidate gatherings so far (see [`Handler::gathered`]).
    gathered: watch::Receiver<u64>,
    /// Turns true once our BYE is in webrtc-rs's chain (see [`goodbye`]).
    goodbye_sent: watch::Receiver<bool>,
    /// TURN-over-TCP bridges this connection's TURN client talks through.
    _turn_bridges: Vec<TurnTcpBridge>,
}

/// The ICE servers as webrtc-rs takes them, with the TURN-over-TCP/TLS bridges they need.
/// Getting there may wait on DNS; dropping it half-way is harmless.
pub struct PreparedIce {
    servers: Vec<RTCIceServer>,
    bridges: Vec<TurnTcpBridge>,
}

impl PreparedIce {
    pub async fn prepare(config: &RtcConfig) -> Self {
        let (servers, bridges) = prepare_ice_servers(config).await;
        Self { servers, bridges }
    }
}

impl RtcPeer {
    pub async fn new(
        config: &RtcConfig,
        events: mpsc::UnboundedSender<RtcEvent>,
    ) -> Result<Self, RtcError> {
        let ice = PreparedIce::prepare(config).await;
        Self::build(config, ice, events).await
    }

    /// Builds the connection around ICE servers prepared before. Quick: nothing here waits
    /// on the network. A peer that was built must be closed (`close`), or webrtc-rs keeps
    /// its sockets open.
    pub async fn build(
        config: &RtcConfig,
        ice: PreparedIce,
        events: mpsc::UnboundedSender<RtcEvent>,
    ) -> Result<Self, RtcError> {
        let mut media = MediaEngine::default();
        media
            .register_codec(
                opus_codec_parameters(config.ask_for_dtx),
                RtpCodecKind::Audio,
            )
            .map_err(setup)?;
        media.register_default_codecs().map_err(setup)?;
        if config.red {
            media
                .register_codec(red_codec(), RtpCodecKind::Audio)
                .map_err(setup)?;
        }
        let (reports_tx, reports_rx) = mpsc::channel(feedback::REPORT_QUEUE);
        let (goodbye_sent_tx, goodbye_sent) = watch::channel(false);
        let registry = register_default_interceptors(Registry::new(), &mut media)
            .map_err(setup)?
            .with(
                rtc::interceptor::Slot::from(feedback::SLOT),
                FeedbackInterceptor::new(feedback::REPORT_INTERVAL, reports_tx),
            )
            .with(
                rtc::interceptor::Slot::from(goodbye::SLOT),
                GoodbyeInterceptor::new(events.clone(), goodbye_sent_tx),
            );
        let settings = SettingEngineBuilder::new()
            // webrtc-rs waits for its 200 ms ICE tick and a 1–2 s acceptance window by
            // default; a call should connect as soon as a pair answers.
            .with_ice_connection_attempts(Some(Duration::from_millis(25)), Some(120))
            .with_prflx_acceptance_min_wait(Some(Duration::ZERO))
            .with_relay_acceptance_min_wait(Some(if config.relay_only {
                Duration::ZERO
            } else {
                RELAY_GRACE
            }))
            .with_ice_timeouts(
                Some(config.disconnected_timeout),
                Some(config.failed_timeout),
                Some(CONSENT_INTERVAL),
            )
            .with_multicast_dns_mode(super::mdns::mode())
            .build();
        let PreparedIce {
            servers: ice_servers,
            bridges: turn_bridges,
        } = ice;
        let policy = if config.relay_only {
            RTCIceTransportPolicy::Relay
        } else {
            RTCIceTransportPolicy::All
        };
        let (audio_tx, audio_rx) = mpsc::channel(REMOTE_AUDIO_QUEUE);
        let (gathered_tx, gathered) = watch::channel(0);
        let handler = Arc::new(Handler {
            events,
            audio: audio_tx,
            mid: "0".into(),
            trickle: !config.no_trickle,
            gathered: gathered_tx,
        });
        let udp_addrs: Vec<String> = config
            .bind
            .iter()
            .map(|ip| SocketAddr::new(*ip, 0).to_string())
            .collect();
        let mut rtc_config = RTCConfigurationBuilder::new()
            .with_ice_servers(ice_servers)
            .with_ice_transport_policy(policy);
        // The installation's own certificate, so peers see the same fingerprint every call;
        // without one webrtc-rs makes a fresh certificate per connection.
        if let Some(identity) = &config.identity {
            rtc_config = rtc_config.with_certificates(vec![identity.certificate().clone()]);
        }
        let builder = PeerConnectionBuilder::new()
            .with_configuration(rtc_config.build())
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .with_handler(handler)
            .with_udp_addrs(udp_addrs);
        // webrtc-rs spawns the connection's driver (and binds its sockets) on the runtime
        // that builds it, so building on the driver thread puts the driver there.
        let drivers = config
            .driver_thread
            .then(super::driver_thread::handle)
            .flatten();
        let pc = match drivers {
            Some(drivers) => drivers
                .spawn(async move { builder.build().await })
                .await
                .map_err(setup)?,
            None => builder.build().await,
        }
        .map_err(setup)?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);

        let ssrc = rand::random::<u32>();
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            "voicecall".to_owned(),
            "voice".to_owned(),
            "voice".to_owned(),
            RtpCodecKind::Audio,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec: opus_codec(config.ask_for_dtx),
                ..Default::default()
            }],
        )));
        let sender = pc
            .add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
            .await
            .map_err(setup)?;
        Ok(Self {
            pc,
            track,
            sender,
            ssrc,
            pending_remote: Vec::new(),
            remote_applied: false,
            remote_audio: Some(audio_rx),
            peer_reports: Some(reports_rx),
            no_trickle: config.no_trickle,
            gathered,
            goodbye_sent,
            _turn_bridges: turn_bridges,
        })
    }

    /// Creates our offer and applies it locally; candidates then trickle as events.
    pub async fn create_offer(&self) -> Result<LocalDescription, RtcError> {
        let offer = self.pc.create_offer(None).await.map_err(op)?;
        self.set_local(SdpKind::Offer, offer).await
    }

    /// Applies our description. With trickle ICE it can go out at once; without, once
    /// gathering has finished, with every candidate in it.
    async fn set_local(
        &self,
        kind: SdpKind,
        desc: RTCSessionDescription,
    ) -> Result<LocalDescription, RtcError> {
        let gathered_before = *self.gathered.borrow();
        self.pc
            .set_local_description(desc.clone())
            .await
            .map_err(op)?;
        let ready = SessionDescription {
            kind,
            sdp: desc.sdp,
        };
        if !self.no_trickle {
            return Ok(LocalDescription::Ready(ready));
        }
        Ok(LocalDescription::AfterGathering(PendingDescription {
            pc: Arc::clone(&self.pc),
            gathered: self.gathered.clone(),
            gathered_before,
            so_far: ready,
        }))
    }

    /// An offer with fresh ICE credentials, to recover a broken path without redialling.
    pub async fn create_restart_offer(&self) -> Result<LocalDescription, RtcError> {
        self.pc.restart_ice().await.map_err(op)?;
        self.create_offer().await
    }

    /// Applies the peer's description. For an offer, returns our answer.
    pub async fn apply_remote(
        &mut self,
        desc: &SessionDescription,
    ) -> Result<Option<LocalDescription>, RtcError> {
        let remote = match desc.kind {
            SdpKind::Offer => RTCSessionDescription::offer(desc.sdp.clone()),
            SdpKind::Answer => RTCSessionDescription::answer(desc.sdp.clone()),
        }
        .map_err(|e| RtcError::Remote {
            what: "session description",
            reason: e.to_string(),
        })?;
        self.pc
            .set_remote_description(remote)
            .await
            .map_err(|e| RtcError::Remote {
                what: "session description",
                reason: e.to_string(),
            })?;
        self.remote_applied = true;
        for candidate in std::mem::take(&mut self.pending_remote) {
            self.add_candidate_now(candidate).await;
        }
        if desc.kind == SdpKind::Answer {
            return Ok(None);
        }
        let answer = self.pc.create_answer(None).await.map_err(op)?;
        self.set_local(SdpKind::Answer, answer).await.map(Some)
    }

    /// Adds a trickled remote candidate, or holds it until the remote description is set.
    pub async fn add_remote_candidate(&mut self, candidate: &IceCandidate) {
        if candidate.candidate.is_empty() {
            return; // end-of-candidates: webrtc-rs needs no notice
        }
        let init = RTCIceCandidateInit {
            candidate: candidate.candidate.clone(),
            sdp_mid: candidate.mid.clone(),
            sdp_mline_index: candidate.mline_index,
            ..Default::default()
        };
        if self.remote_applied {
            self.add_candidate_now(init).await;
        } else {
            self.pending_remote.push(init);
        }
    }

    async fn add_candidate_now(&self, init: RTCIceCandidateInit) {
        // A bad candidate from the peer costs that candidate only, never the call.
        if let Err(err) = self.pc.add_ice_candidate(init.clone()).await {
            tracing::warn!(candidate = %init.candidate, error = %err, "ignoring remote candidate");
        }
    }

    /// The received-audio queue; the receive path takes it once.
    pub fn take_remote_audio(&mut self) -> Option<mpsc::Receiver<RemoteRtp>> {
        self.remote_audio.take()
    }

    /// The peer's feedback about our audio; the media pipeline takes it once.
    pub fn take_peer_reports(&mut self) -> Option<mpsc::Receiver<PeerReport>> {
        self.peer_reports.take()
    }

    /// A handle the media pipeline writes encoded frames through.
    pub async fn audio_writer(&self) -> Result<AudioTrackWriter, RtcError> {
        let params = self.sender.get_parameters().await.map_err(op)?;
        let payload_types = negotiated_payload_types(&params.rtp_parameters.codecs)
            .ok_or_else(|| RtcError::Operation("no audio codec was negotiated".into()))?;
        Ok(AudioTrackWriter {
            track: Arc::clone(&self.track),
            ssrc: self.ssrc,
            payload_types,
            peer_asks_for_dtx: self
                .pc
                .remote_description()
                .await
                .is_some_and(|remote| asks_for_dtx(&remote.sdp)),
            sequence: Arc::new(AtomicU16::new(rand::random())),
        })
    }

    pub async fn stats(&self) -> RtcStats {
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        let mut summary = stats::summarise(&report);
        if let Some((local, remote)) = self.selected_path().await {
            summary.local_candidate = Some(local);
            summary.remote_candidate = Some(remote);
        }
        summary
    }

    /// The candidate types of the selected pair. A remote candidate first met in a
    /// connectivity check is peer-reflexive until its trickled twin arrives; like browsers,
    /// report the type of the signalled candidate with the same address once there is one.
    async fn selected_path(&self) -> Option<(CandidateKind, CandidateKind)> {
        let dtls = self.sender.transport().await.ok()??;
        let ice = dtls.ice_transport();
        let pair = ice.get_selected_candidate_pair().await.ok()??;
        let (local, remote) = (pair.local(), pair.remote());
        let mut remote_kind = candidate_kind(remote.typ);
        if remote_kind == CandidateKind::Prflx
            && let Ok(signalled) = ice.get_remote_candidates().await
            && let Some(twin) = signalled.iter().find(|c| {
                c.address == remote.address
                    && c.port == remote.port
                    && candidate_kind(c.typ) != CandidateKind::Prflx
            })
        {
            remote_kind = candidate_kind(twin.typ);
        }
        Some((candidate_kind(local.typ), remote_kind))
    }

    /// Tells the peer over the media path why we leave (an RTCP BYE on our stream), in time
    /// for a `close` right after. Nothing to do before our track is bound (no media path).
    pub async fn say_goodbye(&self, goodbye: Goodbye) {
        let bye = rtc::rtcp::goodbye::Goodbye {
            sources: vec![self.ssrc],
            reason: Bytes::from_static(goodbye.reason().as_bytes()),
        };
        if let Err(err) = self.track.write_rtcp(vec![Box::new(bye)]).await {
            tracing::debug!(error = %err, "no goodbye over the media path");
            return;
        }
        let mut sent = self.goodbye_sent.clone();
        if tokio::time::timeout(GOODBYE_WAIT, sent.wait_for(|s| *s))
            .await
            .is_err()
        {
            tracing::warn!("the goodbye did not reach the connection before it closed");
        }
    }

    pub async fn close(&self) {
        if let Err(err) = self.pc.close().await {
            tracing::debug!(error = %err, "closing peer connection");
        }
    }
}

/// Turns configured ICE servers into what webrtc-rs can use: TURN over TCP and over TLS
/// go through a local [`TurnTcpBridge`], since its TURN client only speaks UDP.
async fn prepare_ice_servers(config: &RtcConfig) -> (Vec<RTCIceServer>, Vec<TurnTcpBridge>) {
    let bridge_ip = config
        .bind
        .iter()
        .copied()
        .find(|ip| !ip.is_unspecified())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let mut servers = Vec::new();
    let mut bridges = Vec::new();
    for server in &config.ice_servers {
        let mut urls = Vec::new();
        for url in &server.urls {
            match TurnUrl::parse(url) {
                Some(turn) if turn.tcp => match turn.bridge(bridge_ip, &config.tls_roots).await {
                    Ok(bridge) => {
                        urls.push(format!("turn:{}?transport=udp", bridge.local_addr()));
                        bridges.push(bridge);
                    }
                    Err(err) => tracing::warn!(%url, error = %err, "TURN over TCP/TLS unavailable"),
                },
                _ => urls.push(url.clone()),
            }
        }
        if !urls.is_empty() {
            servers.push(RTCIceServer {
                urls,
                username: server.username.clone(),
                credential: server.credential.clone(),
            });
        }
    }
    (servers, bridges)
}

/// Our offer or answer, applied locally.
pub enum LocalDescription {
    /// Trickle ICE: it goes out now and the candidates follow it.
    Ready(SessionDescription),
    /// Without trickle ICE it must carry every candidate, so it waits for gathering to
    /// finish (up to a few seconds: an unreachable STUN/TURN server never answers).
    AfterGathering(PendingDescription),
}

impl LocalDescription {
    /// The description to send: at once with trickle ICE, after gathering without it.
    pub async fn into_ready(self) -> SessionDescription {
        match self {
            LocalDescription::Ready(desc) => desc,
            LocalDescription::AfterGathering(pending) => pending.complete().await,
        }
    }
}

/// A description waiting for candidate gathering. Holds no borrow of the peer, so it can
/// be awaited in a task of its own; dropping it gives up waiting and nothing else.
pub struct PendingDescription {
    pc: Arc<dyn PeerConnection>,
    gathered: watch::Receiver<u64>,
    gathered_before: u64,
    so_far: SessionDescription,
}

impl PendingDescription {
    /// The description with every candidate gathered by now (what there is after
    /// [`GATHERING_WAIT`]).
    pub async fn complete(self) -> SessionDescription {
        let Self {
            pc,
            mut gathered,
            gathered_before,
            mut so_far,
        } = self;
        let finished = async move { gathered.wait_for(|n| *n > gathered_before).await.is_ok() };
        if !tokio::time::timeout(GATHERING_WAIT, finished)
            .await
            .unwrap_or(false)
        {
            tracing::warn!("candidate gathering did not finish; sending what we have");
        }
        if let Some(full) = pc.local_description().await {
            so_far.sdp = full.sdp;
        }
        so_far
    }
}

/// The parts of a `turn:`/`turns:` URL (RFC 7065) that decide how to reach it.
#[derive(Debug, PartialEq, Eq)]
struct TurnUrl {
    host: String,
    port: u16,
    tcp: bool,
    secure: bool,
}

impl TurnUrl {
    fn parse(url: &str) -> Option<Self> {
        let (secure, rest) = if let Some(rest) = url.strip_prefix("turns:") {
            (true, rest)
        } else {
            (false, url.strip_prefix("turn:")?)
        };
        let (hostport, query) = rest.split_once('?').unwrap_or((rest, ""));
        let tcp = secure || query.split('&').any(|kv| kv == "transport=tcp");
        let default_port = if secure { 5349 } else { 3478 };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || hostport.starts_with('[') => {
                (host, port.parse().ok()?)
            }
            _ => (hostport, default_port),
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        (!host.is_empty()).then_some(Self {
            host,
            port,
            tcp,
            secure,
        })
    }

    async fn bridge(
        &self,
        bind_ip: IpAddr,
        tls_roots: &[Vec<u8>],
    ) -> std::io::Result<TurnTcpBridge> {
        let lookup = tokio::net::lookup_host((self.host.as_str(), self.port));
        let server = tokio::time::timeout(DNS_WAIT, lookup)
            .await
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "no DNS answer for {} within {} s",
                        self.host,
                        DNS_WAIT.as_secs()
                    ),
                )
            })??
            .next()
            .ok_or_else(|| std::io::Error::other(format!("{} has no address", self.host)))?;
        let tls = if self.secure {
            Some(TurnTls::new(&self.host, tls_roots)?)
        } else {
            None
        };
        TurnTcpBridge::start(bind_ip, server, tls).await
    }
}

#[cfg(test)]
mod tests {
    use super::TurnUrl;

    #[test]
    fn turn_urls_parse() {
        let t = |host: &str, port, tcp, secure| TurnUrl {
            host: host.into(),
            port,
            tcp,
            secure,
        };
        let cases = [
            (
                "turn:10.0.0.1:3478?transport=tcp",
                t("10.0.0.1", 3478, true, false),
            ),
            (
                "turn:turn.example.org?transport=udp",
                t("turn.example.org", 3478, false, false),
            ),
            (
                "turns:turn.example.org:443",
                t("turn.example.org", 443, true, true),
            ),
            ("turn:[::1]:3478?transport=tcp", t("::1", 3478, true, false)),
        ];
        for (url, expected) in cases {
            assert_eq!(TurnUrl::parse(url), Some(expected), "{url}");
        }
        assert_eq!(TurnUrl::parse("stun:x:1"), None);
        assert_eq!(TurnUrl::parse("turn:host:notaport"), None);
    }
}

/// `red/48000/2` whose fmtp names Opus for both of its (at most two) blocks, like Chromium.
fn red_codec() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_RED.to_owned(),
            clock_rate: 48_000,
            channels: 2,
            sdp_fmtp_line: format!("{OPUS_PAYLOAD_TYPE}/{OPUS_PAYLOAD_TYPE}"),
            rtcp_feedback: vec![],
        },
        payload_type: RED_PAYLOAD_TYPE,
    }
}

/// The payload types audio goes out with: Opus, and RED when the peer negotiated it
/// (a peer that did not offer RED gets plain Opus only).
pub(crate) fn negotiated_payload_types(codecs: &[RTCRtpCodecParameters]) -> Option<PayloadTypes> {
    let is =
        |c: &&RTCRtpCodecParameters, mime: &str| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime);
    let opus = codecs.iter().find(|c| is(c, MIME_TYPE_OPUS))?.payload_type;
    let red = codecs
        .iter()
        .find(|c| is(c, MIME_TYPE_RED))
        .map(|c| c.payload_type);
    Some(PayloadTypes { opus, red })
}

/// Sends audio on our track as RTP packets the media pipeline has laid out (payload type,
/// timestamp, marker); this numbers them. Cheap to clone: clones share the numbering.
#[derive(Clone)]
pub struct AudioTrackWriter {
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    payload_types: PayloadTypes,
    peer_asks_for_dtx: bool,
    sequence: Arc<AtomicU16>,
}

impl AudioTrackWriter {
    pub fn payload_types(&self) -> PayloadTypes {
        self.payload_types
    }

    /// The peer's description asked for Opus DTX (`usedtx=1`).
    pub fn peer_asks_for_dtx(&self) -> bool {
        self.peer_asks_for_dtx
    }

    pub async fn write_rtp(
        &self,
        payload_type: u8,
        timestamp: u32,
        marker: bool,
        payload: Bytes,
    ) -> Result<(), RtcError> {
        let packet = rtc::rtp::Packet {
            header: rtc::rtp::header::Header {
                version: 2,
                marker,
                payload_type,
                sequence_number: self.sequence.fetch_add(1, Ordering::Relaxed),
                timestamp,
                ssrc: self.ssrc,
                ..Default::default()
            },
            payload,
        };
        self.track.write_rtp(packet).await.map_err(op)
    }
}
