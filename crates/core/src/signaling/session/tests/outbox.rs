//! Messages for peers: in order, one in flight, held through outages, never stale.

use super::*;

fn online(servers: &[&str]) -> Harness {
    let mut h = Harness::new(config(servers));
    h.drain();
    h.register(false);
    h
}

#[test]
fn messages_go_out_one_at_a_time_in_order() {
    let mut h = online(&[A]);
    assert_eq!(transmitted(&h.send(1)), [1]);
    // The first is still in flight: the others wait their turn.
    assert!(h.send(2).is_empty());
    assert!(h.send(3).is_empty());
    assert_eq!(transmitted(&h.sent()), [2]);
    assert_eq!(transmitted(&h.sent()), [3]);
    assert!(h.sent().is_empty());
}

#[test]
fn messages_sent_while_offline_go_out_in_order_once_registered_again() {
    let mut h = online(&[A, B]);
    h.lose();
    for n in 1..=5 {
        assert!(transmitted(&h.send(n)).is_empty());
    }
    h.later(SECOND);
    let out = h.register(true);
    // Registered first, so the controller knows before the queue drains.
    let first = out
        .iter()
        .position(|o| matches!(o, Output::Transmit { .. }))
        .expect("a transmit");
    let registered = out
        .iter()
        .position(|o| matches!(o, Output::Event(SignalingEvent::Registered(_))))
        .expect("registered");
    assert!(registered < first);
    assert_eq!(h.deliver_all(out), [1, 2, 3, 4, 5]);
}

#[test]
fn a_message_whose_emit_failed_goes_out_on_the_next_connection_exactly_once() {
    let mut h = online(&[A, B]);
    h.send(1);
    let conn = h.conn();
    // The emit into the dying connection failed: that is how we learn it is gone.
    let out = h.run(Input::SendFailed {
        conn,
        reason: "AlreadyClosed".into(),
    });
    assert!(events(&out).contains(&SignalingEvent::Disconnected {
        reason: "AlreadyClosed".into()
    }));
    assert_eq!(connects(&out)[0].0, B);
    h.send(2);
    let out = h.register(true);
    assert_eq!(h.deliver_all(out), [1, 2]);
}

#[test]
fn messages_older_than_the_max_age_are_dropped_not_delivered() {
    let mut h = online(&[A]);
    h.lose();
    h.send(1);
    h.at(15 * SECOND);
    h.send(2);
    // Back after 21 s: message 1 is 21 s old, message 2 only 6 s.
    h.at(21 * SECOND);
    let conn = h.conn();
    let mut out = h.run(Input::Opened { conn });
    out.extend(h.receive("registered", registered_args(true)));
    out.extend(h.receive("ice_servers", ice_args(86_400, ME)));
    assert!(events(&out).contains(&SignalingEvent::Dropped(msg(1))));
    assert_eq!(h.deliver_all(out), [2]);
}

#[test]
fn a_long_outage_does_not_pile_messages_up() {
    let mut h = online(&[A]);
    h.lose();
    let mut dropped = 0;
    for n in 0..100 {
        h.at(SECOND * n);
        let out = h.send(n);
        dropped += events(&out)
            .iter()
            .filter(|e| matches!(e, SignalingEvent::Dropped(_)))
            .count();
    }
    // Everything older than 20 s went as newer messages came.
    assert_eq!(dropped, 79);
}

#[test]
fn what_was_never_sent_is_reported_when_the_session_ends() {
    let mut h = online(&[A]);
    h.lose();
    h.send(1);
    h.send(2);
    let out = h.run(Input::Close);
    assert_eq!(
        events(&out),
        vec![
            SignalingEvent::Dropped(msg(1)),
            SignalingEvent::Dropped(msg(2))
        ]
    );
    assert_eq!(events(&h.send(3)), vec![SignalingEvent::Dropped(msg(3))]);
    assert!(h.m.conn().is_none());
}

#[test]
fn closing_disconnects_the_live_connection() {
    let mut h = online(&[A]);
    let conn = h.conn();
    assert_eq!(h.run(Input::Close), vec![Output::Disconnect { conn }]);
    assert!(h.m.is_closed());
}

#[test]
fn messages_sent_just_before_a_loss_go_out_again_first() {
    let mut h = online(&[A, B]);
    for n in 1..=2 {
        h.send(n);
        h.sent();
    }
    // The connection was dead already; the emits went into the kernel and no further.
    h.later(3 * SECOND);
    h.lose();
    h.send(3);
    let out = h.register(true);
    assert_eq!(h.deliver_all(out), [1, 2, 3]);
}

#[test]
fn only_messages_sent_within_the_doubt_window_go_out_again() {
    let mut h = online(&[A]);
    h.send(1);
    h.sent();
    h.at(5 * SECOND);
    h.send(2);
    h.sent();
    // Lost 12 s after message 1 went out: it had 10 s in which the loss would have shown.
    h.at(12 * SECOND);
    h.lose();
    let out = h.register(true);
    assert_eq!(h.deliver_all(out), [2]);
}

#[test]
fn a_failed_emit_goes_out_again_after_the_ones_before_it() {
    let mut h = online(&[A]);
    h.send(1);
    h.sent();
    h.send(2);
    let conn = h.conn();
    h.run(Input::SendFailed {
        conn,
        reason: "AlreadyClosed".into(),
    });
    let out = h.register(true);
    assert_eq!(h.deliver_all(out), [1, 2]);
}

