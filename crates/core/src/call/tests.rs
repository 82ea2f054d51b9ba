//! Every transition of the call machine, driven with a fake clock: no network, no audio.

use std::time::{Duration, Instant};

use super::*;
use crate::id::{CallId, PeerId};
use crate::signaling::message::{
    Body, DeclineReason, ErrorCode, HangupReason, IceCandidate, Inbound, Outbound, SdpKind,
    ServerError, SessionDescription,
};

const ME: &str = "bbb-bbb-bbb";
const PEER: &str = "ccc-ccc-ccc";
const OTHER: &str = "ddd-ddd-ddd";

fn id(s: &str) -> PeerId {
    PeerId::parse(s).expect("test id")
}

fn cid(s: &str) -> CallId {
    CallId::parse(s).expect("test call id")
}

fn sdp(kind: SdpKind, tag: &str) -> SessionDescription {
    SessionDescription {
        kind,
        sdp: format!("v=0 {tag}"),
    }
}

fn cand(n: u32) -> IceCandidate {
    IceCandidate {
        candidate: format!(
            "candidate:{n} 1 udp 2130706431 127.0.0.1 {} typ host",
            5000 + n
        ),
        mid: Some("0".into()),
        mline_index: Some(0),
    }
}

fn from(peer: &str, call: Option<&str>, body: Body) -> Input {
    Input::Signal(Inbound {
        from: id(peer),
        call_id: call.map(cid),
        body,
    })
}

struct Harness {
    m: CallMachine,
    t0: Instant,
    now: Instant,
    /// How the last call ended, until the next phase change.
    ended: Option<EndReason>,
}

impl Harness {
    fn new() -> Self {
        let t0 = Instant::now();
        let mut m = CallMachine::new(CallTimings::default());
        m.handle(Input::Registered { id: id(ME) }, t0);
        Self {
            m,
            t0,
            now: t0,
            ended: None,
        }
    }

    fn with_id(own: &str) -> Self {
        let mut h = Self::new();
        h.m.handle(Input::Registered { id: id(own) }, h.now);
        h
    }

    fn at(&mut self, after: Duration) -> &mut Self {
        self.now = self.t0 + after;
        self
    }

    /// Feeds one input and returns every command it produced, minus notifications.
    fn run(&mut self, input: Input) -> Vec<Command> {
        let mut out = self.run_all(input);
        out.retain(|c| !matches!(c, Command::Notify(_)));
        out
    }

    /// Like `run` but keeps the notifications.
    fn run_all(&mut self, input: Input) -> Vec<Command> {
        self.m.handle(input, self.now);
        let out: Vec<Command> = std::iter::from_fn(|| self.m.poll_command()).collect();
        for c in &out {
            match c {
                Command::Notify(Event::PhaseChanged(_)) => self.ended = None,
                Command::Ended { reason, .. } => self.ended = Some(reason.clone()),
                _ => {}
            }
        }
        out
    }

    fn phase(&self) -> &Phase {
        self.m.phase()
    }

    /// How the call ended, while the machine is idle after it.
    fn ended_with(&self) -> Option<&EndReason> {
        self.ended.as_ref().filter(|_| !self.m.phase().is_live())
    }

    /// Idle → Outgoing with our offer sent.
    fn dial(&mut self) {
        let cmds = self.run(Input::PlaceCall {
            peer: id(PEER),
            call_id: cid("call1"),
        });
        assert_eq!(
            cmds,
            vec![Command::CreatePeer {
                role: Role::Caller,
                remote_offer: None
            }]
        );
        let cmds = self.run(Input::LocalDescription(sdp(SdpKind::Offer, "offer")));
        assert_eq!(cmds, vec![send(PEER, Some("call1"), offer_body("offer"))]);
    }

    /// … → Connecting (answer applied).
    fn answered(&mut self) {
        self.dial();
        let cmds = self.run(from(PEER, Some("call1"), answer_body("answer")));
        assert_eq!(
            cmds,
            vec![Command::ApplyRemote(sdp(SdpKind::Answer, "answer"))]
        );
        assert!(matches!(
            self.phase(),
            Phase::Connecting {
                role: Role::Caller,
                ..
            }
        ));
    }

    /// … → InCall as caller.
    fn in_call(&mut self) {
        self.answered();
        let cmds = self.run(Input::Rtc(RtcState::Connected));
        assert_eq!(cmds, vec![Command::StartMedia]);
        assert!(matches!(self.phase(), Phase::InCall { .. }));
    }

    /// Idle → Incoming (ringing).
    fn incoming(&mut self) {
        let cmds = self.run(from(PEER, Some("inc1"), offer_body("their-offer")));
        assert_eq!(
            cmds,
            vec![
                send(PEER, Some("inc1"), Body::Ringing),
                Command::PlayTone(Some(Tone::Ringtone)),
            ]
        );
        assert!(matches!(self.phase(), Phase::Incoming { .. }));
    }
}

fn offer_body(tag: &str) -> Body {
    Body::Description {
        desc: sdp(SdpKind::Offer, tag),
        sas: None,
    }
}

fn answer_body(tag: &str) -> Body {
    Body::Description {
        desc: sdp(SdpKind::Answer, tag),
        sas: None,
    }
}

fn send(to: &str, call: Option<&str>, body: Body) -> Command {
    Command::Send(Outbound {
        to: id(to),
        call_id: call.map(cid),
        body,
    })
}

fn hangup(reason: &str) -> Body {
    Body::Hangup {
        reason: HangupReason::parse(reason),
    }
}

