//! Loss protection for the audio we send, decided from what the peer reports about it.
//!
//! The feedback loop, end to end:
//! - the peer's receiver records which of our packets arrived ([`LossRecorder`]) and sends,
//!   once a second over RTCP, a standard receiver report (loss fraction, jitter) and an
//!   RTCP XR Loss RLE block (RFC 3611 §4.1) whose run-length chunks are its loss bursts
//!   and the gaps between them ([`LossRuns`]);
//! - our sender keeps a few seconds of those outcomes ([`LossHistory`]) and the
//!   [`ProtectionPolicy`] turns them into a [`Protection`]: how many earlier frames each
//!   RED packet repeats and how far back ([`RedPlan`]), Opus in-band FEC's expected loss,
//!   and the encoder bitrate.
//!
//! Everything here is sans-IO: reports and `now` in, a protection out.

mod history;
mod plan;
mod policy;
mod recorder;
mod report;
mod rle;
mod seq;

pub use history::{LossHistory, LossSummary};
pub use plan::{MAX_RED_SPAN, Protection, ProtectionLevel, RedPlan};
pub use policy::{PolicyConfig, ProtectionPolicy};
pub use recorder::LossRecorder;
pub use report::{LossRuns, PeerReport, ReceptionReport, Run};
pub use rle::{RleError, decode_chunks, encode_chunks};