#[test]
fn a_message_received_twice_is_reported_once() {
    let mut h = online(&[A]);
    let ringing = |call: Option<&str>| {
        let mut payload = json!({"from": PEER});
        if let Some(call) = call {
            payload["callId"] = json!(call);
        }
        vec![payload]
    };
    let messages = |out: &[Output]| {
        events(out)
            .iter()
            .filter(|e| matches!(e, SignalingEvent::Message(_)))
            .count()
    };
    assert_eq!(messages(&h.receive("ringing", ringing(Some("q1")))), 1);
    // The peer's session sent it again after an outage of its own.
    h.later(5 * SECOND);
    assert_eq!(messages(&h.receive("ringing", ringing(Some("q1")))), 0);
    assert_eq!(messages(&h.receive("ringing", ringing(Some("q2")))), 1);
    // A seed client sends no call IDs: its next call's `ringing` looks the same.
    assert_eq!(messages(&h.receive("ringing", ringing(None))), 1);
    assert_eq!(messages(&h.receive("ringing", ringing(None))), 1);
    // Long after, a repeat is news again (no copy is sent that late).
    h.later(41 * SECOND);
    assert_eq!(messages(&h.receive("ringing", ringing(Some("q1")))), 1);
}

fn flushed(outputs: &[Output]) -> Vec<(u64, bool)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Flushed { request, complete } => Some((*request, *complete)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_flush_is_answered_once_everything_sent_before_it_went_out() {
    let mut h = online(&[A]);
    // Nothing queued: at once.
    assert_eq!(flushed(&h.run(Input::Flush { request: 1 })), [(1, true)]);

    h.send(1);
    h.send(2);
    assert!(flushed(&h.run(Input::Flush { request: 2 })).is_empty());
    // Message 1 went out, 2 is in flight: not yet.
    let out = h.sent();
    assert_eq!(transmitted(&out), [2]);
    assert!(flushed(&out).is_empty());
    // The last acknowledgement answers it.
    assert_eq!(flushed(&h.sent()), [(2, true)]);
}

#[test]
fn a_flush_waits_through_an_outage_and_is_answered_when_the_session_ends() {
    let mut h = online(&[A, B]);
    h.lose();
    h.send(1);
    assert!(flushed(&h.run(Input::Flush { request: 7 })).is_empty());
    // Delivered after re-registering; answered once the server had time to bounce it.
    let out = h.register(true);
    assert_eq!(transmitted(&out), [1]);
    assert!(flushed(&h.sent()).is_empty());
    assert_eq!(flushed(&h.fire()), [(7, true)]);

    // Leaving with a message still queued: the flush is answered, incomplete.
    h.lose();
    h.send(2);
    h.run(Input::Flush { request: 8 });
    let out = h.run(Input::Close);
    assert!(events(&out).contains(&SignalingEvent::Dropped(msg(2))));
    assert_eq!(flushed(&out), [(8, false)]);
}

/// The restarted server's answer to a message for a peer that has not re-registered yet.
fn peer_not_found(n: u32) -> Vec<Value> {
    vec![json!({
        "code": "PEER_NOT_FOUND",
        "message": format!("peer {PEER} is not online"),
        "event": "ringing",
        "targetClientId": PEER,
        "callId": format!("q{n}"),
    })]
}

fn server_errors(outputs: &[Output]) -> usize {
    events(outputs)
        .iter()
        .filter(|e| matches!(e, SignalingEvent::ServerError(_)))
        .count()
}

#[test]
fn after_an_outage_a_message_for_a_peer_not_back_yet_is_sent_again_until_it_arrives() {
    let mut h = online(&[A]);
    h.lose();
    // Sent while the server is down (a hang-up, typically), and waited for.
    h.send(1);
    h.run(Input::Flush { request: 3 });
    let out = h.register(true);
    assert_eq!(transmitted(&out), [1]);
    assert!(
        flushed(&h.sent()).is_empty(),
        "the server may still bounce it"
    );

    // The restarted server does not know the peer yet: not reported, sent again shortly.
    let out = h.receive("server_error", peer_not_found(1));
    assert_eq!(server_errors(&out), 0);
    let retry = h.m.poll_timeout().expect("a retry");
    assert_eq!(retry - h.now, Duration::from_millis(500));
    let out = h.fire();
    assert_eq!(transmitted(&out), [1]);
    h.sent();
    let out = h.receive("server_error", peer_not_found(1));
    assert_eq!(server_errors(&out), 0);
    // The peer is back by the next try: the message goes through, and once no bounce
    // came back the flush is answered.
    let out = h.fire();
    assert_eq!(transmitted(&out), [1]);
    assert!(flushed(&h.sent()).is_empty());
    assert_eq!(flushed(&h.fire()), [(3, true)]);
}

#[test]
fn a_peer_not_found_is_reported_at_once_before_any_outage_and_after_the_grace() {
    let mut h = online(&[A]);
    h.send(1);
    h.sent();
    let out = h.receive("server_error", peer_not_found(1));
    assert_eq!(server_errors(&out), 1, "calling an unknown ID fails fast");

    h.lose();
    h.register(true);
    h.later(10 * SECOND);
    h.send(2);
    h.sent();
    let out = h.receive("server_error", peer_not_found(2));
    assert_eq!(
        server_errors(&out),
        1,
        "10 s after re-registering the peer is gone"
    );
}
