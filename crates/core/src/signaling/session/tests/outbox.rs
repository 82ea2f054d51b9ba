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
