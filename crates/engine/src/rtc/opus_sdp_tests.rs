//! What our SDP asks of the peer's Opus encoder, in our offer and in our answer to
//! Chromium's offer: in-band FEC (without `useinbandfec=1` Chromium sends no LBRR, and a
//! lost packet can only be concealed) and DTX; and what we read of the peer's: whether it
//! asks for DTX.

use std::net::{IpAddr, Ipv4Addr};

use tokio::sync::mpsc;

use super::opus_sdp::{DtxRequest, asks_for_dtx};
use super::{LocalDescription, RtcConfig, RtcPeer};
use voicecall_core::signaling::message::{SdpKind, SessionDescription};

/// The offer of Debian's chromium 156 for one audio transceiver (`pc.addTransceiver('audio')`),
/// as `createOffer` gave it.
const CHROMIUM_OFFER: &str = "\
v=0\r\n\
o=- 7065764690485625856 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0\r\n\
a=extmap-allow-mixed\r\n\
a=msid-semantic: WMS\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n\
c=IN IP4 0.0.0.0\r\n\
a=rtcp:9 IN IP4 0.0.0.0\r\n\
a=ice-ufrag:g0/x\r\n\
a=ice-pwd:o8h6PUO6EkFG0EKST3ulRwgN\r\n\
a=ice-options:trickle\r\n\
a=fingerprint:sha-256 EF:5E:0A:A5:40:DA:EE:25:F0:67:2D:72:A3:26:96:5C:DD:CD:B7:A0:F0:B7:A5:FA:E6:DA:C8:87:71:3F:77:A0\r\n\
a=setup:actpass\r\n\
a=mid:0\r\n\
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n\
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n\
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
a=sendrecv\r\n\
a=msid:- f14e9280-129d-45fd-9ecd-7cb08a23da20\r\n\
a=rtcp-mux\r\n\
a=rtcp-rsize\r\n\
a=rtcp-xr:rcvr-rtt=all\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=rtcp-fb:111 transport-cc\r\n\
a=fmtp:111 minptime=10;useinbandfec=1\r\n\
a=rtpmap:63 red/48000/2\r\n\
a=fmtp:63 111/111\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:13 CN/8000\r\n\
a=rtpmap:110 telephone-event/48000\r\n\
a=rtpmap:126 telephone-event/8000\r\n\
a=ssrc:452832568 cname:RkY9nLcg7XNhzQhd\r\n\
a=ssrc:452832568 msid:- f14e9280-129d-45fd-9ecd-7cb08a23da20\r\n\
";

fn config() -> RtcConfig {
    RtcConfig {
        bind: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        ..RtcConfig::default()
    }
}

fn sdp(description: LocalDescription) -> String {
    match description {
        LocalDescription::Ready(desc) => desc.sdp,
        LocalDescription::AfterGathering(_) => panic!("trickle ICE sends descriptions at once"),
    }
}

/// The parameters of the Opus payload type's `a=fmtp` line, sorted.
fn opus_fmtp(sdp: &str) -> Vec<String> {
    let opus_pt = sdp
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("a=rtpmap:")?;
            let (pt, codec) = rest.split_once(' ')?;
            codec
                .to_ascii_lowercase()
                .starts_with("opus/")
                .then(|| pt.to_owned())
        })
        .unwrap_or_else(|| panic!("no Opus in\n{sdp}"));
    let prefix = format!("a=fmtp:{opus_pt} ");
    let line = sdp
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no fmtp for Opus in\n{sdp}"));
    let mut params: Vec<String> = line.trim().split(';').map(str::to_owned).collect();
    params.sort();
    params
}

async fn offer(config: &RtcConfig) -> String {
    let (events, _events) = mpsc::unbounded_channel();
    let peer = RtcPeer::new(config, events).await.expect("peer connection");
    let offer = sdp(peer.create_offer().await.expect("offer"));
    peer.close().await;
    offer
}

async fn answer_to_chromium(config: &RtcConfig) -> String {
    answer_to(config, CHROMIUM_OFFER).await
}

async fn answer_to(config: &RtcConfig, offer: &str) -> String {
    answer_and_dtx(config, offer).await.0
}

/// Our answer to `offer`, and whether our sender then takes the peer to ask for DTX.
async fn answer_and_dtx(config: &RtcConfig, offer: &str) -> (String, bool) {
    let (events, _events) = mpsc::unbounded_channel();
    let mut peer = RtcPeer::new(config, events).await.expect("peer connection");
    let chromium = SessionDescription {
        kind: SdpKind::Offer,
        sdp: offer.to_owned(),
    };
    let answer = peer
        .apply_remote(&chromium)
        .await
        .expect("chromium's offer applies")
        .expect("an offer is answered");
    let answer = sdp(answer);
    let asks = peer
        .audio_writer()
        .await
        .expect("audio was negotiated")
        .peer_asks_for_dtx();
    peer.close().await;
    (answer, asks)
}