fn decline(reason: &str) -> Body {
    Body::Decline {
        reason: Some(DeclineReason::parse(reason)),
    }
}

/// The end of the call with `PEER`.
fn ended(reason: EndReason) -> Command {
    Command::Ended {
        peer: id(PEER),
        reason,
    }
}

// ----- outgoing -------------------------------------------------------------------------

#[test]
fn starts_idle_without_timers() {
    let h = Harness::new();
    assert_eq!(h.phase(), &Phase::Idle);
    assert_eq!(h.m.poll_timeout(), None);
    assert_eq!(h.m.own_id(), Some(&id(ME)));
}

#[test]
fn caller_happy_path_to_in_call_and_hangup() {
    let mut h = Harness::new();
    h.in_call();
    let cmds = h.run(Input::Hangup);
    assert_eq!(
        cmds,
        vec![
            send(PEER, Some("call1"), hangup("hangup")),
            Command::SayGoodbye(Goodbye::HungUp),
            Command::StopMedia,
            Command::ClosePeer,
            ended(EndReason::HungUp),
        ]
    );
    assert_eq!(h.ended_with(), Some(&EndReason::HungUp));
    assert_eq!(h.m.poll_timeout(), None);
}

#[test]
fn local_candidates_wait_for_the_offer_then_trickle() {
    let mut h = Harness::new();
    h.run(Input::PlaceCall {
        peer: id(PEER),
        call_id: cid("call1"),
    });
    assert!(h.run(Input::LocalCandidate(cand(1))).is_empty());
    assert!(h.run(Input::LocalCandidate(cand(2))).is_empty());
    let cmds = h.run(Input::LocalDescription(sdp(SdpKind::Offer, "o")));
    assert_eq!(
        cmds,
        vec![
            send(PEER, Some("call1"), offer_body("o")),
            send(PEER, Some("call1"), Body::Ice(cand(1))),
            send(PEER, Some("call1"), Body::Ice(cand(2))),
        ]
    );
    // After the offer, each new candidate goes out at once (trickle ICE).
    assert_eq!(
        h.run(Input::LocalCandidate(cand(3))),
        vec![send(PEER, Some("call1"), Body::Ice(cand(3)))]
    );
}

#[test]
fn remote_ringing_starts_ringback_once() {
    let mut h = Harness::new();
    h.dial();
    let all = h.run_all(from(PEER, Some("call1"), Body::Ringing));
    assert!(all.contains(&Command::PlayTone(Some(Tone::Ringback))));
    assert!(matches!(h.phase(), Phase::Outgoing { ringing: true, .. }));
    assert!(h.run(from(PEER, Some("call1"), Body::Ringing)).is_empty());
    // The answer stops the ringback.
    let cmds = h.run(from(PEER, Some("call1"), answer_body("a")));
    assert_eq!(
        cmds,
        vec![
            Command::PlayTone(None),
            Command::ApplyRemote(sdp(SdpKind::Answer, "a"))
        ]
    );
}

#[test]
fn remote_candidates_are_forwarded_and_deduplicated() {
    let mut h = Harness::new();
    h.dial();
    // Before the answer: forwarded (the peer layer queues until the answer is applied).
    assert_eq!(
        h.run(from(PEER, Some("call1"), Body::Ice(cand(7)))),
        vec![Command::AddRemoteCandidate(cand(7))]
    );
    assert!(
        h.run(from(PEER, Some("call1"), Body::Ice(cand(7))))
            .is_empty()
    );
    h.run(from(PEER, Some("call1"), answer_body("a")));
    assert_eq!(
        h.run(from(PEER, Some("call1"), Body::Ice(cand(8)))),
        vec![Command::AddRemoteCandidate(cand(8))]
    );
}

#[test]
fn declined_call_ends_declined() {
    let mut h = Harness::new();
    h.dial();
    let cmds = h.run(from(PEER, Some("call1"), decline("declined")));
    assert_eq!(cmds, vec![Command::ClosePeer, ended(EndReason::Declined)]);
}

#[test]
fn decline_reasons_map_to_end_reasons() {
    for (reason, expect) in [
        (Some("no_answer"), EndReason::NoAnswer),
        (Some("busy"), EndReason::Busy),
        (None, EndReason::Declined),
        (Some("something new"), EndReason::Declined),
    ] {
        let mut h = Harness::new();
        h.dial();
        h.run(from(
            PEER,
            Some("call1"),
            Body::Decline {
                reason: reason.map(DeclineReason::parse),
            },
        ));
        assert_eq!(h.ended_with(), Some(&expect), "reason {reason:?}");
    }
}

#[test]
fn busy_peer_ends_busy() {
    let mut h = Harness::new();
    h.dial();
    h.run(from(PEER, Some("call1"), Body::Busy));
    assert_eq!(h.ended_with(), Some(&EndReason::Busy));
}

#[test]
fn unknown_peer_ends_peer_not_found() {
    let mut h = Harness::new();
    h.dial();
    let cmds = h.run(Input::ServerError(ServerError {
        code: ErrorCode::PeerNotFound,
        message: "peer ccc-ccc-ccc is not online".into(),
        event: Some("offer_sdp".into()),
        target: Some(id(PEER)),
        call_id: Some(cid("call1")),
    }));
    assert_eq!(
        cmds,
        vec![Command::ClosePeer, ended(EndReason::PeerNotFound)]
    );
}

