//! The first connection: which server, as whom, and when it counts as registered.

use super::*;
use crate::signaling::message::ErrorCode;
use crate::signaling::wire::Registration;

#[test]
fn the_first_attempt_goes_to_the_first_server_at_once() {
    let mut h = Harness::new(config(&[A, B]));
    let out = h.drain();
    assert_eq!(connects(&out), vec![(A.to_string(), None)]);
    assert_eq!(h.m.server(), A);
    // The connection must open within the connect timeout.
    assert_eq!(h.m.poll_timeout(), Some(h.t0 + 5 * SECOND));
}

#[test]
fn a_remembered_id_and_token_are_presented_in_the_handshake() {
    let mut h = Harness::new(claiming(&[A]));
    let out = h.drain();
    assert_eq!(
        connects(&out),
        vec![(A.to_string(), Some(json!({"id": ME, "token": TOKEN})))]
    );

    // An ID without a token (claimed for the first time) leaves the token out.
    let mut config = config(&[A]);
    config.id = Some(id(ME));
    let mut h = Harness::new(config);
    assert_eq!(connects(&h.drain())[0].1, Some(json!({"id": ME})));
}

#[test]
fn a_current_server_registers_us_once_its_ice_servers_arrive() {
    let mut h = Harness::new(config(&[A]));
    h.drain();
    let conn = h.conn();
    h.at(SECOND / 10);
    assert!(h.run(Input::Opened { conn }).is_empty());
    // The registration deadline starts over once the connection is open.
    assert_eq!(h.m.poll_timeout(), Some(h.t0 + SECOND / 10 + 5 * SECOND));
    assert!(h.receive("your_id", vec![json!(ME)]).is_empty());
    assert!(h.receive("registered", registered_args(false)).is_empty());
    assert!(!h.m.is_online());
    let out = h.receive("ice_servers", ice_args(86_400, ME));
    let expected = Registration {
        id: id(ME),
        token: TOKEN.into(),
        reclaimed: false,
    };
    assert_eq!(
        events(&out),
        vec![SignalingEvent::Registered(expected.clone())]
    );
    assert!(h.m.is_online());
    assert_eq!(h.m.registration(), Some(&expected));
    let issued = h.m.issued_ice_servers();
    assert_eq!(issued.ttl, 86_400);
    assert_eq!(issued.received_at, Some(h.now));
    assert_eq!(issued.servers[0].username, ME);
    assert_eq!(h.m.poll_timeout(), None);
}

#[test]
fn registered_without_ice_servers_counts_after_a_short_wait() {
    let mut h = Harness::new(config(&[A]));
    h.drain();
    let conn = h.conn();
    h.run(Input::Opened { conn });
    h.at(SECOND);
    h.receive("registered", registered_args(false));
    assert_eq!(h.m.poll_timeout(), Some(h.t0 + SECOND + SECOND / 2));
    let out = h.fire();
    assert_eq!(registrations(&out), 1);
    assert!(h.m.is_online());
    assert_eq!(h.m.issued_ice_servers(), &IssuedIceServers::default());
}

#[test]
fn a_seed_server_registers_us_with_its_bare_id_after_the_legacy_wait() {
    let mut h = Harness::new(config(&[A]));
    h.drain();
    let conn = h.conn();
    h.run(Input::Opened { conn });
    h.at(SECOND);
    assert!(h.receive("your_id", vec![json!(ME)]).is_empty());
    assert_eq!(h.m.poll_timeout(), Some(h.t0 + SECOND + SECOND * 4 / 10));
    let out = h.fire();
    assert_eq!(
        events(&out),
        vec![SignalingEvent::Registered(Registration {
            id: id(ME),
            token: String::new(),
            reclaimed: false,
        })]
    );

    // It issued no token, so a reconnect asks for the ID alone.
    let out = h.lose();
    assert_eq!(
        connects(&out),
        vec![(A.to_string(), Some(json!({"id": ME})))]
    );
}

#[test]
fn your_id_followed_by_registered_is_one_registration() {
    let mut h = Harness::new(config(&[A]));
    h.drain();
    let out = h.register(false);
    assert_eq!(registrations(&out), 1);
    // Nothing is left waiting for the legacy deadline.
    assert_eq!(h.m.poll_timeout(), None);
    h.later(10 * SECOND);
    assert!(h.run(Input::Tick).is_empty());
}

#[test]
fn holding_a_token_your_id_is_only_a_copy() {
    let mut h = Harness::new(claiming(&[A]));
    h.drain();
    let conn = h.conn();
    h.run(Input::Opened { conn });
    h.receive("your_id", vec![json!(ME)]);
    // No legacy wait: only the registration deadline.
    assert_eq!(h.m.poll_timeout(), Some(h.t0 + 5 * SECOND));
}

