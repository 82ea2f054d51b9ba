//! After the first registration: fail-over, the stable ID, backoff, and refusals.

use super::*;
use crate::signaling::message::{ErrorCode, ServerError};

/// Registered on the first of `servers`, holding `ME` and `TOKEN`.
fn online(servers: &[&str]) -> Harness {
    let mut h = Harness::new(config(servers));
    h.drain();
    h.register(false);
    h
}

/// The waits between attempts while every attempt is refused at once, for `attempts`
/// attempts after a loss.
fn waits_while_refused(h: &mut Harness, attempts: usize) -> Vec<Duration> {
    let mut waits = Vec::new();
    h.lose();
    for _ in 1..attempts {
        let before = h.now;
        if h.m.conn().is_some() {
            h.refuse();
        }
        if h.m.conn().is_none() {
            h.fire();
        }
        waits.push(h.now - before);
    }
    waits
}

#[test]
fn a_lost_connection_moves_to_the_next_server_at_once_as_the_same_client() {
    let mut h = online(&[A, B]);
    let conn = h.conn();
    let out = h.lose();
    assert_eq!(
        out,
        vec![
            Output::Disconnect { conn },
            Output::Event(SignalingEvent::Disconnected {
                reason: "transport close".into()
            }),
            Output::Event(SignalingEvent::Reconnecting {
                attempt: 1,
                server: B.into()
            }),
            Output::Connect {
                conn: ConnId(conn.0 + 1),
                url: B.into(),
                auth: Some(json!({"id": ME, "token": TOKEN})),
            },
        ]
    );
    assert_eq!(h.m.server(), B);
    let out = h.register(true);
    assert!(matches!(
        &events(&out)[..],
        [SignalingEvent::Registered(r)] if r.id == id(ME) && r.reclaimed
    ));
    assert!(h.m.is_online());
}

#[test]
fn a_transport_error_is_a_loss_but_a_copy_of_a_server_error_is_not() {
    let mut h = online(&[A]);
    let conn = h.conn();
    let copy = vec![json!({"code": "PEER_NOT_FOUND", "message": "peer is not online"})];
    assert!(h.run(Input::TransportError { conn, args: copy }).is_empty());
    assert!(h.m.is_online());
    let out = h.run(Input::TransportError {
        conn,
        args: vec![json!("Transport closed")],
    });
    assert!(events(&out).contains(&SignalingEvent::Disconnected {
        reason: "Transport closed".into()
    }));
    // Only one loss per connection: the `close` that follows is old news.
    assert!(
        h.run(Input::Closed {
            conn,
            reason: "close".into()
        })
        .is_empty()
    );
}

#[test]
fn with_one_server_the_waits_double_up_to_the_cap_and_never_vanish() {
    let mut h = online(&[A]);
    let waits = waits_while_refused(&mut h, 40);
    let backoff = Backoff::default();
    println!("{waits:?}");
    for (n, wait) in waits.iter().enumerate() {
        let failures = n as u32 + 1;
        let nominal = backoff.nominal(failures, failures);
        assert!(
            *wait >= nominal / 2 && *wait <= nominal,
            "wait {n}: {wait:?} outside {nominal:?}"
        );
    }
    assert_eq!(backoff.nominal(1, 1), Duration::from_millis(200));
    assert_eq!(backoff.nominal(2, 2), Duration::from_millis(400));
    assert_eq!(backoff.nominal(5, 5), 2 * SECOND);
    // A long outage: slower still, and never the tight loop rust_socketio falls into.
    assert_eq!(backoff.nominal(31, 31), 4 * SECOND);
    assert!(waits[35] >= 2 * SECOND);
}

#[test]
fn a_round_tries_every_server_back_to_back_then_waits() {
    let mut h = online(&[A, B, C]);
    let mut tried = Vec::new();
    let out = h.lose();
    tried.extend(connects(&out).into_iter().map(|(url, _)| url));
    let start = h.now;
    for _ in 0..2 {
        tried.extend(connects(&h.refuse()).into_iter().map(|(url, _)| url));
    }
    assert_eq!(tried, [B, C, A]);
    assert_eq!(h.now, start, "a round waits for nothing");
    // The round failed: a wait, then the next round, starting where the last left off.
    assert!(connects(&h.refuse()).is_empty());
    assert!(h.m.conn().is_none());
    let out = h.fire();
    let waited = h.now - start;
    assert!(waited >= SECOND / 10 && waited <= SECOND / 5, "{waited:?}");
    assert_eq!(
        events(&out),
        vec![SignalingEvent::Reconnecting {
            attempt: 4,
            server: B.into()
        }]
    );
}