#[test]
fn other_server_errors_during_outgoing_fail_the_call_with_the_message() {
    let mut h = Harness::new();
    h.dial();
    h.run(Input::ServerError(ServerError {
        code: ErrorCode::PayloadTooLarge,
        message: "payload too large".into(),
        event: Some("offer_sdp".into()),
        target: Some(id(PEER)),
        call_id: None,
    }));
    assert_eq!(
        h.ended_with(),
        Some(&EndReason::Failed(Failure::Refused {
            code: ErrorCode::PayloadTooLarge,
            message: "payload too large".into()
        }))
    );
}

#[test]
fn server_errors_about_someone_else_change_nothing() {
    let mut h = Harness::new();
    h.dial();
    let cmds = h.run(Input::ServerError(ServerError {
        code: ErrorCode::PeerNotFound,
        message: "gone".into(),
        event: None,
        target: Some(id(OTHER)),
        call_id: None,
    }));
    assert!(cmds.is_empty());
    assert!(matches!(h.phase(), Phase::Outgoing { .. }));
}

#[test]
fn no_answer_after_ring_timeout() {
    let mut h = Harness::new();
    h.dial();
    assert_eq!(h.m.poll_timeout(), Some(h.t0 + Duration::from_secs(45)));
    assert!(h.at(Duration::from_secs(44)).run(Input::Tick).is_empty());
    let cmds = h.at(Duration::from_secs(45)).run(Input::Tick);
    assert_eq!(
        cmds,
        vec![
            send(PEER, Some("call1"), hangup("no_answer")),
            Command::ClosePeer,
            ended(EndReason::NoAnswer)
        ]
    );
}

#[test]
fn cancel_before_answer() {
    let mut h = Harness::new();
    h.dial();
    let cmds = h.run(Input::Hangup);
    assert_eq!(
        cmds,
        vec![
            send(PEER, Some("call1"), hangup("cancel")),
            Command::ClosePeer,
            ended(EndReason::Cancelled)
        ]
    );
}

#[test]
fn cancel_before_the_offer_went_out_sends_nothing() {
    let mut h = Harness::new();
    h.run(Input::PlaceCall {
        peer: id(PEER),
        call_id: cid("call1"),
    });
    assert_eq!(
        h.run(Input::Hangup),
        vec![Command::ClosePeer, ended(EndReason::Cancelled)]
    );
}

#[test]
fn connect_timeout_when_ice_never_connects() {
    let mut h = Harness::new();
    h.answered();
    let cmds = h.at(Duration::from_secs(21)).run(Input::Tick);
    assert_eq!(
        cmds,
        vec![
            send(PEER, Some("call1"), hangup("connect_failed")),
            Command::ClosePeer,
            ended(EndReason::ConnectFailed)
        ]
    );
}

#[test]
fn ice_failure_while_connecting() {
    let mut h = Harness::new();
    h.answered();
    h.run(Input::Rtc(RtcState::Failed));
    assert_eq!(h.ended_with(), Some(&EndReason::ConnectFailed));
}

#[test]
fn calling_yourself_is_refused() {
    let mut h = Harness::new();
    let cmds = h.run(Input::PlaceCall {
        peer: id(ME),
        call_id: cid("x"),
    });
    assert_eq!(
        cmds,
        vec![Command::Ended {
            peer: id(ME),
            reason: EndReason::Failed(Failure::OwnId),
        }]
    );
    assert_eq!(h.phase(), &Phase::Idle);
}

#[test]
fn placing_a_second_call_while_live_is_ignored() {
    let mut h = Harness::new();
    h.dial();
    assert!(
        h.run(Input::PlaceCall {
            peer: id(OTHER),
            call_id: cid("call2")
        })
        .is_empty()
    );
    assert!(matches!(h.phase(), Phase::Outgoing { peer, .. } if *peer == id(PEER)));
}

// ----- incoming -------------------------------------------------------------------------

#[test]
fn incoming_call_rings_without_touching_media_or_peer() {
    let mut h = Harness::new();
    h.incoming();
    // No CreatePeer, no StartMedia: the microphone stays closed until Accept.
    assert_eq!(h.m.poll_timeout(), Some(h.t0 + Duration::from_secs(45)));
}

#[test]
fn accept_creates_answerer_with_queued_candidates() {
    let mut h = Harness::new();
    h.incoming();
    assert!(
        h.run(from(PEER, Some("inc1"), Body::Ice(cand(1))))
            .is_empty()
    );
    assert!(
        h.run(from(PEER, Some("inc1"), Body::Ice(cand(1))))
            .is_empty()
    );
    assert!(
        h.run(from(PEER, Some("inc1"), Body::Ice(cand(2))))
            .is_empty()
    );
    let cmds = h.run(Input::Accept);
    assert_eq!(
        cmds,
        vec![
            Command::PlayTone(None),
            Command::CreatePeer {
                role: Role::Callee,
                remote_offer: Some(sdp(SdpKind::Offer, "their-offer"))
            },
            Command::AddRemoteCandidate(cand(1)),
            Command::AddRemoteCandidate(cand(2)),
        ]
    );
    assert!(matches!(
        h.phase(),
        Phase::Connecting {
            role: Role::Callee,
            ..
        }
    ));
    // Our answer goes back with the caller's call ID, then our candidates trickle.
    h.run(Input::LocalCandidate(cand(9)));
    let cmds = h.run(Input::LocalDescription(sdp(SdpKind::Answer, "ans")));
    assert_eq!(
        cmds,
        vec![
            send(PEER, Some("inc1"), answer_body("ans")),
            send(PEER, Some("inc1"), Body::Ice(cand(9))),
        ]
    );
    assert_eq!(
        h.run(Input::Rtc(RtcState::Connected)),
        vec![Command::StartMedia]
    );
    assert!(matches!(
        h.phase(),
        Phase::InCall {
            role: Role::Callee,
            ..
        }
    ));
}

