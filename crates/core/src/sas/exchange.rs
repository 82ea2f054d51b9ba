//! One call's side of the commitment protocol (see the module docs): what each
//! description carries, what to show, and when to give up on the call.

use std::fmt;

use super::code::SasCode;
use super::commitment::{Commitment, Nonce};
use super::fingerprint::Fingerprint;

/// What a person can compare for this call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Read this out; the other side must show the same.
    Code(SasCode),
    /// There is nothing to compare (and so the call cannot be checked this way).
    NotVerifiable(Unverifiable),
}

/// Why a call has no code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unverifiable {
    /// The peer's app does not take part in the commitment (an older client), or someone
    /// on the way removed its part.
    PeerWithoutCommitment,
    /// A description declared no certificate fingerprint.
    NoFingerprint,
}

/// A check that failed: the call's keys are not the ones the two ends chose. Ends the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityFailure {
    /// The caller revealed a nonce its offer's commitment does not open to: someone changed
    /// the offer or the reveal on the way.
    CommitmentMismatch,
    /// The caller committed but never revealed its nonce before the connect timeout.
    RevealMissing,
    /// A later description (an ICE restart) declared another certificate.
    CertificateChanged,
    /// The peer's check failed and it hung up saying so.
    ReportedByPeer,
}

impl SecurityFailure {
    /// In words a person understands.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::CommitmentMismatch => {
                "the call's security keys were changed on the way; someone may be listening in"
            }
            Self::RevealMissing => {
                "the caller's half of the security code never arrived; someone may be interfering"
            }
            Self::CertificateChanged => {
                "the peer's security key changed during the call; someone may be taking it over"
            }
            Self::ReportedByPeer => {
                "the other side found the call's security keys changed; someone may be listening in"
            }
        }
    }
}

impl fmt::Display for SecurityFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// The caller's side: commit in the offer, reveal after the answer.
#[derive(Debug, Clone)]
pub struct CallerSide {
    nonce: Nonce,
    local: Option<Fingerprint>,
    remote: Option<Fingerprint>,
    offered: bool,
    answered: bool,
}

/// What the caller does with the callee's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerStep {
    pub verification: Verification,
    /// Send this nonce to the callee (`sas_reveal`): only to a callee that sent its own.
    pub reveal: Option<Nonce>,
}

impl CallerSide {
    pub fn new(nonce: Nonce) -> Self {
        Self {
            nonce,
            local: None,
            remote: None,
            offered: false,
            answered: false,
        }
    }

    /// Our first offer goes out with the commitment this returns; later offers (ICE
    /// restarts) carry none. `None` also when the offer declares no fingerprint.
    pub fn offer(&mut self, local_sdp: &str) -> Option<Commitment> {
        if std::mem::replace(&mut self.offered, true) {
            return None;
        }
        self.local = Fingerprint::from_sdp(local_sdp);
        self.local
            .as_ref()
            .map(|local| Commitment::to(local, &self.nonce))
    }

    /// The callee's first answer arrived, with its nonce if it takes part. `None` for any
    /// later answer (those go through [`Exchange::check_later`]).
    pub fn answer(&mut self, remote_sdp: &str, callee_nonce: Option<Nonce>) -> Option<CallerStep> {
        if std::mem::replace(&mut self.answered, true) {
            return None;
        }
        self.remote = Fingerprint::from_sdp(remote_sdp);
        let step = match (&self.local, &self.remote, callee_nonce) {
            (Some(local), Some(remote), Some(theirs)) => CallerStep {
                verification: Verification::Code(SasCode::derive(
                    local,
                    remote,
                    &self.nonce,
                    &theirs,
                )),
                reveal: Some(self.nonce),
            },
            (Some(_), Some(_), None) => CallerStep {
                verification: Verification::NotVerifiable(Unverifiable::PeerWithoutCommitment),
                reveal: None,
            },
            _ => CallerStep {
                verification: Verification::NotVerifiable(Unverifiable::NoFingerprint),
                reveal: None,
            },
        };
        Some(step)
    }
}

