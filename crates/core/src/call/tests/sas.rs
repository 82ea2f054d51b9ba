//! The security code's commitment as the call machine runs it (`crate::sas`): what each
//! description carries, when media may start, and how a failed check ends the call. Two
//! machines are wired through a relay that may lie, as a malicious server would.

use std::time::{Duration, Instant};

use rand::SeedableRng;

use super::*;
use crate::sas::{
    Commitment, Fingerprint, Nonce, SasCode, SecurityFailure, Unverifiable, Verification,
};
use crate::signaling::message::SasPart;

const ALICE: &str = "aaa-aaa-aaa";
const BOB: &str = "bbb-bbb-bbb";
const FP_ALICE: &str = "AA:AA:AA";
const FP_BOB: &str = "BB:BB:BB";

fn fp_sdp(kind: SdpKind, fingerprint: &str) -> SessionDescription {
    SessionDescription {
        kind,
        sdp: format!(
            "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256 {fingerprint}\r\n"
        ),
    }
}

fn fingerprint(value: &str) -> Fingerprint {
    Fingerprint::parse(&format!("SHA-256 {value}")).expect("fingerprint")
}

/// One app: a call machine whose peer connection declares `fingerprint`.
struct Endpoint {
    m: CallMachine,
    id: PeerId,
    fingerprint: &'static str,
    /// Every command so far, notifications included.
    log: Vec<Command>,
}

impl Endpoint {
    fn new(own: &str, fingerprint: &'static str, seed: u64) -> Self {
        let rng = Box::new(rand::rngs::StdRng::seed_from_u64(seed));
        let mut m = CallMachine::with_nonces(CallTimings::default(), rng);
        m.handle(Input::Registered { id: id(own) }, Instant::now());
        Self {
            m,
            id: id(own),
            fingerprint,
            log: Vec::new(),
        }
    }

    /// Feeds `input` at `now` and plays the peer connection: a description is created at
    /// once (an offer for a new call, an answer to a remote offer). Returns what went out
    /// to the server.
    fn handle(&mut self, input: Input, now: Instant) -> Vec<Outbound> {
        let mut inputs = vec![input];
        let mut sent = Vec::new();
        while let Some(input) = inputs.pop() {
            self.m.handle(input, now);
            while let Some(command) = self.m.poll_command() {
                match &command {
                    Command::Send(out) => sent.push(out.clone()),
                    Command::CreatePeer { role, .. } => {
                        let kind = match role {
                            Role::Caller => SdpKind::Offer,
                            Role::Callee => SdpKind::Answer,
                        };
                        inputs.push(Input::LocalDescription(fp_sdp(kind, self.fingerprint)));
                    }
                    Command::ApplyRemote(desc) if desc.kind == SdpKind::Offer => {
                        let answer = fp_sdp(SdpKind::Answer, self.fingerprint);
                        inputs.push(Input::LocalDescription(answer));
                    }
                    _ => {}
                }
                self.log.push(command);
            }
        }
        sent
    }

    fn verification(&self) -> Option<&Verification> {
        self.log.iter().rev().find_map(|c| match c {
            Command::Notify(Event::Verification(v)) => Some(v),
            _ => None,
        })
    }

    fn code(&self) -> SasCode {
        match self.verification() {
            Some(Verification::Code(code)) => code.clone(),
            other => panic!("{} has no code: {other:?}", self.id),
        }
    }

    fn ended(&self) -> Option<&EndReason> {
        self.log.iter().find_map(|c| match c {
            Command::Ended { reason, .. } => Some(reason),
            _ => None,
        })
    }

    fn started_media(&self) -> bool {
        self.log.contains(&Command::StartMedia)
    }
}

/// What the server hands on: `from` is stamped by the server, as on the real one.
fn deliver(out: Outbound, from: &PeerId) -> Input {
    Input::Signal(Inbound {
        from: from.clone(),
        call_id: out.call_id,
        body: out.body,
    })
}

