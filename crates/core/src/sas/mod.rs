//! The security code two people compare out loud, and the commitment that stops whoever
//! runs the signaling server from choosing it.
//!
//! DTLS-SRTP is only as safe as the certificate fingerprints the two descriptions carry
//! over signaling: a server in the middle can put its own certificates in both and relay
//! the audio. Both ends therefore derive a six-digit code from the fingerprints they
//! actually used; a man in the middle has two DTLS sessions, so the two ends see two codes.
//!
//! A plain hash of two fingerprints can be ground: the attacker, who chooses its
//! certificates after seeing the real ones, tries certificates until its two codes match
//! (about a million tries). So the code also covers one fresh secret from each side, and
//! the order in which they are revealed leaves the attacker one guess per call
//! (ZRTP's hash commitment, RFC 6189 §4.4.1.1):
//!
//! 1. offer (caller → callee): the caller's fingerprint (in the SDP) and
//!    `sasCommit` = H(fingerprint ‖ caller nonce);
//! 2. answer (callee → caller): the callee's fingerprint and `sasNonce`, the callee's
//!    fresh nonce, in the clear;
//! 3. `sas_reveal` (caller → callee): the caller's nonce, sent only after the answer
//!    arrived. The callee checks it against the commitment, and only then starts media.
//!
//! The code is H(caller fingerprint ‖ callee fingerprint ‖ caller nonce ‖ callee nonce).
//! `docs/security.md` has the argument and the odds; `exchange` holds the steps,
//! `commitment` and `code` the hashes, `fingerprint` what an SDP declares.

mod code;
mod commitment;
mod exchange;
mod fingerprint;
#[cfg(test)]
mod vectors;

pub use code::SasCode;
pub use commitment::{Commitment, HexError, NONCE_LEN, Nonce};
pub use exchange::{
    CalleeSide, CallerSide, Exchange, RevealOutcome, SecurityFailure, Unverifiable, Verification,
};
pub use fingerprint::Fingerprint;

/// Feeds one variable-length field into a hash: its length (4 bytes, big-endian), then the
/// bytes, so that no two different field lists hash the same input.
fn field(hasher: &mut sha2::Sha256, bytes: &[u8]) {
    use sha2::Digest;
    // Fingerprint sets are a few hundred bytes; nothing near 4 GiB reaches here.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    hasher.update(len.to_be_bytes());
    hasher.update(bytes);
}