#[test]
fn each_server_is_tried_once_in_order_and_the_last_error_is_the_answer() {
    let mut h = Harness::new(config(&[A, B, C]));
    h.drain();
    let first = h.conn();
    // A: refused at once.
    let out = h.refuse();
    assert_eq!(out[0], Output::Disconnect { conn: first });
    assert_eq!(connects(&out), vec![(B.to_string(), None)]);
    // B: no answer within the connect timeout.
    let out = h.fire();
    assert_eq!(h.elapsed(), 5 * SECOND);
    assert_eq!(connects(&out), vec![(C.to_string(), None)]);
    // C: opens but never registers us.
    let conn = h.conn();
    h.run(Input::Opened { conn });
    let out = h.fire();
    assert_eq!(h.elapsed(), 10 * SECOND);
    assert_eq!(
        out,
        vec![
            Output::Disconnect { conn },
            Output::Event(SignalingEvent::Unavailable(SignalingError::Timeout {
                url: C.into(),
                secs: 5
            }))
        ]
    );
    assert!(h.m.is_closed());
    assert_eq!(h.m.poll_timeout(), None);
}

#[test]
fn no_answer_in_time_is_reported_as_unreachable() {
    let mut h = Harness::new(config(&[A]));
    h.drain();
    let out = h.fire();
    assert_eq!(
        events(&out),
        vec![SignalingEvent::Unavailable(SignalingError::Unreachable {
            url: A.into(),
            reason: "no answer within 5 s".into(),
        })]
    );
}

#[test]
fn a_connection_that_drops_while_registering_fails_the_attempt() {
    let mut h = Harness::new(config(&[A, B]));
    h.drain();
    let conn = h.conn();
    h.run(Input::Opened { conn });
    let out = h.run(Input::TransportError {
        conn,
        args: vec![json!("websocket closed")],
    });
    assert_eq!(connects(&out), vec![(B.to_string(), None)]);
    let out = h.refuse();
    assert_eq!(
        events(&out),
        vec![SignalingEvent::Unavailable(SignalingError::Unreachable {
            url: B.into(),
            reason: "connection refused".into(),
        })]
    );
}

#[test]
fn a_refused_claim_ends_the_search() {
    let mut h = Harness::new(claiming(&[A, B]));
    h.drain();
    let conn = h.conn();
    h.run(Input::Opened { conn });
    let out = h.receive(
        "server_error",
        vec![json!({"code": "ID_TAKEN", "message": "id k7m-q2x-9fd is already taken"})],
    );
    assert_eq!(out[1], Output::Disconnect { conn });
    assert!(matches!(
        &events(&out)[..],
        [
            SignalingEvent::ServerError(_),
            SignalingEvent::Unavailable(SignalingError::Rejected {
                code: ErrorCode::IdTaken,
                ..
            })
        ]
    ));
    // B is never tried: it shares the registry, and would refuse us too.
    assert!(connects(&out).is_empty());
    assert!(h.m.is_closed());
    // The seed-style `error` copy that follows changes nothing.
    assert!(
        h.run(Input::TransportError {
            conn,
            args: vec![json!({"code": "ID_TAKEN", "message": "taken"})],
        })
        .is_empty()
    );
}

#[test]
fn no_servers_is_reported_at_once() {
    let mut h = Harness::new(config(&[]));
    assert_eq!(
        events(&h.drain()),
        vec![SignalingEvent::Unavailable(SignalingError::NoServers)]
    );
    assert!(h.m.is_closed());
}

#[test]
fn a_malformed_registration_is_reported_and_the_wait_goes_on() {
    let mut h = Harness::new(config(&[A]));
    h.drain();
    let conn = h.conn();
    h.run(Input::Opened { conn });
    let out = h.receive("registered", vec![json!({"id": ME})]);
    assert!(matches!(
        &events(&out)[..],
        [SignalingEvent::Malformed { event, .. }] if event == "registered"
    ));
    assert!(!h.m.is_online());
    assert_eq!(registrations(&h.register(false)), 1);
}

#[test]
fn events_from_an_abandoned_attempt_are_ignored() {
    let mut h = Harness::new(config(&[A, B]));
    h.drain();
    let old = h.conn();
    h.fire(); // A timed out; B is being tried.
    for input in [
        Input::Opened { conn: old },
        Input::Received {
            conn: old,
            event: "registered".into(),
            args: registered_args(false),
        },
        Input::Closed {
            conn: old,
            reason: "late".into(),
        },
    ] {
        assert!(h.run(input).is_empty());
    }
    assert!(!h.m.is_online());
    assert_eq!(h.m.server(), B);
}

#[test]
fn relayed_messages_are_decoded_and_garbage_reported() {
    let mut h = Harness::new(config(&[A]));
    h.drain();
    h.register(false);
    let out = h.receive("ringing", vec![json!({"from": PEER, "callId": "q1"})]);
    assert!(matches!(
        &events(&out)[..],
        [SignalingEvent::Message(m)] if m.from == id(PEER) && m.body == Body::Ringing
    ));
    let out = h.receive("offer_sdp", vec![json!(42)]);
    assert!(matches!(
        &events(&out)[..],
        [SignalingEvent::Malformed { event, .. }] if event == "offer_sdp"
    ));
    // Events this client has no use for are not errors.
    assert!(h.receive("stats", vec![json!({})]).is_empty());
}
