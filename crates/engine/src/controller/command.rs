use voicecall_core::id::PeerId;

/// What a shell asks the engine to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCommand {
    Call(PeerId),
    Accept,
    Decline,
    Hangup,
    SetMuted(bool),
    /// Hang up whatever is live and leave the server.
    Shutdown,
}