/// Relays everything between `a` and `b` until both are quiet; `tamper` may change any
/// message on the way (a lying server).
fn relay(
    a: &mut Endpoint,
    b: &mut Endpoint,
    mut pending: Vec<(bool, Outbound)>,
    now: Instant,
    tamper: &mut dyn FnMut(&mut Outbound),
) {
    while !pending.is_empty() {
        let batch = std::mem::take(&mut pending);
        for (from_a, mut out) in batch {
            tamper(&mut out);
            let (to, sender) = if from_a {
                (&mut *b, a.id.clone())
            } else {
                (&mut *a, b.id.clone())
            };
            let produced = to.handle(deliver(out, &sender), now);
            pending.extend(produced.into_iter().map(|o| (!from_a, o)));
        }
    }
}

/// Alice calls Bob through `tamper`; Bob accepts; both media paths come up.
fn call(tamper: &mut dyn FnMut(&mut Outbound)) -> (Endpoint, Endpoint) {
    let now = Instant::now();
    let mut alice = Endpoint::new(ALICE, FP_ALICE, 1);
    let mut bob = Endpoint::new(BOB, FP_BOB, 2);
    let dialled = alice.handle(
        Input::PlaceCall {
            peer: id(BOB),
            call_id: cid("c1"),
        },
        now,
    );
    relay(
        &mut alice,
        &mut bob,
        dialled.into_iter().map(|o| (true, o)).collect(),
        now,
        tamper,
    );
    // Bob's media path may come up before Alice's reveal reaches him (whether his media
    // waited for it is each test's question).
    let accepted = bob.handle(Input::Accept, now);
    bob.handle(Input::Rtc(RtcState::Connected), now);
    relay(
        &mut alice,
        &mut bob,
        accepted.into_iter().map(|o| (false, o)).collect(),
        now,
        tamper,
    );
    alice.handle(Input::Rtc(RtcState::Connected), now);
    (alice, bob)
}

#[test]
fn an_honest_call_shows_one_code_at_both_ends_and_media_waits_for_the_reveal() {
    let (alice, bob) = call(&mut |_| {});
    assert_eq!(alice.code(), bob.code());
    assert!(alice.started_media() && bob.started_media());
    // Bob started media only after the code was verified.
    let verified = bob.log.iter().position(|c| {
        matches!(
            c,
            Command::Notify(Event::Verification(Verification::Code(_)))
        )
    });
    let started = bob.log.iter().position(|c| *c == Command::StartMedia);
    assert!(
        verified.expect("verified") < started.expect("started"),
        "{:?}",
        bob.log
    );
    assert_eq!(alice.ended(), None);
    assert_eq!(bob.ended(), None);
}

#[test]
fn the_offer_commits_the_answer_brings_a_nonce_and_the_reveal_opens_the_commitment() {
    let mut offers = Vec::new();
    let mut answers = Vec::new();
    let mut reveals = Vec::new();
    let (alice, _bob) = call(&mut |out| match &out.body {
        Body::Description { desc, sas } if desc.kind == SdpKind::Offer => offers.push(*sas),
        Body::Description { sas, .. } => answers.push(*sas),
        Body::SasReveal { nonce } => reveals.push(*nonce),
        _ => {}
    });
    let [Some(SasPart::Commit(commit))] = offers[..] else {
        panic!("one offer with a commitment: {offers:?}")
    };
    let [Some(SasPart::Nonce(bob_nonce))] = answers[..] else {
        panic!("one answer with a nonce: {answers:?}")
    };
    let [alice_nonce] = reveals[..] else {
        panic!("one reveal: {reveals:?}")
    };
    assert!(commit.opens_with(&fingerprint(FP_ALICE), &alice_nonce));
    assert_eq!(
        alice.code(),
        SasCode::derive(
            &fingerprint(FP_ALICE),
            &fingerprint(FP_BOB),
            &alice_nonce,
            &bob_nonce
        )
    );
}

