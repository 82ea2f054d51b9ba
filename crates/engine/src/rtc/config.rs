use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use voicecall_core::ice::IceServer;

use super::identity::DtlsIdentity;

/// What we ask a peer's Opus encoder for: the rate our own encoder sends on a clean line.
pub const OPUS_REQUESTED_BPS: u32 = 40_000;

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
    /// The Opus bitrate our SDP asks the peer's encoder for (fmtp `maxaveragebitrate`,
    /// RFC 7587); `None`: the peer's own default. Chromium's is 32 kb/s (about 27 kb/s of
    /// speech with VBR), and it spends the same budget on in-band FEC when we report
    /// loss; we send 40 kb/s ourselves on a clean line.
    pub opus_max_average_bitrate: Option<u32>,
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
            opus_max_average_bitrate: Some(OPUS_REQUESTED_BPS),
            identity: None,
        }
    }
}