#[test]
fn decline_sends_decline_and_never_opens_media() {
    let mut h = Harness::new();
    h.incoming();
    let cmds = h.run(Input::Decline);
    assert_eq!(
        cmds,
        vec![
            send(PEER, Some("inc1"), decline("declined")),
            Command::PlayTone(None),
            ended(EndReason::DeclinedByUs)
        ]
    );
}

#[test]
fn hangup_while_ringing_declines() {
    let mut h = Harness::new();
    h.incoming();
    h.run(Input::Hangup);
    assert_eq!(h.ended_with(), Some(&EndReason::DeclinedByUs));
}

#[test]
fn caller_cancels_while_we_ring() {
    let mut h = Harness::new();
    h.incoming();
    let cmds = h.run(from(PEER, Some("inc1"), hangup("cancel")));
    assert_eq!(
        cmds,
        vec![Command::PlayTone(None), ended(EndReason::Missed)]
    );
}

#[test]
fn unanswered_incoming_call_times_out_as_missed() {
    let mut h = Harness::new();
    h.incoming();
    let cmds = h.at(Duration::from_secs(45)).run(Input::Tick);
    assert_eq!(
        cmds,
        vec![
            send(PEER, Some("inc1"), decline("no_answer")),
            Command::PlayTone(None),
            ended(EndReason::Missed)
        ]
    );
}

#[test]
fn duplicate_offer_while_ringing_is_ignored_and_redial_replaces() {
    let mut h = Harness::new();
    h.incoming();
    assert!(
        h.run(from(PEER, Some("inc1"), offer_body("their-offer")))
            .is_empty()
    );
    // The caller hung up and redialled before our hang-up notice arrived.
    let cmds = h.run(from(PEER, Some("inc2"), offer_body("second")));
    assert_eq!(cmds, vec![send(PEER, Some("inc2"), Body::Ringing)]);
    let cmds = h.run(Input::Accept);
    assert!(cmds.contains(&Command::CreatePeer {
        role: Role::Callee,
        remote_offer: Some(sdp(SdpKind::Offer, "second"))
    }));
}

#[test]
fn second_caller_gets_busy_in_every_live_phase() {
    type Setup = fn(&mut Harness);
    let setups: [(&str, Setup); 4] = [
        ("outgoing", |h| h.dial()),
        ("incoming", |h| h.incoming()),
        ("connecting", |h| h.answered()),
        ("in call", |h| h.in_call()),
    ];
    for (name, setup) in setups {
        let mut h = Harness::new();
        setup(&mut h);
        let before = h.phase().clone();
        let all = h.run_all(from(OTHER, Some("intruder"), offer_body("x")));
        assert_eq!(
            all,
            vec![
                send(OTHER, Some("intruder"), Body::Busy),
                Command::Notify(Event::RejectedBusy { peer: id(OTHER) })
            ],
            "{name}"
        );
        assert_eq!(h.phase(), &before, "{name}");
    }
}

#[test]
fn accept_and_decline_without_a_call_are_ignored() {
    let mut h = Harness::new();
    assert!(h.run(Input::Accept).is_empty());
    assert!(h.run(Input::Decline).is_empty());
    assert!(h.run(Input::Hangup).is_empty());
    assert_eq!(h.phase(), &Phase::Idle);
}

// ----- glare ----------------------------------------------------------------------------

#[test]
fn glare_the_greater_id_yields_and_answers() {
    // ME = zzz… is greater than PEER, so we yield.
    let mut h = Harness::with_id("zzz-zzz-zzz");
    h.dial();
    let cmds = h.run(from(PEER, Some("theirs"), offer_body("their-offer")));
    assert_eq!(
        cmds,
        vec![
            Command::ClosePeer,
            Command::CreatePeer {
                role: Role::Callee,
                remote_offer: Some(sdp(SdpKind::Offer, "their-offer"))
            }
        ]
    );
    assert!(
        matches!(h.phase(), Phase::Connecting { role: Role::Callee, call_id: Some(c), .. } if *c == cid("theirs"))
    );
    // Their call ID is used from now on; messages for our abandoned call are ignored.
    assert!(
        h.run(from(PEER, Some("call1"), answer_body("late")))
            .is_empty()
    );
    let cmds = h.run(Input::LocalDescription(sdp(SdpKind::Answer, "ours")));
    assert_eq!(cmds, vec![send(PEER, Some("theirs"), answer_body("ours"))]);
}

#[test]
fn glare_the_smaller_id_keeps_its_offer() {
    let mut h = Harness::with_id("aaa-aaa-aaa");
    h.dial();
    assert!(
        h.run(from(PEER, Some("theirs"), offer_body("x")))
            .is_empty()
    );
    assert!(matches!(h.phase(), Phase::Outgoing { .. }));
    // Their answer to our offer proceeds normally.
    h.run(from(PEER, Some("call1"), answer_body("a")));
    assert!(matches!(
        h.phase(),
        Phase::Connecting {
            role: Role::Caller,
            ..
        }
    ));
}

#[test]
fn glare_while_ringback_stops_the_tone() {
    let mut h = Harness::with_id("zzz-zzz-zzz");
    h.dial();
    h.run(from(PEER, Some("call1"), Body::Ringing));
    let cmds = h.run(from(PEER, Some("theirs"), offer_body("o")));
    assert_eq!(cmds[0], Command::PlayTone(None));
}

