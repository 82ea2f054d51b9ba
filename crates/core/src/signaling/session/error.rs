use thiserror::Error;

use crate::signaling::message::{ErrorCode, ServerError};

/// Why no server registered us.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignalingError {
    #[error("no signaling server configured")]
    NoServers,
    #[error("signaling server {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("signaling server {url} did not register us within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("signaling server refused us: {message}")]
    Rejected { code: ErrorCode, message: String },
}

/// Why a registered session ended for good.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CloseReason {
    /// Our ID was claimed elsewhere, or our claim was refused: reconnecting would only be
    /// refused again, or steal the ID back from the new session.
    #[error("{}", .0.message)]
    Refused(ServerError),
    #[error("no signaling server answered {attempts} attempts in a row")]
    GaveUp { attempts: u32 },
}

/// Server errors after which the server has closed our session for good.
pub fn ends_session(err: &ServerError) -> bool {
    match err.code {
        ErrorCode::IdTaken | ErrorCode::SessionReplaced => true,
        // Connection-level (no `event`): our auth was refused. With an `event` they are
        // about a message we sent, and the connection stays open.
        ErrorCode::InvalidId | ErrorCode::InvalidToken => err.event.is_none(),
        _ => false,
    }
}
