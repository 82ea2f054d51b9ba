/// The RTP payload types the peer connection negotiated for our audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadTypes {
    pub opus: u8,
    /// `None` when the peer did not offer RED: then only plain Opus is sent.
    pub red: Option<u8>,
}