// ----- in call --------------------------------------------------------------------------

#[test]
fn remote_hangup_in_call() {
    let mut h = Harness::new();
    h.in_call();
    let cmds = h.run(from(PEER, Some("call1"), hangup("hangup")));
    assert_eq!(
        cmds,
        vec![
            Command::StopMedia,
            Command::ClosePeer,
            ended(EndReason::HungUpByPeer)
        ]
    );
}

/// The peer hung up while the signaling server was down: its BYE came over the media
/// path, and its signaling hang-up, relayed later, finds no call.
#[test]
fn a_goodbye_over_the_media_path_ends_the_call_as_a_remote_hangup_at_once() {
    let mut h = Harness::new();
    h.in_call();
    h.at(Duration::from_millis(100));
    let cmds = h.run(Input::PeerGoodbye(Goodbye::HungUp));
    assert_eq!(
        cmds,
        vec![
            Command::StopMedia,
            Command::ClosePeer,
            ended(EndReason::HungUpByPeer)
        ]
    );
    assert_eq!(h.m.poll_timeout(), None);
    assert!(
        h.run(from(PEER, Some("call1"), hangup("hangup")))
            .is_empty()
    );
    assert_eq!(h.ended_with(), Some(&EndReason::HungUpByPeer));
}

/// The media path went quiet first (the peer's last packets before its BYE were lost):
/// the goodbye still wins over the reconnect timer, which would say `connection_lost`.
#[test]
fn a_goodbye_during_a_media_outage_is_a_hangup_not_a_lost_connection() {
    let mut h = Harness::new();
    h.in_call();
    h.run(Input::Rtc(RtcState::Disconnected));
    h.at(Duration::from_secs(2));
    h.run(Input::PeerGoodbye(Goodbye::HungUp));
    assert_eq!(h.ended_with(), Some(&EndReason::HungUpByPeer));
    h.at(Duration::from_secs(30));
    assert!(h.run(Input::Tick).is_empty());
}

#[test]
fn the_callee_says_goodbye_too_and_connecting_calls_end_the_same_way() {
    let mut h = Harness::new();
    h.incoming();
    h.run(Input::Accept);
    assert!(matches!(h.phase(), Phase::Connecting { .. }));
    let cmds = h.run(Input::Hangup);
    assert_eq!(cmds[1], Command::SayGoodbye(Goodbye::HungUp), "{cmds:?}");

    let mut h = Harness::new();
    h.answered();
    h.run(Input::PeerGoodbye(Goodbye::HungUp));
    assert_eq!(h.ended_with(), Some(&EndReason::HungUpByPeer));
}

#[test]
fn goodbyes_outside_a_connected_call_change_nothing() {
    let mut h = Harness::new();
    assert!(h.run(Input::PeerGoodbye(Goodbye::HungUp)).is_empty());
    h.dial();
    assert!(h.run(Input::PeerGoodbye(Goodbye::HungUp)).is_empty());
    assert!(matches!(h.phase(), Phase::Outgoing { .. }));
    // Cancelling a call nobody answered has no media path to say goodbye on.
    assert!(
        !h.run(Input::Hangup)
            .iter()
            .any(|c| matches!(c, Command::SayGoodbye(_)))
    );
}

/// An old client or a browser hung up while the server was down (no goodbye over the
/// media path): our own signaling is down too, so the reconnect timer waits once more for
/// the hang-up the server will relay.
#[test]
fn with_our_signaling_down_a_lost_media_path_waits_for_the_relayed_hang_up() {
    let mut h = Harness::new();
    h.in_call();
    h.run(Input::SignalingLost);
    h.run(Input::Rtc(RtcState::Disconnected));
    let grace = CallTimings::default().reconnect_grace;
    h.at(grace);
    h.run(Input::Tick);
    assert!(
        matches!(h.phase(), Phase::InCall { .. }),
        "held for the signaling"
    );
    h.at(grace + Duration::from_secs(2));
    h.run(Input::Registered { id: id(ME) });
    h.run(from(PEER, Some("call1"), hangup("hangup")));
    assert_eq!(h.ended_with(), Some(&EndReason::HungUpByPeer));
}

#[test]
fn the_hold_for_signaling_is_bounded_and_once_per_outage() {
    let t = CallTimings::default();
    let mut h = Harness::new();
    h.in_call();
    h.run(Input::SignalingLost);
    h.run(Input::Rtc(RtcState::Disconnected));
    h.at(t.reconnect_grace);
    h.run(Input::Tick);
    h.at(t.reconnect_grace + t.signaling_hold - Duration::from_millis(1));
    h.run(Input::Tick);
    assert!(matches!(h.phase(), Phase::InCall { .. }));
    h.at(t.reconnect_grace + t.signaling_hold);
    h.run(Input::Tick);
    assert_eq!(h.ended_with(), Some(&EndReason::ConnectionLost));

    // The path came back in between: the next outage may be held again.
    let mut h = Harness::new();
    h.in_call();
    h.run(Input::SignalingLost);
    h.run(Input::Rtc(RtcState::Disconnected));
    h.at(t.reconnect_grace);
    h.run(Input::Tick);
    h.run(Input::Rtc(RtcState::Connected));
    let later = t.reconnect_grace + Duration::from_secs(1);
    h.at(later);
    h.run(Input::Rtc(RtcState::Disconnected));
    h.at(later + t.reconnect_grace);
    h.run(Input::Tick);
    assert!(matches!(h.phase(), Phase::InCall { .. }), "held again");
}

