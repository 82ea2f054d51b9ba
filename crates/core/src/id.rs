//! Identifiers people type and read aloud (peer IDs) and the per-call correlation ID.
//!
//! The rules mirror `signaling-server/src/ids.js`: a client rejects a malformed peer ID
//! before it ever reaches the server, so a typo gets an immediate, local error.

use std::fmt;

use rand::Rng;
use thiserror::Error;

/// Alphabet of generated IDs: no 0/o, 1/l/i, so an ID survives being read over the phone.
const ID_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    #[error("peer ID is empty")]
    Empty,
    #[error("peer ID \"{0}\" must be 3–32 characters")]
    Length(String),
    #[error("peer ID \"{0}\" may only contain a–z, 0–9 and '-' (not at either end)")]
    Characters(String),
    #[error("call ID \"{0}\" must be 1–64 characters of A–Z, a–z, 0–9, '_' or '-'")]
    CallId(String),
}

/// A peer's public ID, e.g. `k7m-q2x-9fd` (server-generated) or `alice` (claimed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(String);

impl PeerId {
    /// Validates what a person typed. Surrounding whitespace is forgiven and upper case is
    /// folded, because IDs are copied from chats and read aloud; anything else is an error.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let id = raw.trim().to_ascii_lowercase();
        if id.is_empty() {
            return Err(IdError::Empty);
        }
        if !(3..=32).contains(&id.len()) {
            return Err(IdError::Length(id));
        }
        let bytes = id.as_bytes();
        let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
        let ends_ok = bytes[0] != b'-' && bytes[bytes.len() - 1] != b'-';
        if !bytes.iter().all(allowed) || !ends_ok {
            return Err(IdError::Characters(id));
        }
        Ok(Self(id))
    }

    /// A fresh ID in the server's generated format (three groups of three).
    pub fn generate(rng: &mut impl Rng) -> Self {
        let mut id = String::with_capacity(11);
        for group in 0..3 {
            if group > 0 {
                id.push('-');
            }
            for _ in 0..3 {
                id.push(ID_ALPHABET[rng.random_range(0..ID_ALPHABET.len())] as char);
            }
        }
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Correlates every signaling message of one call, so a late ICE candidate or hang-up
/// from an earlier call can never touch the current one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallId(String);

impl CallId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let ok = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(IdError::CallId(raw.chars().take(80).collect()))
        }
    }

    pub fn generate(rng: &mut impl Rng) -> Self {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let id = (0..16)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_generated_and_custom_ids() {
        let mut rng = rand::rng();
        for _ in 0..100 {
            let id = PeerId::generate(&mut rng);
            assert_eq!(PeerId::parse(id.as_str()), Ok(id.clone()));
            assert_eq!(id.as_str().len(), 11);
        }
        assert_eq!(PeerId::parse("  Alice ").map(|p| p.0), Ok("alice".into()));
        assert!(PeerId::parse("k7m-q2x-9fd").is_ok());
    }

    #[test]
    fn rejects_malformed_ids() {
        assert_eq!(PeerId::parse("  "), Err(IdError::Empty));
        assert!(matches!(PeerId::parse("ab"), Err(IdError::Length(_))));
        assert!(matches!(
            PeerId::parse(&"a".repeat(33)),
            Err(IdError::Length(_))
        ));
        assert!(matches!(PeerId::parse("-abc"), Err(IdError::Characters(_))));
        assert!(matches!(PeerId::parse("abc-"), Err(IdError::Characters(_))));
        assert!(matches!(
            PeerId::parse("a b c"),
            Err(IdError::Characters(_))
        ));
        assert!(matches!(PeerId::parse("äbc"), Err(IdError::Characters(_))));
    }

    #[test]
    fn call_ids_round_trip_and_reject_junk() {
        let id = CallId::generate(&mut rand::rng());
        assert_eq!(CallId::parse(id.as_str()), Ok(id));
        assert!(CallId::parse("").is_err());
        assert!(CallId::parse("has space").is_err());
        assert!(CallId::parse(&"x".repeat(65)).is_err());
    }
}
