//! The vectors the web client is tested against (signaling-server/test/fixtures/
//! sas_vectors.json, made by its public/sas.js): the Rust derivation must give every one,
//! so a browser and the desktop app show the same code.

use serde::Deserialize;

use super::{Commitment, Fingerprint, Nonce, SasCode};

#[derive(Deserialize)]
struct Vectors {
    fingerprint: Vec<FingerprintCase>,
    commit: Vec<CommitCase>,
    code: Vec<CodeCase>,
}

#[derive(Deserialize)]
struct FingerprintCase {
    sdp: String,
    fingerprint: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommitCase {
    fingerprint: String,
    nonce: String,
    commitment: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CodeCase {
    caller: String,
    callee: String,
    caller_nonce: String,
    callee_nonce: String,
    code: String,
}

const VECTORS: &str = include_str!("../../../../signaling-server/test/fixtures/sas_vectors.json");

fn fp(text: &str) -> Fingerprint {
    Fingerprint::parse(text).expect("vector fingerprint")
}

fn nonce(hex: &str) -> Nonce {
    Nonce::from_hex(hex).expect("vector nonce")
}

#[test]
fn the_web_clients_vectors_match() {
    let vectors: Vectors = serde_json::from_str(VECTORS).expect("sas_vectors.json");
    assert!(vectors.fingerprint.len() >= 5 && vectors.commit.len() >= 20);
    assert!(vectors.code.len() >= 40);
    for case in &vectors.fingerprint {
        let got = Fingerprint::from_sdp(&case.sdp);
        assert_eq!(
            got.as_ref().map(Fingerprint::as_str),
            case.fingerprint.as_deref(),
            "{:?}",
            case.sdp
        );
    }
    for case in &vectors.commit {
        let got = Commitment::to(&fp(&case.fingerprint), &nonce(&case.nonce));
        assert_eq!(got.to_hex(), case.commitment, "{:?}", case.fingerprint);
    }
    for case in &vectors.code {
        let got = SasCode::derive(
            &fp(&case.caller),
            &fp(&case.callee),
            &nonce(&case.caller_nonce),
            &nonce(&case.callee_nonce),
        );
        assert_eq!(
            got.as_str(),
            case.code,
            "{:?} / {:?}",
            case.caller,
            case.callee
        );
    }
}