#[test]
fn with_our_signaling_up_a_lost_media_path_ends_after_the_grace() {
    let t = CallTimings::default();
    let mut h = Harness::new();
    h.in_call();
    // Lost and back before the media path went: nothing waits for the server.
    h.run(Input::SignalingLost);
    h.run(Input::Registered { id: id(ME) });
    h.run(Input::Rtc(RtcState::Disconnected));
    h.at(t.reconnect_grace);
    h.run(Input::Tick);
    assert_eq!(h.ended_with(), Some(&EndReason::ConnectionLost));
}

#[test]
fn remote_hangup_reasons() {
    for (reason, expect) in [
        ("connection_lost", EndReason::ConnectionLost),
        ("connect_failed", EndReason::ConnectFailed),
        ("whatever", EndReason::HungUpByPeer),
    ] {
        let mut h = Harness::new();
        h.in_call();
        h.run(from(PEER, Some("call1"), hangup(reason)));
        assert_eq!(h.ended_with(), Some(&expect));
    }
}

#[test]
fn hangup_from_an_old_call_is_ignored() {
    let mut h = Harness::new();
    h.in_call();
    assert!(
        h.run(from(PEER, Some("old-call"), hangup("hangup")))
            .is_empty()
    );
    assert!(
        h.run(from(OTHER, Some("call1"), hangup("hangup")))
            .is_empty()
    );
    assert!(matches!(h.phase(), Phase::InCall { .. }));
}

#[test]
fn late_ice_after_the_call_ended_is_ignored() {
    let mut h = Harness::new();
    h.in_call();
    h.run(Input::Hangup);
    assert!(
        h.run(from(PEER, Some("call1"), Body::Ice(cand(3))))
            .is_empty()
    );
    assert!(h.run(Input::LocalCandidate(cand(4))).is_empty());
    assert!(h.run(Input::Rtc(RtcState::Connected)).is_empty());
    assert_eq!(h.ended_with(), Some(&EndReason::HungUp));
}

#[test]
fn disconnect_recovers_within_grace() {
    let mut h = Harness::new();
    h.in_call();
    let all = h
        .at(Duration::from_secs(10))
        .run_all(Input::Rtc(RtcState::Disconnected));
    assert_eq!(
        all,
        vec![
            Command::Notify(Event::MediaPath { up: false }),
            Command::RestartIce
        ]
    );
    // The next timer is the restart retry, well before the grace period ends.
    assert_eq!(
        h.m.poll_timeout(),
        Some(h.t0 + Duration::from_millis(11_500))
    );
    // The restart offer goes out with the call's ID, and its answer is applied.
    let cmds = h.run(Input::LocalDescription(sdp(SdpKind::Offer, "restart")));
    assert_eq!(cmds, vec![send(PEER, Some("call1"), offer_body("restart"))]);
    assert_eq!(
        h.run(from(PEER, Some("call1"), answer_body("ra"))),
        vec![Command::ApplyRemote(sdp(SdpKind::Answer, "ra"))]
    );
    let all = h
        .at(Duration::from_secs(12))
        .run_all(Input::Rtc(RtcState::Connected));
    assert_eq!(all, vec![Command::Notify(Event::MediaPath { up: true })]);
    assert_eq!(h.m.poll_timeout(), None);
    assert!(h.at(Duration::from_secs(20)).run(Input::Tick).is_empty());
    assert!(matches!(h.phase(), Phase::InCall { .. }));
}

#[test]
fn back_on_signaling_during_an_outage_the_caller_keeps_its_restart_schedule() {
    let mut h = Harness::new();
    h.in_call();
    h.at(Duration::from_secs(10))
        .run(Input::Rtc(RtcState::Disconnected));
    // Our restart offer may have gone into the dying connection; the signaling session
    // sends it again, so a second offer now would only cross it.
    assert!(
        h.at(Duration::from_millis(10_050))
            .run(Input::Registered { id: id(ME) })
            .is_empty()
    );
    assert_eq!(
        h.m.poll_timeout(),
        Some(h.t0 + Duration::from_millis(11_500))
    );
    h.run(Input::Rtc(RtcState::Connected));
    assert!(h.run(Input::Registered { id: id(ME) }).is_empty());
    assert_eq!(h.m.poll_timeout(), None);
}

#[test]
fn only_the_caller_restarts_ice() {
    let mut h = Harness::new();
    h.incoming();
    h.run(Input::Accept);
    h.run(Input::LocalDescription(sdp(SdpKind::Answer, "a")));
    h.run(Input::Rtc(RtcState::Connected));
    let all = h.run_all(Input::Rtc(RtcState::Disconnected));
    // The callee waits for the caller's restart offer instead of sending its own.
    assert_eq!(all, vec![Command::Notify(Event::MediaPath { up: false })]);
    assert_eq!(
        h.run(from(PEER, Some("inc1"), offer_body("restart"))),
        vec![Command::ApplyRemote(sdp(SdpKind::Offer, "restart"))]
    );
}