#[test]
fn a_new_registration_starts_the_count_and_the_backoff_over() {
    let mut h = online(&[A]);
    waits_while_refused(&mut h, 8);
    h.fire_if_waiting();
    h.register(true);
    let out = h.lose();
    assert!(events(&out).contains(&SignalingEvent::Reconnecting {
        attempt: 1,
        server: A.into()
    }));
    h.refuse();
    let before = h.now;
    h.fire();
    assert!(h.now - before <= Duration::from_millis(200));
}

#[test]
fn a_connection_that_never_opens_is_abandoned_after_the_connect_timeout() {
    let mut h = online(&[A, B]);
    h.lose();
    let stuck = h.conn();
    let start = h.now;
    let out = h.fire();
    assert_eq!(h.now - start, 5 * SECOND);
    assert_eq!(out[0], Output::Disconnect { conn: stuck });
    assert_eq!(
        connects(&out),
        vec![(A.to_string(), Some(json!({"id": ME, "token": TOKEN})))]
    );
}

#[test]
fn after_max_attempts_the_session_gives_up() {
    let mut config = config(&[A]);
    config.timings.backoff.max_attempts = Some(3);
    let mut h = Harness::new(config);
    h.drain();
    h.register(false);
    h.lose();
    h.refuse();
    h.fire();
    h.refuse();
    h.fire();
    let out = h.refuse();
    assert_eq!(
        events(&out),
        vec![SignalingEvent::Closed(CloseReason::GaveUp { attempts: 3 })]
    );
    assert!(h.m.is_closed());
    assert_eq!(h.m.poll_timeout(), None);
}

fn server_error(code: &str, event: Option<&str>) -> Vec<Value> {
    let mut err = json!({"code": code, "message": format!("{code} happened")});
    if let Some(event) = event {
        err["event"] = json!(event);
    }
    vec![err]
}

#[test]
fn a_replaced_session_stops_reconnecting() {
    let mut h = online(&[A, B]);
    let conn = h.conn();
    let out = h.receive("server_error", server_error("SESSION_REPLACED", None));
    assert!(out.contains(&Output::Disconnect { conn }));
    assert!(matches!(
        &events(&out)[..],
        [
            SignalingEvent::ServerError(_),
            SignalingEvent::Closed(CloseReason::Refused(ServerError {
                code: ErrorCode::SessionReplaced,
                ..
            }))
        ]
    ));
    // The server closes the connection after its error: no reconnect, ever.
    assert!(
        h.run(Input::Closed {
            conn,
            reason: "io server disconnect".into()
        })
        .is_empty()
    );
    assert_eq!(h.m.poll_timeout(), None);
    h.later(3600 * SECOND);
    assert!(h.run(Input::Tick).is_empty());
}

#[test]
fn only_connection_level_refusals_end_the_session() {
    let err = |code, event: Option<&str>| ServerError {
        code,
        message: String::new(),
        event: event.map(str::to_owned),
        target: None,
        call_id: None,
    };
    assert!(ends_session(&err(ErrorCode::IdTaken, None)));
    assert!(ends_session(&err(ErrorCode::SessionReplaced, None)));
    assert!(ends_session(&err(ErrorCode::InvalidToken, None)));
    assert!(!ends_session(&err(ErrorCode::InvalidId, Some("offer_sdp"))));
    assert!(!ends_session(&err(ErrorCode::Internal, None)));
    assert!(!ends_session(&err(
        ErrorCode::PeerNotFound,
        Some("offer_sdp")
    )));

    // A passing server error (Redis away) is reported; the session carries on, and the
    // server's close that follows is an ordinary loss.
    let mut h = online(&[A]);
    let out = h.receive("server_error", server_error("INTERNAL", None));
    assert!(matches!(
        &events(&out)[..],
        [SignalingEvent::ServerError(_)]
    ));
    assert!(h.m.is_online());
    let out = h.receive(
        "server_error",
        server_error("INVALID_ID", Some("offer_sdp")),
    );
    assert_eq!(events(&out).len(), 1);
    assert!(h.m.is_online());
    assert_eq!(connects(&h.lose()).len(), 1);
}

#[test]
fn a_refusal_on_reconnect_closes_the_session() {
    let mut h = online(&[A, B]);
    h.lose();
    let conn = h.conn();
    h.run(Input::Opened { conn });
    let out = h.receive("server_error", server_error("INVALID_TOKEN", None));
    assert!(matches!(
        events(&out).last(),
        Some(SignalingEvent::Closed(CloseReason::Refused(_)))
    ));
    assert!(h.m.is_closed());
}

impl Harness {
    /// Fires the wait between rounds, if the machine is in one.
    fn fire_if_waiting(&mut self) {
        if self.m.conn().is_none() {
            self.fire();
        }
    }
}
