use voicecall_core::ice::CandidateKind;
use voicecall_core::quality::RtcStats;
use webrtc::peer_connection::{RTCIceCandidateType, RTCStatsReport, RTCStatsReportEntry};

pub(super) fn candidate_kind(t: RTCIceCandidateType) -> CandidateKind {
    match t {
        RTCIceCandidateType::Host => CandidateKind::Host,
        RTCIceCandidateType::Srflx => CandidateKind::Srflx,
        RTCIceCandidateType::Prflx => CandidateKind::Prflx,
        RTCIceCandidateType::Relay => CandidateKind::Relay,
        _ => CandidateKind::Unknown,
    }
}

pub(super) fn summarise(report: &RTCStatsReport) -> RtcStats {
    let mut out = RtcStats::default();
    let selected = report
        .transport()
        .map(|t| t.selected_candidate_pair_id.clone())
        .unwrap_or_default();
    for pair in report.candidate_pairs() {
        if pair.stats.id != selected && !pair.nominated {
            continue;
        }
        if pair.current_round_trip_time > 0.0 {
            out.rtt_ms = Some(pair.current_round_trip_time * 1000.0);
        }
        // Candidate ids differ in form between the pair and the candidate entries
        // ("candidate:X" vs "RTCLocalIceCandidate_candidate:X"), so match on the suffix.
        for entry in report.iter() {
            match entry {
                RTCStatsReportEntry::LocalCandidate(c)
                    if c.stats.id.ends_with(&pair.local_candidate_id) =>
                {
                    out.local_candidate = Some(candidate_kind(c.candidate_type));
                }
                RTCStatsReportEntry::RemoteCandidate(c)
                    if c.stats.id.ends_with(&pair.remote_candidate_id) =>
                {
                    out.remote_candidate = Some(candidate_kind(c.candidate_type));
                }
                _ => {}
            }
        }
    }
    if out.local_candidate.is_some() && out.remote_candidate.is_none() {
        // webrtc-rs registers only signalled remote candidates in its stats; a selected
        // remote that is not among them was learned from a connectivity check.
        out.remote_candidate = Some(CandidateKind::Prflx);
    }
    for inbound in report.inbound_rtp_streams() {
        let received = &inbound.received_rtp_stream_stats;
        out.packets_received += received.packets_received;
        out.bytes_received += inbound.bytes_received;
        out.packets_lost += received.packets_lost;
        out.jitter_ms = out.jitter_ms.max(received.jitter / 48.0);
    }
    for outbound in report.outbound_rtp_streams() {
        out.packets_sent += outbound.sent_rtp_stream_stats.packets_sent;
        out.bytes_sent += outbound.sent_rtp_stream_stats.bytes_sent;
    }
    out
}
