use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use voicecall_core::ice::IceServer;

use super::identity::DtlsIdentity;
use super::opus_sdp::DtxRequest;

#[derive(Debug, Clone, PartialEq)]
pub struct RtcConfig {
    pub ice_servers: Vec<IceServer>,
    /// Only use TURN relays (hides our addresses from the peer).
    pub relay_only: bool,
    /// Local addresses to gather host candidates on. `0.0.0.0` means every interface;
    /// tests pin `127.0.0.1` so nothing leaves the machine.
    pub bind: Vec<IpAddr>,
    /// How long ICE may go without traffic before reporting `disconnected`.
    pub disconnected_timeout: Duration,
    /// How long after `disconnected` before `failed`.
    pub failed_timeout: Duration,
    /// Offer and accept RFC 2198 redundancy (`red/48000/2` over Opus) besides plain Opus.
    pub red: bool,
    /// The seed client's way: wait for candidate gathering to finish, send the description
    /// with every candidate in it and trickle none. Slower to connect; kept for comparison
    /// (the setup-time benchmark) and for peers that cannot take trickled candidates.
    pub no_trickle: bool,
    /// Extra CA certificates (PEM) trusted for TURN over TLS besides the system's, for a
    /// TURN server with a private CA.
    pub tls_roots: Vec<Vec<u8>>,
    /// This installation's DTLS certificate (`DtlsIdentity::load_or_create`); `None`: a
    /// fresh one per call.
    pub identity: Option<DtlsIdentity>,
    /// Drive the connection on our raised webrtc thread (`driver_thread`), so a written
    /// packet leaves when written; false: on the caller's runtime (the comparison baseline).
    pub driver_thread: bool,
    /// Which peers our Opus fmtp asks for DTX (`opus_sdp`): by default other voicecall
    /// clients. `Never` is the fmtp before it did (the comparison baseline, with
    /// `MediaConfig::dtx_whatever_the_peer_asks`).
    pub ask_for_dtx: DtxRequest,
}

impl Default for RtcConfig {
    fn default() -> Self {
        Self {
            ice_servers: Vec::new(),
            relay_only: false,
            bind: vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED)],
            // 75 missing 20 ms frames: long enough not to flap under heavy loss, short
            // enough that an ICE restart brings audio back within ~2 s of a path change.
            disconnected_timeout: Duration::from_millis(1500),
            failed_timeout: Duration::from_secs(5),
            no_trickle: false,
            tls_roots: Vec::new(),
            red: true,
            identity: None,
            driver_thread: true,
            ask_for_dtx: DtxRequest::FromVoicecall,
        }
    }
}
