use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::time::Instant;

use rand::{RngCore, SeedableRng};

use crate::id::{CallId, PeerId};
use crate::sas::{
    CalleeSide, CallerSide, Commitment, Exchange, Fingerprint, Nonce, RevealOutcome,
    SecurityFailure, Verification,
};
use crate::signaling::message::{
    Body, DeclineReason, ErrorCode, HangupReason, IceCandidate, Inbound, Outbound, SasPart,
    SdpKind, ServerError, SessionDescription,
};

use super::command::{Command, Event, Tone};
use super::goodbye::Goodbye;
use super::input::{Input, RtcState};
use super::phase::{EndReason, Failure, Phase, Role};
use super::timings::CallTimings;

/// How often the caller retries an ICE restart while the media path stays down.
const RESTART_RETRY: std::time::Duration = std::time::Duration::from_millis(1500);

/// The timer a live call is waiting on; a call only ever needs one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deadline {
    Ring,
    Connect,
    Reconnect,
}

/// Per-call bookkeeping that a UI never needs to see.
#[derive(Debug)]
struct CallCtx {
    peer: PeerId,
    call_id: Option<CallId>,
    peer_created: bool,
    /// Our offer/answer went out, so trickled candidates may follow it.
    description_sent: bool,
    /// Candidates gathered before our description went out: sending them first would
    /// hand the peer candidates for a session it has not heard of.
    pending_local: Vec<IceCandidate>,
    /// Candidates that arrived while ringing, before there is a peer connection.
    pending_remote: Vec<IceCandidate>,
    seen_remote: HashSet<IceCandidate>,
    remote_offer: Option<SessionDescription>,
    /// We sent a re-offer (ICE restart) and wait for its answer.
    reoffer_pending: bool,
    media_started: bool,
    muted: bool,
    tone: Option<Tone>,
    deadline: Option<(Instant, Deadline)>,
    /// While the media path is down, when the caller tries another ICE restart: a restart
    /// offer sent into a signaling connection that was dying with the path is lost.
    restart_at: Option<Instant>,
    /// This side of the security-code commitment (`crate::sas`).
    sas: Exchange,
    /// The callee's media path is up but the caller's reveal has not come: media waits.
    media_path_up: bool,
    /// This media outage's reconnect timer was held once for our signaling to come back.
    held_for_signaling: bool,
}

impl CallCtx {
    fn new(peer: PeerId, call_id: Option<CallId>, sas: Exchange) -> Self {
        Self {
            peer,
            call_id,
            peer_created: false,
            description_sent: false,
            pending_local: Vec::new(),
            pending_remote: Vec::new(),
            seen_remote: HashSet::new(),
            remote_offer: None,
            reoffer_pending: false,
            media_started: false,
            muted: false,
            tone: None,
            deadline: None,
            restart_at: None,
            sas,
            media_path_up: false,
            held_for_signaling: false,
        }
    }

    /// Legacy (seed) clients send no call IDs; their messages match whatever call we have
    /// with them. Between two new clients the IDs must agree.
    fn owns(&self, from: &PeerId, call_id: Option<&CallId>) -> bool {
        if &self.peer != from {
            return false;
        }
        match (self.call_id.as_ref(), call_id) {
            (Some(ours), Some(theirs)) => ours == theirs,
            _ => true,
        }
    }
}

/// Where the security code's nonces come from: the OS-seeded generator, or a seeded one.
struct NonceSource(Box<dyn RngCore + Send + Sync>);

impl fmt::Debug for NonceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NonceSource")
    }
}

/// One call at a time, driven by [`Input`]s; see the module docs.
#[derive(Debug)]
pub struct CallMachine {
    timings: CallTimings,
    own_id: Option<PeerId>,
    phase: Phase,
    call: Option<CallCtx>,
    commands: VecDeque<Command>,
    nonces: NonceSource,
    /// Our signaling connection is down (lost and not registered again).
    signaling_down: bool,
}

impl CallMachine {
    pub fn new(timings: CallTimings) -> Self {
        Self::with_nonces(timings, Box::new(rand::rngs::StdRng::from_os_rng()))
    }