#[test]
fn disconnect_beyond_grace_is_connection_lost() {
    let mut h = Harness::new();
    h.in_call();
    h.at(Duration::from_secs(10))
        .run(Input::Rtc(RtcState::Disconnected));
    // A second disconnected report must not push the deadline out or restart again.
    assert!(
        h.at(Duration::from_secs(12))
            .run(Input::Rtc(RtcState::Disconnected))
            .is_empty()
    );
    // While it stays down the caller keeps trying fresh restarts …
    assert_eq!(
        h.at(Duration::from_millis(11_500)).run(Input::Tick),
        vec![Command::RestartIce]
    );
    assert_eq!(
        h.at(Duration::from_secs(15)).run(Input::Tick),
        vec![Command::RestartIce]
    );
    // … until the grace period is over.
    let cmds = h.at(Duration::from_secs(16)).run(Input::Tick);
    assert_eq!(
        cmds,
        vec![
            send(PEER, Some("call1"), hangup("connection_lost")),
            Command::StopMedia,
            Command::ClosePeer,
            ended(EndReason::ConnectionLost)
        ]
    );
}

#[test]
fn ice_failure_in_call_is_connection_lost() {
    let mut h = Harness::new();
    h.in_call();
    h.run(Input::Rtc(RtcState::Failed));
    assert_eq!(h.ended_with(), Some(&EndReason::ConnectionLost));
}

#[test]
fn mute_toggles_only_on_change_and_survives_into_the_call() {
    let mut h = Harness::new();
    h.answered();
    assert_eq!(h.run(Input::SetMuted(true)), vec![Command::SetMuted(true)]);
    assert!(h.run(Input::SetMuted(true)).is_empty());
    assert_eq!(
        h.run(Input::Rtc(RtcState::Connected)),
        vec![Command::StartMedia, Command::SetMuted(true)]
    );
    assert!(matches!(h.phase(), Phase::InCall { muted: true, .. }));
    assert_eq!(
        h.run(Input::SetMuted(false)),
        vec![Command::SetMuted(false)]
    );
    assert!(matches!(h.phase(), Phase::InCall { muted: false, .. }));
}

#[test]
fn peer_reoffer_in_call_is_applied_and_answered() {
    let mut h = Harness::new();
    h.in_call();
    let cmds = h.run(from(PEER, Some("call1"), offer_body("restart")));
    assert_eq!(
        cmds,
        vec![Command::ApplyRemote(sdp(SdpKind::Offer, "restart"))]
    );
    let cmds = h.run(Input::LocalDescription(sdp(SdpKind::Answer, "re-answer")));
    assert_eq!(
        cmds,
        vec![send(PEER, Some("call1"), answer_body("re-answer"))]
    );
    assert!(matches!(h.phase(), Phase::InCall { .. }));
}

#[test]
fn our_reoffer_in_call_expects_one_answer() {
    let mut h = Harness::new();
    h.in_call();
    let cmds = h.run(Input::LocalDescription(sdp(SdpKind::Offer, "restart")));
    assert_eq!(cmds, vec![send(PEER, Some("call1"), offer_body("restart"))]);
    assert_eq!(
        h.run(from(PEER, Some("call1"), answer_body("ra"))),
        vec![Command::ApplyRemote(sdp(SdpKind::Answer, "ra"))]
    );
    assert!(
        h.run(from(PEER, Some("call1"), answer_body("dup")))
            .is_empty()
    );
}

#[test]
fn peer_that_redials_during_a_call_replaces_it() {
    let mut h = Harness::new();
    h.in_call();
    let cmds = h.run(from(PEER, Some("fresh"), offer_body("new")));
    assert_eq!(
        cmds,
        vec![
            Command::StopMedia,
            Command::ClosePeer,
            ended(EndReason::ConnectionLost),
            send(PEER, Some("fresh"), Body::Ringing),
            Command::PlayTone(Some(Tone::Ringtone)),
        ]
    );
    assert!(matches!(h.phase(), Phase::Incoming { .. }));
}

#[test]
fn local_failure_hangs_up_and_reports_why() {
    let mut h = Harness::new();
    h.answered();
    let cmds = h.run(Input::Failure(Failure::AudioDevice("no microphone".into())));
    assert_eq!(
        cmds,
        vec![
            send(PEER, Some("call1"), hangup("failed")),
            Command::ClosePeer,
            ended(EndReason::Failed(Failure::AudioDevice(
                "no microphone".into()
            )))
        ]
    );
}

#[test]
fn failure_after_accepting_tells_the_caller() {
    let mut h = Harness::new();
    h.incoming();
    h.run(Input::Accept);
    // Our answer never went out (the offer was unusable), yet the caller must hear of it.
    let cmds = h.run(Input::Failure(Failure::Connection("bad offer".into())));
    assert_eq!(cmds[0], send(PEER, Some("inc1"), hangup("failed")));
    assert_eq!(
        h.ended_with(),
        Some(&EndReason::Failed(Failure::Connection("bad offer".into())))
    );
}

#[test]
fn caller_hears_that_the_callee_failed() {
    let mut h = Harness::new();
    h.dial();
    h.run(from(PEER, Some("call1"), hangup("failed")));
    assert_eq!(h.ended_with(), Some(&EndReason::ConnectFailed));
}

#[test]
fn a_callee_whose_media_path_failed_before_our_answer_arrived_did_not_decline() {
    // The callee accepted and timed out connecting while its answer was still on the way:
    // its `connect_failed` hang-up reaches us while we are still Outgoing.
    for (reason, expect) in [
        ("connect_failed", EndReason::ConnectFailed),
        ("no_answer", EndReason::NoAnswer),
        ("cancel", EndReason::Declined),
    ] {
        let mut h = Harness::new();
        h.dial();
        h.run(from(PEER, Some("call1"), hangup(reason)));
        assert_eq!(h.ended_with(), Some(&expect), "reason {reason}");
    }
}