/// Our Opus parameters, sorted like `opus_fmtp`'s.
fn ours() -> Vec<String> {
    vec![
        "minptime=10".to_owned(),
        "useinbandfec=1".to_owned(),
        "x-voicecall-dtx=1".to_owned(),
    ]
}

#[tokio::test]
async fn our_offer_asks_for_in_band_fec() {
    let sdp = offer(&config()).await;
    assert_eq!(opus_fmtp(&sdp), ours(), "{sdp}");
}

#[tokio::test]
async fn our_answer_to_chromium_asks_for_in_band_fec() {
    let sdp = answer_to_chromium(&config()).await;
    assert_eq!(opus_fmtp(&sdp), ours(), "{sdp}");
    // Chromium's RED stays negotiated: it is what we send to chromium on lossy lines.
    assert!(sdp.contains("red/48000/2"), "{sdp}");
}

/// Each side's Opus parameters say what it wants to receive: webrtc-rs answered with a copy
/// of the offerer's, so an offer without `useinbandfec=1` got an answer asking for no FEC.
#[tokio::test]
async fn our_answer_asks_for_in_band_fec_whatever_the_offer_says() {
    let offer = CHROMIUM_OFFER.replace(
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=fmtp:111 minptime=10;usedtx=1",
    );
    assert_ne!(offer, CHROMIUM_OFFER);
    let sdp = answer_to(&config(), &offer).await;
    assert_eq!(opus_fmtp(&sdp), ours(), "{sdp}");
}

/// The fmtp before DTX was asked for, kept for the comparison baseline (`--dtx-regardless`).
#[tokio::test]
async fn without_asking_for_dtx_the_fmtp_is_the_old_one() {
    let config = RtcConfig {
        ask_for_dtx: DtxRequest::Never,
        ..config()
    };
    let sdp = offer(&config).await;
    assert_eq!(opus_fmtp(&sdp), ["minptime=10", "useinbandfec=1"], "{sdp}");
}

/// Chromium does not ask for DTX, so it gets none from us; a peer that asks gets it.
#[tokio::test]
async fn our_sender_reads_whether_the_peer_asks_for_dtx() {
    let (_, asks) = answer_and_dtx(&config(), CHROMIUM_OFFER).await;
    assert!(!asks, "Chromium's offer has no usedtx=1");
    let offer = CHROMIUM_OFFER.replace(
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1",
    );
    let (_, asks) = answer_and_dtx(&config(), &offer).await;
    assert!(asks, "usedtx=1 in the Opus fmtp");
}

/// `--ask-usedtx`: the standard key, which Chromium follows.
#[tokio::test]
async fn asking_everyone_for_dtx_says_usedtx() {
    let config = RtcConfig {
        ask_for_dtx: DtxRequest::FromAnyone,
        ..config()
    };
    let sdp = answer_to_chromium(&config).await;
    assert_eq!(
        opus_fmtp(&sdp),
        ["minptime=10", "usedtx=1", "useinbandfec=1"],
        "{sdp}"
    );
}

#[tokio::test]
async fn our_own_offer_asks_for_dtx() {
    assert!(asks_for_dtx(&offer(&config()).await));
    let old = RtcConfig {
        ask_for_dtx: DtxRequest::Never,
        ..config()
    };
    assert!(!asks_for_dtx(&offer(&old).await));
}

#[test]
fn usedtx_counts_only_as_one_on_opus() {
    let with = |fmtp: &str| CHROMIUM_OFFER.replace("a=fmtp:111 minptime=10;useinbandfec=1", fmtp);
    assert!(!asks_for_dtx(CHROMIUM_OFFER));
    assert!(asks_for_dtx(&with("a=fmtp:111 minptime=10; usedtx=1")));
    // RFC 7587 §6's example, spaces and all (the `sdp` crate's parser drops it).
    let rfc = "a=fmtp:111 maxplaybackrate=16000; sprop-maxcapturerate=16000; \
               maxaveragebitrate=20000; stereo=1; useinbandfec=1; usedtx=";
    assert!(!asks_for_dtx(&with(&format!("{rfc}0"))));
    assert!(asks_for_dtx(&with(&format!("{rfc}1"))));
    assert!(asks_for_dtx(&with("a=fmtp:111 USEDTX=1;useinbandfec=1")));
    assert!(!asks_for_dtx(&with("a=fmtp:111 minptime=10;usedtx=0")));
    assert!(!asks_for_dtx(&with("a=fmtp:111 minptime=10;usedtx=10")));
    assert!(asks_for_dtx(&with(
        "a=fmtp:111 minptime=10;x-voicecall-dtx=1"
    )));
    // On another payload type (here RED's), it is not about Opus.
    let on_red = CHROMIUM_OFFER.replace("a=fmtp:63 111/111", "a=fmtp:63 111/111;usedtx=1");
    assert!(!asks_for_dtx(&on_red));
    assert!(!asks_for_dtx(""));
    assert!(
        !asks_for_dtx("a=fmtp:111 usedtx=1\r\n"),
        "no rtpmap: not known to be Opus"
    );
}