#[test]
fn each_side_learns_the_peer_certificate_before_the_phase_it_belongs_to() {
    let (alice, bob) = call(&mut |_| {});
    let position = |log: &[Command], pred: &dyn Fn(&Command) -> bool| log.iter().position(pred);
    let cert = |c: &Command| matches!(c, Command::Notify(Event::PeerCertificate { .. }));
    // Bob: before it rings.
    let bob_cert = position(&bob.log, &cert).expect("Bob learns Alice's certificate");
    let ringing = position(&bob.log, &|c: &Command| {
        matches!(
            c,
            Command::Notify(Event::PhaseChanged(Phase::Incoming { .. }))
        )
    });
    assert!(Some(bob_cert) < ringing);
    assert_eq!(
        bob.log[bob_cert],
        Command::Notify(Event::PeerCertificate {
            peer: id(ALICE),
            fingerprint: fingerprint(FP_ALICE)
        })
    );
    // Alice: with the answer, before Connecting.
    let alice_cert = position(&alice.log, &cert).expect("Alice learns Bob's certificate");
    let connecting = position(&alice.log, &|c: &Command| {
        matches!(
            c,
            Command::Notify(Event::PhaseChanged(Phase::Connecting { .. }))
        )
    });
    assert!(Some(alice_cert) < connecting);
}

#[test]
fn a_relay_swapping_the_offered_certificate_is_caught_by_the_commitment() {
    // The server puts its own certificate into Alice's offer and passes her commitment on.
    let (alice, bob) = call(&mut |out| {
        if let Body::Description { desc, .. } = &mut out.body
            && desc.kind == SdpKind::Offer
        {
            *desc = fp_sdp(SdpKind::Offer, "EE:EE:EE");
        }
    });
    let failed = EndReason::SecurityCheckFailed(SecurityFailure::CommitmentMismatch);
    assert_eq!(bob.ended(), Some(&failed));
    assert!(!bob.started_media(), "no audio went to the relay");
    // Bob told Alice why; here the relay passes that on.
    assert_eq!(
        alice.ended(),
        Some(&EndReason::SecurityCheckFailed(
            SecurityFailure::ReportedByPeer
        ))
    );
    assert_eq!(failed.code(), "security_check_failed");
    assert!(
        failed.to_string().contains("someone may be listening in"),
        "{failed}"
    );
}

#[test]
fn a_relay_changing_the_reveal_is_caught_by_the_commitment() {
    let (_alice, bob) = call(&mut |out| {
        if let Body::SasReveal { nonce } = &mut out.body {
            *nonce = Nonce::from_bytes([0x42; 32]);
        }
    });
    assert_eq!(
        bob.ended(),
        Some(&EndReason::SecurityCheckFailed(
            SecurityFailure::CommitmentMismatch
        ))
    );
}

#[test]
fn a_man_in_the_middle_with_its_own_keys_shows_two_different_codes() {
    // The server answers Alice itself (as "Bob", certificate M2) and calls Bob itself (as
    // "Alice", certificate M1), running the protocol honestly on each leg: both checks
    // pass, and the two people read out two different codes.
    let now = Instant::now();
    let mut alice = Endpoint::new(ALICE, FP_ALICE, 11);
    let mut eve_as_bob = Endpoint::new(BOB, "22:22:22", 12);
    let mut eve_as_alice = Endpoint::new(ALICE, "11:11:11", 13);
    let mut bob = Endpoint::new(BOB, FP_BOB, 14);
    let dialled = alice.handle(
        Input::PlaceCall {
            peer: id(BOB),
            call_id: cid("c1"),
        },
        now,
    );
    relay(
        &mut alice,
        &mut eve_as_bob,
        dialled.into_iter().map(|o| (true, o)).collect(),
        now,
        &mut |_| {},
    );
    let dialled = eve_as_alice.handle(
        Input::PlaceCall {
            peer: id(BOB),
            call_id: cid("c1"),
        },
        now,
    );
    relay(
        &mut eve_as_alice,
        &mut bob,
        dialled.into_iter().map(|o| (true, o)).collect(),
        now,
        &mut |_| {},
    );
    let accepted = bob.handle(Input::Accept, now);
    relay(
        &mut eve_as_alice,
        &mut bob,
        accepted.into_iter().map(|o| (false, o)).collect(),
        now,
        &mut |_| {},
    );
    let accepted = eve_as_bob.handle(Input::Accept, now);
    relay(
        &mut alice,
        &mut eve_as_bob,
        accepted.into_iter().map(|o| (false, o)).collect(),
        now,
        &mut |_| {},
    );
    for side in [&mut alice, &mut bob] {
        side.handle(Input::Rtc(RtcState::Connected), now);
        assert!(side.started_media() && side.ended().is_none());
    }
    assert_ne!(alice.code(), bob.code());
}