#[test]
fn failure_while_ringing_declines() {
    let mut h = Harness::new();
    h.incoming();
    let cmds = h.run(Input::Failure(Failure::Media("boom".into())));
    assert_eq!(cmds[0], send(PEER, Some("inc1"), decline("failed")));
}

// ----- legacy (seed) peers --------------------------------------------------------------

#[test]
fn legacy_peer_without_call_ids_can_call_and_answer() {
    let mut h = Harness::new();
    // A seed client answers our offer without a call ID.
    h.dial();
    h.run(from(PEER, None, answer_body("legacy")));
    assert!(matches!(h.phase(), Phase::Connecting { .. }));
    assert_eq!(
        h.run(from(PEER, None, Body::Ice(cand(1)))),
        vec![Command::AddRemoteCandidate(cand(1))]
    );

    // A seed client calls us: no call ID anywhere, and our replies carry none.
    let mut h = Harness::new();
    let cmds = h.run(from(PEER, None, offer_body("legacy")));
    assert_eq!(cmds[0], send(PEER, None, Body::Ringing));
    h.run(Input::Accept);
    let cmds = h.run(Input::LocalDescription(sdp(SdpKind::Answer, "a")));
    assert_eq!(cmds, vec![send(PEER, None, answer_body("a"))]);
}

// ----- after the end --------------------------------------------------------------------

#[test]
fn a_new_call_can_follow_an_ended_one() {
    let mut h = Harness::new();
    h.in_call();
    h.run(Input::Hangup);
    let cmds = h.run(Input::PlaceCall {
        peer: id(OTHER),
        call_id: cid("call2"),
    });
    assert_eq!(
        cmds,
        vec![Command::CreatePeer {
            role: Role::Caller,
            remote_offer: None
        }]
    );
    // And an incoming one too.
    let mut h = Harness::new();
    h.dial();
    h.run(from(PEER, Some("call1"), Body::Busy));
    h.incoming();
}

#[test]
fn every_phase_change_is_notified() {
    let mut h = Harness::new();
    let all = h.run_all(Input::PlaceCall {
        peer: id(PEER),
        call_id: cid("c"),
    });
    assert!(matches!(
        all.first(),
        Some(Command::Notify(Event::PhaseChanged(Phase::Outgoing { .. })))
    ));
    // The end is reported once, as `Ended`, not as a phase as well.
    let all = h.run_all(Input::Hangup);
    assert_eq!(all, vec![Command::ClosePeer, ended(EndReason::Cancelled)]);
    assert_eq!(h.phase(), &Phase::Idle);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn any_input() -> impl Strategy<Value = (u8, u8, u8)> {
        (0u8..22, 0u8..3, 0u8..3)
    }

    fn build(kind: u8, who: u8, call: u8) -> Input {
        let peer = [PEER, OTHER, ME][who as usize];
        let call = [Some("call1"), Some("inc1"), None][call as usize];
        match kind {
            0 => Input::PlaceCall {
                peer: id(PEER),
                call_id: cid("call1"),
            },
            1 => Input::Accept,
            2 => Input::Decline,
            3 => Input::Hangup,
            4 => from(peer, call, offer_body("o")),
            5 => from(peer, call, answer_body("a")),
            6 => from(peer, call, Body::Ice(cand(1))),
            7 => from(peer, call, Body::Ringing),
            8 => from(peer, call, Body::Busy),
            9 => from(peer, call, hangup("hangup")),
            10 => from(peer, call, Body::Decline { reason: None }),
            11 => Input::LocalDescription(sdp(SdpKind::Offer, "o")),
            12 => Input::LocalDescription(sdp(SdpKind::Answer, "a")),
            13 => Input::LocalCandidate(cand(2)),
            14 => Input::Rtc(RtcState::Connected),
            15 => Input::Rtc(RtcState::Disconnected),
            16 => Input::Rtc(RtcState::Failed),
            17 => Input::Failure(Failure::Connection("x".into())),
            18 => Input::SetMuted(who == 0),
            19 => Input::PeerGoodbye(Goodbye::HungUp),
            20 => Input::SignalingLost,
            _ => Input::Tick,
        }
    }

    proptest! {
        /// Whatever arrives in whatever order: media only runs in a call, start/stop and
        /// create/close alternate, and every Ended leaves no timer behind.
        #[test]
        fn invariants_hold_for_any_input_sequence(
            inputs in proptest::collection::vec((any_input(), 0u64..50), 1..60)
        ) {
            let mut h = Harness::new();
            let mut media_on = false;
            let mut peers_open = 0i32;
            let mut elapsed = Duration::ZERO;
            for ((kind, who, call), dt) in inputs {
                elapsed += Duration::from_secs(dt);
                h.at(elapsed);
                for c in h.run(build(kind, who, call)) {
                    match c {
                        Command::StartMedia => { prop_assert!(!media_on); media_on = true; }
                        Command::StopMedia => { prop_assert!(media_on); media_on = false; }
                        Command::CreatePeer { .. } => { peers_open += 1; prop_assert!(peers_open <= 1); }
                        Command::ClosePeer => { peers_open -= 1; prop_assert!(peers_open >= 0); }
                        Command::SayGoodbye(_) => prop_assert_eq!(peers_open, 1),
                        Command::Ended { .. } => {
                            prop_assert!(!media_on);
                            prop_assert_eq!(peers_open, 0);
                        }
                        _ => {}
                    }
                }
                prop_assert_eq!(media_on, matches!(h.phase(), Phase::InCall { .. }));
                if !h.phase().is_live() {
                    prop_assert_eq!(h.m.poll_timeout(), None);
                }
            }
        }
    }
}

mod sas;
