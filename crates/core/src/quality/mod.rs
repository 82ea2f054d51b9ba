//! What a call's statistics are, and the figures shown from them. The engine fills these
//! in; the shells only format them.

mod connection;

pub use connection::{POOR_JITTER_MS, POOR_LOSS_PERCENT, POOR_RTT_MS, Quality};

use serde::Serialize;

use crate::ice::CandidateKind;
use crate::protection::{ProtectionLevel, RedPlan};

/// The numbers a call screen or a `--json` consumer wants.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RtcStats {
    pub local_candidate: Option<CandidateKind>,
    pub remote_candidate: Option<CandidateKind>,
    pub rtt_ms: Option<f64>,
    pub packets_sent: u64,
    pub bytes_sent: u64,
    pub packets_received: u64,
    pub bytes_received: u64,
    pub packets_lost: i64,
    /// Interarrival jitter in milliseconds (webrtc-rs reports RTP clock units).
    pub jitter_ms: f64,
}

/// The loss protection our sender applies, and the peer's reports it follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct SendProtection {
    pub level: ProtectionLevel,
    /// Distances (in frames) of the earlier frames each RED packet repeats.
    pub red: RedPlan,
    /// Opus in-band FEC's expected loss (0: no FEC).
    pub fec_loss_pct: u8,
    pub bitrate_bps: u32,
    /// Feedback from the peer received so far (receiver reports and loss runs).
    pub peer_reports: u64,
    /// Over the last few seconds of reports: the share of our packets lost, the mean
    /// length of loss bursts (packets), and the peer's interarrival jitter.
    pub peer_loss_pct: f64,
    pub peer_mean_burst: f64,
    pub peer_jitter_ms: f64,
}

/// What one call's audio did, in 20 ms frames, and the buffer gauges at snapshot time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct MediaSummary {
    pub frames_captured: u64,
    pub frames_sent: u64,
    pub packets_received: u64,
    pub frames_decoded: u64,
    pub frames_fec: u64,
    /// Lost frames rebuilt from a later packet's RED redundancy.
    pub frames_red: u64,
    /// Comfort noise played while the peer was in DTX.
    pub frames_comfort_noise: u64,
    /// Frames we sent inside RED, and silent frames DTX left unsent.
    pub frames_sent_red: u64,
    pub frames_unsent_dtx: u64,
    pub frames_concealed: u64,
    pub frames_silent: u64,
    /// Frames the jitter buffer dropped to bring its delay back down (each shortens the
    /// audio by 20 ms), and frames it concealed while waiting for a packet that was late
    /// (each lengthens it by 20 ms): how often playout jumped in whole frames.
    pub frames_skipped: u64,
    pub frames_held: u64,
    /// Padding-only packets the peer spent sequence numbers on (Chromium's bandwidth
    /// probes); taken out of the sequence, never counted as loss.
    pub packets_padding: u64,
    /// 48 kHz samples the receiver's time-stretching cut out of decoded speech to bring the
    /// delay down (accelerate) and repeated to stretch a short buffer (pre-emptive expand):
    /// the smooth alternative to skipping and holding whole frames.
    pub samples_accelerated: u64,
    pub samples_expanded: u64,
    /// Times the stream ran dry and the buffer refilled from silence.
    pub stalls: u64,
    pub send_errors: u64,
    pub jitter_target_ms: u64,
    pub jitter_depth_ms: u64,
    pub playout_queue_ms: u64,
    /// Output device periods, since the first received audio, that found the playout
    /// queue short and played silence for the rest (the pump woke too late to refill it),
    /// and how many 48 kHz samples of silence that put into the call.
    pub output_underruns: u64,
    pub output_underrun_samples: u64,
    /// Fills of the playout queue, since the first received audio, that finished after
    /// the speaker callback they were for was due: the pump itself woke or ran late. An
    /// underrun without one came from the device (a callback more than a period late).
    pub late_fills: u64,
    pub protection: SendProtection,
}