/// The callee's side: nonce in the answer, then check the caller's reveal.
#[derive(Debug, Clone)]
pub struct CalleeSide {
    nonce: Nonce,
    remote: Option<Fingerprint>,
    commitment: Option<Commitment>,
    local: Option<Fingerprint>,
    state: CalleeState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CalleeState {
    /// Our answer has not gone out.
    Offered,
    /// Our nonce went out; the caller's reveal has not come.
    AwaitingReveal,
    /// Nothing more to check (verified, failed, or nothing to verify).
    Settled,
}

/// What our answer carries, and what to show at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalleeStep {
    /// Our nonce, for the answer (`sasNonce`): only to a caller that committed.
    pub nonce: Option<Nonce>,
    /// Known as soon as the answer goes out when there is nothing to wait for.
    pub verification: Option<Verification>,
}

/// What the caller's reveal means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevealOutcome {
    Verified(SasCode),
    Failed(SecurityFailure),
    /// Nothing waited for it (a repeat, or a caller that made no commitment).
    Ignored,
}

impl CalleeSide {
    /// An offer arrived, with the caller's commitment if it takes part.
    pub fn new(nonce: Nonce, offer_sdp: &str, commitment: Option<Commitment>) -> Self {
        Self {
            nonce,
            remote: Fingerprint::from_sdp(offer_sdp),
            commitment,
            local: None,
            state: CalleeState::Offered,
        }
    }

    /// Our first answer goes out with what this returns; later answers carry nothing.
    pub fn answer(&mut self, local_sdp: &str) -> CalleeStep {
        if self.state != CalleeState::Offered {
            return CalleeStep {
                nonce: None,
                verification: None,
            };
        }
        self.local = Fingerprint::from_sdp(local_sdp);
        let settled = |why| CalleeStep {
            nonce: None,
            verification: Some(Verification::NotVerifiable(why)),
        };
        let step = match (&self.remote, &self.local, &self.commitment) {
            (Some(_), Some(_), Some(_)) => {
                self.state = CalleeState::AwaitingReveal;
                return CalleeStep {
                    nonce: Some(self.nonce),
                    verification: None,
                };
            }
            (Some(_), Some(_), None) => settled(Unverifiable::PeerWithoutCommitment),
            _ => settled(Unverifiable::NoFingerprint),
        };
        self.state = CalleeState::Settled;
        step
    }

    /// Media must wait: the caller committed and has not revealed yet.
    pub fn awaiting_reveal(&self) -> bool {
        self.state == CalleeState::AwaitingReveal
    }

    /// The caller's nonce arrived.
    pub fn reveal(&mut self, caller_nonce: Nonce) -> RevealOutcome {
        if self.state != CalleeState::AwaitingReveal {
            return RevealOutcome::Ignored;
        }
        self.state = CalleeState::Settled;
        let (Some(remote), Some(local), Some(commitment)) =
            (&self.remote, &self.local, &self.commitment)
        else {
            return RevealOutcome::Ignored;
        };
        if !commitment.opens_with(remote, &caller_nonce) {
            return RevealOutcome::Failed(SecurityFailure::CommitmentMismatch);
        }
        RevealOutcome::Verified(SasCode::derive(remote, local, &caller_nonce, &self.nonce))
    }
}

/// One side of one call.
#[derive(Debug, Clone)]
pub enum Exchange {
    Caller(CallerSide),
    Callee(CalleeSide),
}

impl Exchange {
    /// The peer's certificate fingerprints, once its description is known.
    pub fn remote(&self) -> Option<&Fingerprint> {
        match self {
            Exchange::Caller(side) => side.remote.as_ref(),
            Exchange::Callee(side) => side.remote.as_ref(),
        }
    }

    pub fn awaiting_reveal(&self) -> bool {
        matches!(self, Exchange::Callee(side) if side.awaiting_reveal())
    }

