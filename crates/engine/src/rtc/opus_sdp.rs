//! How our Opus track is described in SDP. The fmtp line is what the peer's encoder reads:
//! `useinbandfec=1` makes Chromium put in-band FEC (LBRR) into its packets once our reports
//! show loss; the receive path decodes it when a packet is missing.

use rtc::peer_connection::configuration::media_engine::MIME_TYPE_OPUS;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodecParameters};

/// The Opus payload type `register_default_codecs` uses; RED's fmtp names it.
pub(super) const OPUS_PAYLOAD_TYPE: u8 = 111;

/// What we ask of the peer's Opus encoder: frames of 10 ms at least, and in-band FEC.
pub(super) const OPUS_FMTP: &str = "minptime=10;useinbandfec=1";

/// `opus/48000/2` with our fmtp. SDP always declares two channels, even for a mono encoder.
pub(super) fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: OPUS_FMTP.to_owned(),
        rtcp_feedback: vec![],
    }
}

/// Our Opus codec for the media engine, registered before webrtc-rs' defaults (the first
/// registration of a payload type wins), so offers and answers carry our fmtp.
pub(super) fn opus_codec_parameters() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: opus_codec(),
        payload_type: OPUS_PAYLOAD_TYPE,
    }
}
