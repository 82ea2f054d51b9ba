//! A short authentication string people can compare out loud.
//!
//! DTLS-SRTP is only as safe as the fingerprints exchanged over signaling: whoever runs
//! the signaling server could swap them and sit in the middle. Both ends derive a code from
//! the two certificate fingerprints they actually negotiated; a man in the middle has two
//! different DTLS sessions, so the two ends see different codes.

use sha2::{Digest, Sha256};

/// Finds the certificate fingerprint (`a=fingerprint:sha-256 AB:CD:…`) in an SDP.
pub fn fingerprint(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|line| line.trim().strip_prefix("a=fingerprint:"))
        .map(|fp| fp.trim().to_ascii_uppercase())
        .filter(|fp| !fp.is_empty())
}

/// Six digits ("042 917") from the two fingerprints; the same on both ends because the
/// inputs are sorted before hashing.
pub fn short_auth_string(ours: &str, theirs: &str) -> String {
    let (first, second) = if ours <= theirs {
        (ours, theirs)
    } else {
        (theirs, ours)
    };
    let digest = Sha256::new()
        .chain_update(b"voicecall-sas-v1\0")
        .chain_update(first.as_bytes())
        .chain_update(b"\0")
        .chain_update(second.as_bytes())
        .finalize();
    let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % 1_000_000;
    format!("{:03} {:03}", n / 1000, n % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP_A: &str = "SHA-256 9A:1B:00:3C:44:5D:66:7E:88:9F:A0:B1:C2:D3:E4:F5:06:17:28:39:4A:5B:6C:7D:8E:9F:A0:B1:C2:D3:E4:F5";
    const FP_B: &str = "SHA-256 11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00";
    const FP_MITM: &str = "SHA-256 11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01";

    #[test]
    fn both_ends_compute_the_same_code() {
        let alice = short_auth_string(FP_A, FP_B);
        let bob = short_auth_string(FP_B, FP_A);
        assert_eq!(alice, bob);
        assert_eq!(alice.len(), 7);
        assert!(alice.chars().all(|c| c.is_ascii_digit() || c == ' '));
    }

    #[test]
    fn a_different_certificate_changes_the_code() {
        // A man in the middle presents its own certificate to one side.
        assert_ne!(
            short_auth_string(FP_A, FP_B),
            short_auth_string(FP_A, FP_MITM)
        );
        // And across many random certificates the codes spread out.
        let codes: std::collections::HashSet<String> = (0..200)
            .map(|i| short_auth_string(FP_A, &format!("SHA-256 {i:064X}")))
            .collect();
        assert!(codes.len() > 195, "{} distinct codes", codes.len());
    }

    #[test]
    fn fingerprints_are_found_at_session_or_media_level() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256 AA:BB\r\n";
        assert_eq!(fingerprint(sdp).as_deref(), Some("SHA-256 AA:BB"));
        assert_eq!(fingerprint("v=0\r\n"), None);
    }
}
