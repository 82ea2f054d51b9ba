use std::fmt;

use sha2::{Digest, Sha256};

use super::commitment::Nonce;
use super::field;
use super::fingerprint::Fingerprint;

const CODE_CONTEXT: &[u8] = b"voicecall-sas-v2\0";

/// Six digits ("042 917") both people read out; the same on both ends unless someone sits
/// between them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SasCode(String);

impl SasCode {
    /// The code of one call: both fingerprints and both nonces, each in its role's place.
    /// SHA-256 over the fields, the first four bytes big-endian, modulo 10^6 (the bias of
    /// 2^32 mod 10^6 moves no code's odds by more than 2.4·10^-4 of themselves).
    pub fn derive(
        caller: &Fingerprint,
        callee: &Fingerprint,
        caller_nonce: &Nonce,
        callee_nonce: &Nonce,
    ) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(CODE_CONTEXT);
        field(&mut hasher, caller.as_str().as_bytes());
        field(&mut hasher, callee.as_str().as_bytes());
        field(&mut hasher, caller_nonce.as_bytes());
        field(&mut hasher, callee_nonce.as_bytes());
        let digest = hasher.finalize();
        let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % 1_000_000;
        Self(format!("{:03} {:03}", n / 1000, n % 1000))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SasCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(text: &str) -> Fingerprint {
        Fingerprint::parse(text).expect("fingerprint")
    }

    #[test]
    fn six_digits_that_depend_on_every_input_and_on_the_roles() {
        let (a, b) = (fp("SHA-256 AA"), fp("SHA-256 BB"));
        let (x, y) = (Nonce::from_bytes([1; 32]), Nonce::from_bytes([2; 32]));
        let code = SasCode::derive(&a, &b, &x, &y);
        assert_eq!(code.as_str().len(), 7);
        assert!(code.as_str().chars().enumerate().all(|(i, c)| if i == 3 {
            c == ' '
        } else {
            c.is_ascii_digit()
        }));
        let variants = [
            SasCode::derive(&b, &a, &x, &y),
            SasCode::derive(&a, &b, &y, &x),
            SasCode::derive(&fp("SHA-256 AB"), &b, &x, &y),
            SasCode::derive(&a, &b, &x, &Nonce::from_bytes([3; 32])),
        ];
        for variant in variants {
            assert_ne!(variant, code);
        }
    }

    #[test]
    fn codes_spread_over_the_million() {
        let (a, b) = (fp("SHA-256 AA"), fp("SHA-256 BB"));
        let codes: std::collections::HashSet<SasCode> = (0..2000u32)
            .map(|i| {
                let mut bytes = [0; 32];
                bytes[..4].copy_from_slice(&i.to_be_bytes());
                SasCode::derive(
                    &a,
                    &b,
                    &Nonce::from_bytes(bytes),
                    &Nonce::from_bytes([0; 32]),
                )
            })
            .collect();
        // 2000 draws from 10^6 codes collide about twice on average.
        assert!(codes.len() >= 1990, "{} distinct codes", codes.len());
    }
}
