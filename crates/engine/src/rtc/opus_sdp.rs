//! How our Opus track is described in SDP. The fmtp line is what the peer's encoder reads:
//! `useinbandfec=1` makes Chromium put in-band FEC (LBRR) into its packets once our reports
//! show loss; the receive path decodes it when a packet is missing. We send DTX only to a
//! peer that asks for it: `usedtx=1` (RFC 7587 §6.1), or `x-voicecall-dtx=1`, which other
//! voicecall clients say. Chromium does not ask, and its NetEq shortened 46–52 ms of our
//! speech per call by acceleration after our DTX pauses (docs/quality.md). We do not say
//! `usedtx=1` ourselves: Chromium would then send us DTX, which our receiver plays worse
//! than its continuous stream (measured, docs/quality.md); browsers ignore the private key.

use rtc::peer_connection::configuration::media_engine::MIME_TYPE_OPUS;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodecParameters};

/// The Opus payload type `register_default_codecs` uses; RED's fmtp names it.
pub(super) const OPUS_PAYLOAD_TYPE: u8 = 111;

/// What we ask of the peer's Opus encoder: frames of 10 ms at least, and in-band FEC.
pub(super) const OPUS_FMTP: &str = "minptime=10;useinbandfec=1";
/// The same, and DTX from another voicecall client: silence costs it nothing to send.
pub(super) const OPUS_FMTP_WITH_DTX: &str = "minptime=10;useinbandfec=1;x-voicecall-dtx=1";
/// The same, and DTX from any peer (RFC 7587's key, which browsers follow).
pub(super) const OPUS_FMTP_WITH_USEDTX: &str = "minptime=10;useinbandfec=1;usedtx=1";
/// The fmtp keys that ask for DTX: the standard one, and the one voicecall clients send.
const DTX_KEYS: [&str; 2] = ["usedtx", "x-voicecall-dtx"];

/// Which peers our Opus fmtp asks to send us DTX.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DtxRequest {
    /// None: the fmtp before DTX was asked for (the comparison baseline).
    Never,
    /// Other voicecall clients (`x-voicecall-dtx=1`); browsers ignore the key.
    #[default]
    FromVoicecall,
    /// Every peer (`usedtx=1`): Chromium then sends us DTX too.
    FromAnyone,
}

impl DtxRequest {
    fn fmtp(self) -> &'static str {
        match self {
            Self::Never => OPUS_FMTP,
            Self::FromVoicecall => OPUS_FMTP_WITH_DTX,
            Self::FromAnyone => OPUS_FMTP_WITH_USEDTX,
        }
    }
}

/// `opus/48000/2` with our fmtp. SDP always declares two channels, even for a mono encoder.
pub(super) fn opus_codec(dtx: DtxRequest) -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: dtx.fmtp().to_owned(),
        rtcp_feedback: vec![],
    }
}

/// Our Opus codec for the media engine, registered before webrtc-rs' defaults (the first
/// registration of a payload type wins), so offers and answers carry our fmtp.
pub(super) fn opus_codec_parameters(dtx: DtxRequest) -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: opus_codec(dtx),
        payload_type: OPUS_PAYLOAD_TYPE,
    }
}

/// Whether `sdp` (the peer's description) asks for Opus DTX: `usedtx=1` or
/// `x-voicecall-dtx=1` in the fmtp of a payload type mapped to `opus/48000`. Absent means
/// no (RFC 7587 §6.1's default). Read here rather than through the `sdp` crate: its fmtp
/// parser drops a parameter list with spaces in it, as in RFC 7587's own example
/// (`...; useinbandfec=1; usedtx=0`).
pub(crate) fn asks_for_dtx(sdp: &str) -> bool {
    let lines = || sdp.lines().map(str::trim);
    let opus_types: Vec<&str> = lines()
        .filter_map(|l| l.strip_prefix("a=rtpmap:"))
        .filter_map(|rest| rest.split_once(' '))
        .filter(|(_, codec)| codec.to_ascii_lowercase().starts_with("opus/48000"))
        .map(|(pt, _)| pt)
        .collect();
    lines()
        .filter_map(|l| l.strip_prefix("a=fmtp:"))
        .filter_map(|rest| rest.split_once(' '))
        .filter(|(pt, _)| opus_types.contains(pt))
        .any(|(_, params)| {
            params.split(';').any(|p| {
                p.trim().split_once('=').is_some_and(|(k, v)| {
                    DTX_KEYS.iter().any(|d| k.trim().eq_ignore_ascii_case(d)) && v.trim() == "1"
                })
            })
        })
}
