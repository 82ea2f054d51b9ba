use std::fmt;

use rand::RngCore;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::field;
use super::fingerprint::Fingerprint;

/// Bytes in a nonce (and in a commitment, a SHA-256 digest).
pub const NONCE_LEN: usize = 32;

const COMMIT_CONTEXT: &[u8] = b"voicecall-commit-v2\0";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HexError {
    #[error("must be {expected} hex digits, got {got} characters")]
    Length { expected: usize, got: usize },
    #[error("must hold only the hex digits 0-9 and a-f")]
    NotHex,
}

/// A fresh random value one side adds to a call's security code: 256 bits, so neither
/// guessed nor found by trying.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nonce([u8; NONCE_LEN]);

/// H(fingerprint ‖ nonce): what the caller's offer promises its nonce is, before it may be
/// told. Hiding (the nonce is 256 random bits) and binding (SHA-256).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Commitment([u8; NONCE_LEN]);

impl Nonce {
    pub fn random(rng: &mut (impl RngCore + ?Sized)) -> Self {
        let mut bytes = [0; NONCE_LEN];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn from_bytes(bytes: [u8; NONCE_LEN]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; NONCE_LEN] {
        &self.0
    }

    /// 64 lower-case hex digits, the wire form.
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }

    pub fn from_hex(text: &str) -> Result<Self, HexError> {
        from_hex(text).map(Self)
    }
}

impl Commitment {
    /// The commitment to `nonce` for a description declaring `fingerprint`.
    pub fn to(fingerprint: &Fingerprint, nonce: &Nonce) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(COMMIT_CONTEXT);
        field(&mut hasher, fingerprint.as_str().as_bytes());
        field(&mut hasher, nonce.as_bytes());
        Self(hasher.finalize().into())
    }

    /// Whether `nonce` is what was committed to, for this fingerprint.
    pub fn opens_with(&self, fingerprint: &Fingerprint, nonce: &Nonce) -> bool {
        Self::to(fingerprint, nonce) == *self
    }

    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }

    pub fn from_hex(text: &str) -> Result<Self, HexError> {
        from_hex(text).map(Self)
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce({})", self.to_hex())
    }
}

impl fmt::Debug for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Commitment({})", self.to_hex())
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Strict: exactly 64 lower-case hex digits, as the server's schema demands.
fn from_hex(text: &str) -> Result<[u8; NONCE_LEN], HexError> {
    if text.len() != 2 * NONCE_LEN {
        return Err(HexError::Length {
            expected: 2 * NONCE_LEN,
            got: text.chars().count(),
        });
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(HexError::NotHex),
    };
    let mut out = [0; NONCE_LEN];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn fp(text: &str) -> Fingerprint {
        Fingerprint::parse(text).expect("fingerprint")
    }

    #[test]
    fn a_commitment_opens_only_with_its_nonce_and_fingerprint() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let (nonce, other) = (Nonce::random(&mut rng), Nonce::random(&mut rng));
        let ours = fp("SHA-256 AA:BB");
        let commit = Commitment::to(&ours, &nonce);
        assert!(commit.opens_with(&ours, &nonce));
        assert!(!commit.opens_with(&ours, &other));
        assert!(!commit.opens_with(&fp("SHA-256 AA:BC"), &nonce));
        assert_ne!(commit, Commitment::to(&ours, &other));
    }

    #[test]
    fn the_commitment_is_sha256_of_length_prefixed_fields() {
        // Pinned so the web client (public/sas.js) can be checked against the same value.
        let nonce = Nonce::from_bytes([7; NONCE_LEN]);
        let commit = Commitment::to(&fp("SHA-256 AA:BB"), &nonce);
        let mut input = b"voicecall-commit-v2\0".to_vec();
        input.extend_from_slice(&13u32.to_be_bytes());
        input.extend_from_slice(b"SHA-256 AA:BB");
        input.extend_from_slice(&32u32.to_be_bytes());
        input.extend_from_slice(&[7; NONCE_LEN]);
        let expected: [u8; 32] = Sha256::digest(&input).into();
        assert_eq!(commit, Commitment(expected));
    }

    #[test]
    fn hex_round_trips_and_refuses_anything_else() {
        let nonce = Nonce::random(&mut rand::rngs::StdRng::seed_from_u64(2));
        let hex = nonce.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(Nonce::from_hex(&hex), Ok(nonce));
        assert_eq!(
            Nonce::from_hex(&hex[..62]),
            Err(HexError::Length {
                expected: 64,
                got: 62
            })
        );
        assert_eq!(
            Nonce::from_hex(&hex.to_uppercase()).err(),
            (hex != hex.to_uppercase()).then_some(HexError::NotHex)
        );
        assert_eq!(Nonce::from_hex(&"g".repeat(64)), Err(HexError::NotHex));
        // Multi-byte characters of the right byte length are not hex either.
        assert_eq!(Nonce::from_hex(&"é".repeat(32)), Err(HexError::NotHex));
        let commit = Commitment::to(&fp("SHA-256 AA"), &nonce);
        assert_eq!(Commitment::from_hex(&commit.to_hex()), Ok(commit));
    }
}