    /// A later remote description (ICE restart) must declare the certificate the code was
    /// made from: DTLS does not run again, but a different one means someone is trying.
    pub fn check_later(&self, remote_sdp: &str) -> Result<(), SecurityFailure> {
        match (self.remote(), Fingerprint::from_sdp(remote_sdp)) {
            (Some(known), Some(now)) if *known != now => Err(SecurityFailure::CertificateChanged),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn sdp(fingerprint: &str) -> String {
        format!("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256 {fingerprint}\r\n")
    }

    fn nonces(seed: u64) -> (Nonce, Nonce) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (Nonce::random(&mut rng), Nonce::random(&mut rng))
    }

    /// The three messages of one honest call.
    fn honest_call() -> (Verification, RevealOutcome) {
        let (caller_nonce, callee_nonce) = nonces(1);
        let mut caller = CallerSide::new(caller_nonce);
        let commit = caller.offer(&sdp("AA:AA"));
        let mut callee = CalleeSide::new(callee_nonce, &sdp("AA:AA"), commit);
        let step = callee.answer(&sdp("BB:BB"));
        assert!(callee.awaiting_reveal());
        let at_caller = caller
            .answer(&sdp("BB:BB"), step.nonce)
            .expect("first answer");
        let revealed = at_caller
            .reveal
            .expect("reveals to a callee that took part");
        (at_caller.verification, callee.reveal(revealed))
    }

    #[test]
    fn both_ends_of_an_honest_call_show_the_same_code() {
        let (at_caller, at_callee) = honest_call();
        let Verification::Code(code) = at_caller else {
            panic!("caller has a code: {at_caller:?}")
        };
        assert_eq!(at_callee, RevealOutcome::Verified(code));
    }

    #[test]
    fn the_caller_reveals_only_after_the_answer_and_only_once() {
        let (caller_nonce, callee_nonce) = nonces(2);
        let mut caller = CallerSide::new(caller_nonce);
        let commit = caller.offer(&sdp("AA:AA")).expect("commitment");
        assert_eq!(
            caller.offer(&sdp("AA:AA")),
            None,
            "an ICE restart offer commits nothing"
        );
        assert_ne!(commit.to_hex(), caller_nonce.to_hex());
        let step = caller
            .answer(&sdp("BB:BB"), Some(callee_nonce))
            .expect("first answer");
        assert_eq!(step.reveal, Some(caller_nonce));
        assert_eq!(caller.answer(&sdp("BB:BB"), Some(callee_nonce)), None);
    }

    #[test]
    fn a_changed_offer_or_reveal_fails_the_check() {
        let (caller_nonce, callee_nonce) = nonces(3);
        let mut caller = CallerSide::new(caller_nonce);
        let commit = caller.offer(&sdp("AA:AA"));
        // The offer's fingerprint was swapped on the way, the commitment passed along.
        let mut callee = CalleeSide::new(callee_nonce, &sdp("EE:EE"), commit);
        let nonce = callee.answer(&sdp("BB:BB")).nonce;
        let step = caller.answer(&sdp("BB:BB"), nonce).expect("answer");
        assert_eq!(
            callee.reveal(step.reveal.expect("reveal")),
            RevealOutcome::Failed(SecurityFailure::CommitmentMismatch)
        );
        assert!(!callee.awaiting_reveal());
        assert_eq!(callee.reveal(caller_nonce), RevealOutcome::Ignored);

        // Or the reveal was changed.
        let mut callee = CalleeSide::new(callee_nonce, &sdp("AA:AA"), commit);
        callee.answer(&sdp("BB:BB"));
        assert_eq!(
            callee.reveal(callee_nonce),
            RevealOutcome::Failed(SecurityFailure::CommitmentMismatch)
        );
    }

    #[test]
    fn old_clients_are_not_verifiable_on_either_side() {
        let (caller_nonce, callee_nonce) = nonces(4);
        // A new caller, an old callee: no nonce comes back, nothing is revealed.
        let mut caller = CallerSide::new(caller_nonce);
        caller.offer(&sdp("AA:AA"));
        let step = caller.answer(&sdp("BB:BB"), None).expect("answer");
        assert_eq!(
            step.verification,
            Verification::NotVerifiable(Unverifiable::PeerWithoutCommitment)
        );
        assert_eq!(step.reveal, None);
        // An old caller, a new callee: no nonce goes out, the verdict is known at once
        // and media does not wait.
        let mut callee = CalleeSide::new(callee_nonce, &sdp("AA:AA"), None);
        assert_eq!(
            callee.answer(&sdp("BB:BB")),
            CalleeStep {
                nonce: None,
                verification: Some(Verification::NotVerifiable(
                    Unverifiable::PeerWithoutCommitment
                )),
            }
        );
        assert!(!callee.awaiting_reveal());
        assert_eq!(callee.reveal(caller_nonce), RevealOutcome::Ignored);
    }

    #[test]
    fn descriptions_without_fingerprints_are_not_verifiable() {
        let (caller_nonce, callee_nonce) = nonces(5);
        let mut caller = CallerSide::new(caller_nonce);
        assert_eq!(caller.offer("v=0\r\n"), None);
        let step = caller
            .answer(&sdp("BB:BB"), Some(callee_nonce))
            .expect("answer");
        assert_eq!(
            step.verification,
            Verification::NotVerifiable(Unverifiable::NoFingerprint)
        );
        assert_eq!(step.reveal, None);
    }

    #[test]
    fn a_later_description_must_keep_the_certificate() {
        let (caller_nonce, callee_nonce) = nonces(6);
        let mut caller = CallerSide::new(caller_nonce);
        caller.offer(&sdp("AA:AA"));
        caller.answer(&sdp("BB:BB"), Some(callee_nonce));
        let exchange = Exchange::Caller(caller);
        assert_eq!(exchange.check_later(&sdp("bb:bb")), Ok(()));
        assert_eq!(
            exchange.check_later(&sdp("CC:CC")),
            Err(SecurityFailure::CertificateChanged)
        );
        assert_eq!(
            exchange.remote().map(Fingerprint::as_str),
            Some("SHA-256 BB:BB")
        );
    }

    #[test]
    fn a_man_in_the_middle_gets_one_guess_per_call() {
        // The attacker runs the protocol honestly with each side, with its own
        // certificates. Knowing the callee's code before answering the caller (the best
        // order for it), it still cannot steer the caller's code: that depends on the
        // caller's nonce, hidden behind the commitment until the attacker's answer is out.
        // Over many calls the two codes agree about as often as two random codes do.
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let trials = 3000;
        let mut matched = 0;
        for _ in 0..trials {
            // Leg to the callee: the attacker calls with certificate M1.
            let mut fake_caller = CallerSide::new(Nonce::random(&mut rng));
            let commit = fake_caller.offer(&sdp("11:11"));
            let mut callee = CalleeSide::new(Nonce::random(&mut rng), &sdp("11:11"), commit);
            let nonce = callee.answer(&sdp("BB:BB")).nonce;
            let step = fake_caller.answer(&sdp("BB:BB"), nonce).expect("answer");
            let RevealOutcome::Verified(at_callee) = callee.reveal(step.reveal.expect("reveal"))
            else {
                panic!("the attacker's own leg verifies")
            };
            // Leg to the caller: the attacker answers with certificate M2 and a nonce of
            // its choice; it may pick them knowing `at_callee`, but not the caller's nonce.
            let mut caller = CallerSide::new(Nonce::random(&mut rng));
            caller.offer(&sdp("AA:AA"));
            let chosen = Nonce::random(&mut rng);
            let step = caller.answer(&sdp("22:22"), Some(chosen)).expect("answer");
            if step.verification == Verification::Code(at_callee) {
                matched += 1;
            }
        }
        // P(any match in 3000 trials) = 0.3 %; a grindable code would match every time.
        assert_eq!(
            matched, 0,
            "{matched} of {trials} forged calls showed matching codes"
        );
    }
}