#[test]
fn a_missing_reveal_ends_the_call_at_the_connect_timeout() {
    let now = Instant::now();
    let (_alice, mut bob) = call(&mut |out| {
        if matches!(out.body, Body::SasReveal { .. }) {
            // Dropped by the relay: Bob's media never starts.
            out.body = Body::Ringing;
        }
    });
    assert!(!bob.started_media());
    bob.handle(Input::Tick, now + Duration::from_secs(21));
    assert_eq!(
        bob.ended(),
        Some(&EndReason::SecurityCheckFailed(
            SecurityFailure::RevealMissing
        ))
    );
}

#[test]
fn old_clients_are_not_verifiable_and_nobody_waits() {
    // An old caller: its offer carries no commitment.
    let (alice, bob) = call(&mut |out| {
        if let Body::Description { desc, sas } = &mut out.body
            && desc.kind == SdpKind::Offer
        {
            *sas = None;
        }
    });
    let old = Verification::NotVerifiable(Unverifiable::PeerWithoutCommitment);
    assert_eq!(bob.verification(), Some(&old));
    assert!(bob.started_media(), "nothing to wait for");
    // Bob sent no nonce, so Alice (as with an old callee) reveals nothing.
    assert_eq!(alice.verification(), Some(&old));
    assert!(!alice.log.iter().any(|c| matches!(
        c,
        Command::Send(Outbound {
            body: Body::SasReveal { .. },
            ..
        })
    )));
    assert!(alice.started_media());
}

#[test]
fn an_ice_restart_declaring_another_certificate_ends_the_call() {
    let now = Instant::now();
    let (mut alice, mut bob) = call(&mut |_| {});
    // Bob's path drops; Alice's restart offer is answered with another certificate.
    alice.handle(Input::Rtc(RtcState::Disconnected), now);
    let restart = alice.handle(
        Input::LocalDescription(fp_sdp(SdpKind::Offer, FP_ALICE)),
        now,
    );
    assert!(
        matches!(
            &restart[..],
            [Outbound {
                body: Body::Description { sas: None, .. },
                ..
            }]
        ),
        "{restart:?}"
    );
    let answer = bob.handle(deliver(restart[0].clone(), &id(ALICE)), now);
    assert!(bob.ended().is_none(), "the same certificate is fine");
    let mut forged = answer[0].clone();
    if let Body::Description { desc, .. } = &mut forged.body {
        *desc = fp_sdp(SdpKind::Answer, "EE:EE:EE");
    }
    alice.handle(deliver(forged, &id(BOB)), now);
    assert_eq!(
        alice.ended(),
        Some(&EndReason::SecurityCheckFailed(
            SecurityFailure::CertificateChanged
        ))
    );
}

#[test]
fn a_commitment_to_another_call_does_not_open() {
    // A commitment from an earlier call (replayed by a relay) cannot be opened by this
    // call's reveal: the nonces are fresh per call.
    let mut earlier = None;
    let _ = call(&mut |out| {
        if let Body::Description {
            sas: Some(SasPart::Commit(c)),
            ..
        } = &out.body
        {
            earlier = Some(*c);
        }
    });
    let earlier: Commitment = earlier.expect("a commitment");
    // A new call: Alice draws a fresh nonce (another seed here).
    let mut alice = Endpoint::new(ALICE, FP_ALICE, 99);
    let mut bob = Endpoint::new(BOB, FP_BOB, 2);
    let now = Instant::now();
    let dialled = alice.handle(
        Input::PlaceCall {
            peer: id(BOB),
            call_id: cid("c2"),
        },
        now,
    );
    let mut replay = |out: &mut Outbound| {
        if let Body::Description {
            sas: Some(SasPart::Commit(c)),
            ..
        } = &mut out.body
        {
            *c = earlier;
        }
    };
    relay(
        &mut alice,
        &mut bob,
        dialled.into_iter().map(|o| (true, o)).collect(),
        now,
        &mut replay,
    );
    let accepted = bob.handle(Input::Accept, now);
    relay(
        &mut alice,
        &mut bob,
        accepted.into_iter().map(|o| (false, o)).collect(),
        now,
        &mut replay,
    );
    assert_eq!(
        bob.ended(),
        Some(&EndReason::SecurityCheckFailed(
            SecurityFailure::CommitmentMismatch
        ))
    );
}