    /// With nonces from `rng` (a seeded one makes a test repeatable). It must be a
    /// cryptographic generator outside tests: the nonces keep the security code unforgeable.
    pub fn with_nonces(timings: CallTimings, rng: Box<dyn RngCore + Send + Sync>) -> Self {
        Self {
            timings,
            own_id: None,
            phase: Phase::Idle,
            call: None,
            commands: VecDeque::new(),
            nonces: NonceSource(rng),
            signaling_down: false,
        }
    }

    fn nonce(&mut self) -> Nonce {
        Nonce::random(self.nonces.0.as_mut())
    }

    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    pub fn own_id(&self) -> Option<&PeerId> {
        self.own_id.as_ref()
    }

    /// The next command to carry out, in order. Drain after every `handle`.
    pub fn poll_command(&mut self) -> Option<Command> {
        self.commands.pop_front()
    }

    /// When to call `handle(Input::Tick, now)` next, if any timer is armed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ctx = self.call.as_ref()?;
        match (ctx.deadline.map(|(at, _)| at), ctx.restart_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn handle(&mut self, input: Input, now: Instant) {
        match input {
            // Re-registering after a signaling outage needs nothing from the call: the
            // signaling session sends again what the old connection may have lost (our
            // last restart offer, typically). A fresh offer on top would cross it, and the
            // second answer would find the peer connection already stable.
            Input::Registered { id } => {
                self.own_id = Some(id);
                self.signaling_down = false;
            }
            Input::SignalingLost => self.signaling_down = true,
            Input::PlaceCall { peer, call_id } => self.place_call(peer, call_id, now),
            Input::Accept => self.accept(now),
            Input::Decline => self.decline(),
            Input::Hangup => self.hangup(),
            Input::SetMuted(muted) => self.set_muted(muted),
            Input::Signal(inbound) => self.on_signal(inbound, now),
            Input::ServerError(error) => self.on_server_error(error),
            Input::LocalDescription(desc) => self.on_local_description(desc),
            Input::LocalCandidate(candidate) => self.on_local_candidate(candidate),
            Input::Rtc(state) => self.on_rtc(state, now),
            Input::PeerGoodbye(goodbye) => self.on_peer_goodbye(goodbye),
            Input::Failure(why) => self.on_failure(why),
            Input::Tick => self.on_tick(now),
        }
    }

    // ----- user actions -------------------------------------------------------------

    fn place_call(&mut self, peer: PeerId, call_id: CallId, now: Instant) {
        if self.phase.is_live() {
            self.ignore("a call is already in progress");
            return;
        }
        if self.own_id.as_ref() == Some(&peer) {
            let reason = EndReason::Failed(Failure::OwnId);
            self.push(Command::Ended { peer, reason });
            return;
        }
        let sas = Exchange::Caller(CallerSide::new(self.nonce()));
        let mut ctx = CallCtx::new(peer.clone(), Some(call_id.clone()), sas);
        ctx.peer_created = true;
        ctx.deadline = Some((now + self.timings.ring_timeout, Deadline::Ring));
        self.call = Some(ctx);
        self.set_phase(Phase::Outgoing {
            peer,
            call_id,
            since: now,
            ringing: false,
        });
        self.push(Command::CreatePeer {
            role: Role::Caller,
            remote_offer: None,
        });
    }

    fn accept(&mut self, now: Instant) {
        let Phase::Incoming { peer, call_id, .. } = &self.phase else {
            self.ignore("accept without an incoming call");
            return;
        };
        let (peer, call_id) = (peer.clone(), call_id.clone());
        let connect_timeout = self.timings.connect_timeout;
        let Some(ctx) = self.call.as_mut() else {
            return;
        };
        ctx.peer_created = true;
        ctx.deadline = Some((now + connect_timeout, Deadline::Connect));
        let offer = ctx.remote_offer.take();
        let queued = std::mem::take(&mut ctx.pending_remote);
        self.set_tone(None);
        self.set_phase(Phase::Connecting {
            peer,
            call_id,
            role: Role::Callee,
            since: now,
        });
        self.push(Command::CreatePeer {
            role: Role::Callee,
            remote_offer: offer,
        });
        for candidate in queued {
            self.push(Command::AddRemoteCandidate(candidate));
        }
    }

    fn decline(&mut self) {
        if !matches!(self.phase, Phase::Incoming { .. }) {
            self.ignore("decline without an incoming call");
            return;
        }
        self.send(Body::Decline {
            reason: Some(DeclineReason::Declined),
        });
        self.end(EndReason::DeclinedByUs);
    }

    fn hangup(&mut self) {
        match &self.phase {
            Phase::Outgoing { .. } => {
                if self.call.as_ref().is_some_and(|c| c.description_sent) {
                    self.send(Body::Hangup {
                        reason: HangupReason::Cancel,
                    });
                }
                self.end(EndReason::Cancelled);
            }
            Phase::Incoming { .. } => self.decline(),
            Phase::Connecting { .. } | Phase::InCall { .. } => {
                self.send(Body::Hangup {
                    reason: HangupReason::Hangup,
                });
                // Both ways: the signaling one may wait out a server outage, while the
                // peer's media timeout runs.
                self.push(Command::SayGoodbye(Goodbye::HungUp));
                self.end(EndReason::HungUp);
            }
            Phase::Idle => self.ignore("hang up without a call"),
        }
    }

    fn set_muted(&mut self, muted: bool) {
        let Some(ctx) = self.call.as_mut() else {
            return;
        };
        if ctx.muted == muted {
            return;
        }
        ctx.muted = muted;
        self.push(Command::SetMuted(muted));
        if let Phase::InCall { muted: shown, .. } = &mut self.phase {
            *shown = muted;
            let phase = self.phase.clone();
            self.push(Command::Notify(Event::PhaseChanged(phase)));
        }
    }

    // ----- signaling ----------------------------------------------------------------

    fn on_signal(&mut self, inbound: Inbound, now: Instant) {
        let Inbound {
            from,
            call_id,
            body,
        } = inbound;
        let owned = self
            .call
            .as_ref()
            .is_some_and(|ctx| ctx.owns(&from, call_id.as_ref()));
        match body {
            Body::Description { desc, sas } if desc.kind == SdpKind::Offer => {
                let commit = match sas {
                    Some(SasPart::Commit(commit)) => Some(commit),
                    _ => None,
                };
                self.on_offer(from, call_id, Offer { desc, commit }, owned, now)
            }
            Body::Description { desc, sas } => {
                let nonce = match sas {
                    Some(SasPart::Nonce(nonce)) => Some(nonce),
                    _ => None,
                };
                self.on_answer(desc, nonce, owned, now)
            }
            Body::SasReveal { nonce } => self.on_reveal(nonce, owned, now),
            Body::Ice(candidate) => self.on_remote_candidate(candidate, owned),
            Body::Ringing => {
                if !owned {
                    return self.ignore("ringing for another call");
                }
                if let Phase::Outgoing { ringing, .. } = &mut self.phase
                    && !*ringing
                {
                    *ringing = true;
                    let phase = self.phase.clone();
                    self.push(Command::Notify(Event::PhaseChanged(phase)));
                    self.set_tone(Some(Tone::Ringback));
                }
            }
            Body::Decline { reason } => {
                if owned && matches!(self.phase, Phase::Outgoing { .. }) {
                    let reason = match reason {
                        Some(DeclineReason::NoAnswer) => EndReason::NoAnswer,
                        Some(DeclineReason::Busy) => EndReason::Busy,
                        _ => EndReason::Declined,
                    };
                    self.end(reason);
                } else {
                    self.ignore("decline for another call");
                }
            }
            Body::Busy => {
                if owned && matches!(self.phase, Phase::Outgoing { .. }) {
                    self.end(EndReason::Busy);
                } else {
                    self.ignore("busy for another call");
                }
            }
            Body::Hangup { reason } => {
                if !owned {
                    return self.ignore("hang-up for another call");
                }
                let why = match (&self.phase, reason) {
                    (Phase::Outgoing { .. }, HangupReason::NoAnswer) => EndReason::NoAnswer,
                    // The callee accepted, but its side of the media path failed before our
                    // answer arrived: that is no refusal.
                    (
                        Phase::Outgoing { .. },
                        HangupReason::Failed | HangupReason::ConnectFailed,
                    ) => EndReason::ConnectFailed,
                    (Phase::Outgoing { .. }, _) => EndReason::Declined,
                    (Phase::Incoming { .. }, _) => EndReason::Missed,
                    (_, HangupReason::SecurityCheckFailed) => {
                        EndReason::SecurityCheckFailed(SecurityFailure::ReportedByPeer)
                    }
                    (_, HangupReason::ConnectionLost) => EndReason::ConnectionLost,
                    (_, HangupReason::ConnectFailed) => EndReason::ConnectFailed,
                    _ => EndReason::HungUpByPeer,
                };
                self.end(why);
            }
        }
    }

    fn on_offer(
        &mut self,
        from: PeerId,
        call_id: Option<CallId>,
        offer: Offer,
        owned: bool,
        now: Instant,
    ) {
        let same_peer = self.phase.peer() == Some(&from) && self.phase.is_live();
        match &self.phase {
            _ if !self.phase.is_live() => self.ring(from, call_id, offer, now),
            Phase::Outgoing { .. } if same_peer => self.on_glare(from, call_id, offer, now),
            Phase::Incoming { .. } if same_peer => {
                if owned {
                    return self.ignore("duplicate offer");
                }
                // The caller gave up and dialled again before we answered: ring for the new call.
                let sas = self.callee_side(&offer);
                self.peer_certificate(&from, &sas);
                if let Some(ctx) = self.call.as_mut() {
                    ctx.call_id = call_id.clone();
                    ctx.remote_offer = Some(offer.desc);
                    ctx.sas = sas;
                    ctx.pending_remote.clear();
                    ctx.seen_remote.clear();
                }
                if let Phase::Incoming { call_id: shown, .. } = &mut self.phase {
                    *shown = call_id.clone();
                }
                self.send(Body::Ringing);
            }
            Phase::Connecting { .. } | Phase::InCall { .. } if same_peer => {
                if owned {
                    // A re-offer in a running call: the peer restarts ICE.
                    self.apply_later(offer.desc);
                } else {
                    // The peer dialled us afresh, so it has lost the old call (e.g. it restarted).
                    self.end(EndReason::ConnectionLost);
                    self.ring(from, call_id, offer, now);
                }
            }
            _ => {
                self.commands.push_back(Command::Send(Outbound {
                    to: from.clone(),
                    call_id,
                    body: Body::Busy,
                }));
                self.push(Command::Notify(Event::RejectedBusy { peer: from }));
            }
        }
    }

    /// Both sides called each other at once. The side with the greater ID yields: it drops
    /// its own offer and answers the other one without ringing, since its user already
    /// asked for exactly this call. The other side ignores the losing offer.
    fn on_glare(&mut self, from: PeerId, call_id: Option<CallId>, offer: Offer, now: Instant) {
        let we_yield = self.own_id.as_ref().is_none_or(|own| *own > from);
        if !we_yield {
            return self.ignore("glare: keeping our own offer");
        }
        if self.call.as_ref().is_some_and(|c| c.tone.is_some()) {
            self.push(Command::PlayTone(None));
        }
        self.push(Command::ClosePeer);
        let sas = self.callee_side(&offer);
        self.peer_certificate(&from, &sas);
        let mut ctx = CallCtx::new(from.clone(), call_id.clone(), sas);
        ctx.peer_created = true;
        ctx.deadline = Some((now + self.timings.connect_timeout, Deadline::Connect));
        self.call = Some(ctx);
        self.set_phase(Phase::Connecting {
            peer: from,
            call_id,
            role: Role::Callee,
            since: now,
        });
        self.push(Command::CreatePeer {
            role: Role::Callee,
            remote_offer: Some(offer.desc),
        });
    }

    fn ring(&mut self, from: PeerId, call_id: Option<CallId>, offer: Offer, now: Instant) {
        let sas = self.callee_side(&offer);
        // Before the phase: whoever shows the ringing can first check a pinned contact.
        self.peer_certificate(&from, &sas);
        let mut ctx = CallCtx::new(from.clone(), call_id.clone(), sas);
        ctx.remote_offer = Some(offer.desc);
        ctx.deadline = Some((now + self.timings.ring_timeout, Deadline::Ring));
        self.call = Some(ctx);
        self.set_phase(Phase::Incoming {
            peer: from,
            call_id,
            since: now,
        });
        self.send(Body::Ringing);
        self.set_tone(Some(Tone::Ringtone));
    }

    fn on_answer(
        &mut self,
        answer: SessionDescription,
        callee_nonce: Option<Nonce>,
        owned: bool,
        now: Instant,
    ) {
        if !owned {
            return self.ignore("answer for another call");
        }
        let connect_timeout = self.timings.connect_timeout;
        match &self.phase {
            Phase::Outgoing { peer, call_id, .. } => {
                let (peer, call_id) = (peer.clone(), call_id.clone());
                let Some(ctx) = self.call.as_mut() else {
                    return;
                };
                ctx.deadline = Some((now + connect_timeout, Deadline::Connect));
                let step = match &mut ctx.sas {
                    Exchange::Caller(side) => side.answer(&answer.sdp, callee_nonce),
                    Exchange::Callee(_) => None,
                };
                let sas = ctx.sas.clone();
                self.set_tone(None);
                self.peer_certificate(&peer, &sas);
                if let Some(step) = step {
                    self.push(Command::Notify(Event::Verification(step.verification)));
                    if let Some(nonce) = step.reveal {
                        self.send(Body::SasReveal { nonce });
                    }
                }
                self.set_phase(Phase::Connecting {
                    peer,
                    call_id: Some(call_id),
                    role: Role::Caller,
                    since: now,
                });
                self.push(Command::ApplyRemote(answer));
            }
            Phase::Connecting { .. } | Phase::InCall { .. }
                if self.call.as_ref().is_some_and(|c| c.reoffer_pending) =>
            {
                // During an outage several restart offers may be in flight and their answers
                // arrive in the order the peer got the offers: apply each, the last wins.
                if let Some(ctx) = self.call.as_mut()
                    && ctx.restart_at.is_none()
                {
                    ctx.reoffer_pending = false;
                }
                self.apply_later(answer);
            }
            _ => self.ignore("unexpected answer"),
        }
    }

    /// The caller's nonce: the callee checks it against the offer's commitment, and media
    /// that waited for it may start.
    fn on_reveal(&mut self, nonce: Nonce, owned: bool, now: Instant) {
        let Some(ctx) = self.call.as_mut().filter(|_| owned) else {
            return self.ignore("security reveal for another call");
        };
        let Exchange::Callee(side) = &mut ctx.sas else {
            return self.ignore("security reveal to the caller");
        };
        match side.reveal(nonce) {
            RevealOutcome::Verified(code) => {
                let start = ctx.media_path_up && matches!(self.phase, Phase::Connecting { .. });
                self.push(Command::Notify(Event::Verification(Verification::Code(
                    code,
                ))));
                if start {
                    self.start_call(now);
                }
            }
            RevealOutcome::Failed(why) => self.security_failure(why),
            RevealOutcome::Ignored => self.ignore("security reveal nobody waited for"),
        }
    }

    fn on_remote_candidate(&mut self, candidate: IceCandidate, owned: bool) {
        let Some(ctx) = self.call.as_mut().filter(|_| owned) else {
            return self.ignore("candidate for another call");
        };
        if !ctx.seen_remote.insert(candidate.clone()) {
            return self.ignore("duplicate candidate");
        }
        if ctx.peer_created {
            self.push(Command::AddRemoteCandidate(candidate));
        } else {
            ctx.pending_remote.push(candidate);
        }
    }

    fn on_server_error(&mut self, error: ServerError) {
        let about_our_call = self.call.as_ref().is_some_and(|ctx| {
            error.target.as_ref() == Some(&ctx.peer)
                && (error.call_id.is_none() || error.call_id == ctx.call_id)
        });
        if !about_our_call {
            let what = format!("server error {:?}: {}", error.code, error.message);
            return self.push(Command::Notify(Event::Ignored { what }));
        }
        match (&self.phase, &error.code) {
            (Phase::Outgoing { .. }, ErrorCode::PeerNotFound) => self.end(EndReason::PeerNotFound),
            (Phase::Outgoing { .. }, _) => self.end(EndReason::Failed(Failure::Refused {
                code: error.code,
                message: error.message,
            })),
            (Phase::Incoming { .. }, ErrorCode::PeerNotFound) => self.end(EndReason::Missed),
            // Once media is being set up, the peer may drop off signaling and still talk to
            // us directly; the ICE timers decide whether the call survives.
            _ => {
                let what = format!("server error {:?}: {}", error.code, error.message);
                self.push(Command::Notify(Event::Ignored { what }));
            }
        }
    }

    // ----- our peer connection ------------------------------------------------------

    fn on_local_description(&mut self, desc: SessionDescription) {
        let Some(ctx) = self.call.as_mut().filter(|c| c.peer_created) else {
            return self.ignore("local description without a call");
        };
        if desc.kind == SdpKind::Offer
            && matches!(self.phase, Phase::Connecting { .. } | Phase::InCall { .. })
        {
            ctx.reoffer_pending = true;
        }
        ctx.description_sent = true;
        let queued = std::mem::take(&mut ctx.pending_local);
        // The first offer carries the caller's commitment, the first answer the callee's
        // nonce; ICE restarts carry nothing.
        let (sas, verdict) = match (desc.kind, &mut ctx.sas) {
            (SdpKind::Offer, Exchange::Caller(side)) => {
                (side.offer(&desc.sdp).map(SasPart::Commit), None)
            }
            (SdpKind::Answer, Exchange::Callee(side)) => {
                let step = side.answer(&desc.sdp);
                (step.nonce.map(SasPart::Nonce), step.verification)
            }
            _ => (None, None),
        };
        self.send(Body::Description { desc, sas });
        if let Some(verdict) = verdict {
            self.push(Command::Notify(Event::Verification(verdict)));
        }
        for candidate in queued {
            self.send(Body::Ice(candidate));
        }
    }

    fn on_local_candidate(&mut self, candidate: IceCandidate) {
        let Some(ctx) = self.call.as_mut().filter(|c| c.peer_created) else {
            return self.ignore("local candidate without a call");
        };
        if ctx.description_sent {
            self.send(Body::Ice(candidate));
        } else {
            ctx.pending_local.push(candidate);
        }
    }

    fn on_rtc(&mut self, state: RtcState, now: Instant) {
        if !self.call.as_ref().is_some_and(|c| c.peer_created) {
            return self.ignore("peer connection state without a call");
        }
        match (&self.phase, state) {
            (Phase::Connecting { .. }, RtcState::Connected) => {
                if let Some(ctx) = self.call.as_mut().filter(|c| c.sas.awaiting_reveal()) {
                    // No audio to a peer that has not opened its commitment yet.
                    ctx.media_path_up = true;
                    return self.ignore("media path up; waiting for the caller's security reveal");
                }
                self.start_call(now)
            }
            (Phase::Connecting { .. }, RtcState::Disconnected) => {
                if let Some(ctx) = self.call.as_mut() {
                    ctx.media_path_up = false;
                }
            }
            (Phase::InCall { .. }, RtcState::Connected) => {
                let recovered = self
                    .call
                    .as_mut()
                    .and_then(|ctx| {
                        ctx.restart_at = None;
                        ctx.reoffer_pending = false;
                        ctx.held_for_signaling = false;
                        ctx.deadline.take()
                    })
                    .is_some();
                if recovered {
                    self.push(Command::Notify(Event::MediaPath { up: true }));
                }
            }
            (Phase::InCall { role, .. }, RtcState::Disconnected) => {
                let role = *role;
                let grace = self.timings.reconnect_grace;
                let Some(ctx) = self.call.as_mut().filter(|c| c.deadline.is_none()) else {
                    return; // already waiting for this outage to end
                };
                ctx.deadline = Some((now + grace, Deadline::Reconnect));
                // The path may have changed under us (new network, NAT mapping gone): the
                // caller, as ICE's controlling side, restarts ICE over signaling at once
                // rather than waiting out the grace period, and again while it stays down.
                if role == Role::Caller {
                    ctx.restart_at = Some(now + RESTART_RETRY);
                }
                self.push(Command::Notify(Event::MediaPath { up: false }));
                if role == Role::Caller {
                    self.push(Command::RestartIce);
                }
            }
            (Phase::Connecting { .. } | Phase::Outgoing { .. }, RtcState::Failed) => {
                self.send(Body::Hangup {
                    reason: HangupReason::ConnectFailed,
                });
                self.end(EndReason::ConnectFailed);
            }
            (Phase::InCall { .. }, RtcState::Failed | RtcState::Closed) => {
                self.send(Body::Hangup {
                    reason: HangupReason::ConnectionLost,
                });
                self.end(EndReason::ConnectionLost);
            }
            _ => {}
        }
    }

    /// The peer left and said so over the media path; its signaling hang-up, if it comes,
    /// then finds no call and is ignored.
    fn on_peer_goodbye(&mut self, goodbye: Goodbye) {
        match (&self.phase, goodbye) {
            (Phase::Connecting { .. } | Phase::InCall { .. }, Goodbye::HungUp) => {
                self.end(EndReason::HungUpByPeer)
            }
            _ => self.ignore("goodbye without a connected call"),
        }
    }

    fn start_call(&mut self, now: Instant) {
        let Phase::Connecting {
            peer,
            call_id,
            role,
            ..
        } = &self.phase
        else {
            return;
        };
        let (peer, call_id, role) = (peer.clone(), call_id.clone(), *role);
        let Some(ctx) = self.call.as_mut() else {
            return;
        };
        ctx.deadline = None;
        ctx.media_started = true;
        let muted = ctx.muted;
        self.set_phase(Phase::InCall {
            peer,
            call_id,
            role,
            since: now,
            muted,
        });
        self.push(Command::StartMedia);
        if muted {
            self.push(Command::SetMuted(true));
        }
    }

    fn on_failure(&mut self, why: Failure) {
        match &self.phase {
            Phase::Incoming { .. } => self.send(Body::Decline {
                reason: Some(DeclineReason::Failed),
            }),
            // Past the offer the peer knows about the call and must hear that it failed.
            Phase::Connecting { .. } | Phase::InCall { .. } => self.send(Body::Hangup {
                reason: HangupReason::Failed,
            }),
            Phase::Outgoing { .. } => {
                if self.call.as_ref().is_some_and(|c| c.description_sent) {
                    self.send(Body::Hangup {
                        reason: HangupReason::Failed,
                    });
                }
            }
            Phase::Idle => {
                let what = format!("failure without a call: {why}");
                return self.push(Command::Notify(Event::Ignored { what }));
            }
        }
        self.end(EndReason::Failed(why));
    }

    fn on_tick(&mut self, now: Instant) {
        if let Some(ctx) = self.call.as_mut()
            && ctx.restart_at.is_some_and(|at| at <= now)
        {
            ctx.restart_at = Some(now + RESTART_RETRY);
            self.push(Command::RestartIce);
        }
        let Some((at, deadline)) = self.call.as_ref().and_then(|c| c.deadline) else {
            return;
        };
        if now < at {
            return;
        }
        if deadline == Deadline::Reconnect
            && matches!(self.phase, Phase::InCall { .. })
            && self.hold_for_signaling(now)
        {
            return;
        }
        match (&self.phase, deadline) {
            (Phase::Outgoing { .. }, Deadline::Ring) => {
                self.send(Body::Hangup {
                    reason: HangupReason::NoAnswer,
                });
                self.end(EndReason::NoAnswer);
            }
            (Phase::Incoming { .. }, Deadline::Ring) => {
                self.send(Body::Decline {
                    reason: Some(DeclineReason::NoAnswer),
                });
                self.end(EndReason::Missed);
            }
            (Phase::Connecting { .. }, Deadline::Connect)
                if self
                    .call
                    .as_ref()
                    .is_some_and(|c| c.media_path_up && c.sas.awaiting_reveal()) =>
            {
                self.security_failure(SecurityFailure::RevealMissing);
            }
            (Phase::Connecting { .. }, Deadline::Connect) => {
                self.send(Body::Hangup {
                    reason: HangupReason::ConnectFailed,
                });
                self.end(EndReason::ConnectFailed);
            }
            (Phase::InCall { .. }, Deadline::Reconnect) => {
                self.send(Body::Hangup {
                    reason: HangupReason::ConnectionLost,
                });
                self.end(EndReason::ConnectionLost);
            }
            _ => {
                if let Some(ctx) = self.call.as_mut() {
                    ctx.deadline = None;
                }
            }
        }
    }

    /// The media path stayed down through its grace while our signaling was down too: the
    /// peer may have hung up, with its hang-up (from an old client or a browser, which send
    /// no goodbye over the media path) waiting for the server. Wait for it once, a bounded
    /// while; true if the timer was moved.
    fn hold_for_signaling(&mut self, now: Instant) -> bool {
        let hold = self.timings.signaling_hold;
        let Some(ctx) = self.call.as_mut() else {
            return false;
        };
        if !self.signaling_down || ctx.held_for_signaling {
            return false;
        }
        ctx.held_for_signaling = true;
        ctx.deadline = Some((now + hold, Deadline::Reconnect));
        true
    }

    // ----- the security code ---------------------------------------------------------

    fn callee_side(&mut self, offer: &Offer) -> Exchange {
        Exchange::Callee(CalleeSide::new(self.nonce(), &offer.desc.sdp, offer.commit))
    }

    fn peer_certificate(&mut self, peer: &PeerId, sas: &Exchange) {
        if let Some(fingerprint) = sas.remote() {
            self.push(Command::Notify(Event::PeerCertificate {
                peer: peer.clone(),
                fingerprint: Fingerprint::clone(fingerprint),
            }));
        }
    }

    /// A re-offer or its answer (ICE restart) in a running call: applied, unless it
    /// declares another certificate than the one the call was verified with.
    fn apply_later(&mut self, desc: SessionDescription) {
        let check = self
            .call
            .as_ref()
            .map_or(Ok(()), |ctx| ctx.sas.check_later(&desc.sdp));
        match check {
            Ok(()) => self.push(Command::ApplyRemote(desc)),
            Err(why) => self.security_failure(why),
        }
    }

    /// Ends the call and tells the peer why, so that both screens warn.
    fn security_failure(&mut self, why: SecurityFailure) {
        self.send(Body::Hangup {
            reason: HangupReason::SecurityCheckFailed,
        });
        self.end(EndReason::SecurityCheckFailed(why));
    }

    // ----- helpers ------------------------------------------------------------------

    fn end(&mut self, reason: EndReason) {
        let Some(ctx) = self.call.take() else {
            return;
        };
        if ctx.media_started {
            self.push(Command::StopMedia);
        }
        if ctx.peer_created {
            self.push(Command::ClosePeer);
        }
        if ctx.tone.is_some() {
            self.push(Command::PlayTone(None));
        }
        // Back to Idle without a phase notification: `Ended` is the one report of the end.
        self.phase = Phase::Idle;
        self.push(Command::Ended {
            peer: ctx.peer,
            reason,
        });
    }

    /// Sends `body` to the peer of the current call, tagged with its call ID.
    fn send(&mut self, body: Body) {
        if let Some(ctx) = &self.call {
            let out = Outbound {
                to: ctx.peer.clone(),
                call_id: ctx.call_id.clone(),
                body,
            };
            self.push(Command::Send(out));
        }
    }

    fn set_tone(&mut self, tone: Option<Tone>) {
        if let Some(ctx) = self.call.as_mut()
            && ctx.tone != tone
        {
            ctx.tone = tone;
            self.push(Command::PlayTone(tone));
        }
    }

    fn set_phase(&mut self, phase: Phase) {
        self.phase = phase.clone();
        self.push(Command::Notify(Event::PhaseChanged(phase)));
    }

    fn ignore(&mut self, what: &str) {
        self.push(Command::Notify(Event::Ignored { what: what.into() }));
    }

    fn push(&mut self, command: Command) {
        self.commands.push_back(command);
    }
}

/// A remote offer with the caller's commitment, if it made one.
#[derive(Debug)]
struct Offer {
    desc: SessionDescription,
    commit: Option<Commitment>,
}
