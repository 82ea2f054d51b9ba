//! ICE servers issued by the server, and their refresh before a call.

use super::*;

/// Registered on A with TURN credentials valid for `ttl` seconds.
fn issued(ttl: u64) -> Harness {
    let mut h = Harness::new(config(&[A]));
    h.drain();
    let conn = h.conn();
    h.run(Input::Opened { conn });
    h.receive("registered", registered_args(false));
    h.receive("ice_servers", ice_args(ttl, "first"));
    assert!(h.m.is_online());
    h
}

fn answers(outputs: &[Output]) -> Vec<(u64, String)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::IceServers { request, servers } => {
                Some((*request, servers[0].username.clone()))
            }
            _ => None,
        })
        .collect()
}

fn asks(outputs: &[Output]) -> usize {
    outputs
        .iter()
        .filter(|o| {
            matches!(
                o,
                Output::Transmit {
                    event: "get_ice_servers",
                    ..
                }
            )
        })
        .count()
}

#[test]
fn issued_ice_servers_expire_by_their_ttl() {
    let now = Instant::now();
    let issued = |ttl, age: u64| IssuedIceServers {
        servers: Vec::new(),
        ttl,
        received_at: now.checked_sub(Duration::from_secs(age)),
    };
    let margin = SessionTimings::default().ice_refresh_margin;
    assert!(!issued(86_400, 0).expires_within(margin, now));
    assert!(issued(86_400, 86_400 - 299).expires_within(margin, now));
    assert!(issued(60, 0).expires_within(margin, now));
    // 0 = never expires; nothing received = nothing to refresh.
    assert!(!issued(0, 1_000_000).expires_within(margin, now));
    assert!(!IssuedIceServers::default().expires_within(margin, now));
}

#[test]
fn credentials_that_last_are_used_as_they_are() {
    let mut h = issued(86_400);
    let out = h.run(Input::WantIceServers { request: 1 });
    assert_eq!(answers(&out), [(1, "first".to_string())]);
    assert_eq!(asks(&out), 0);
}

#[test]
fn credentials_about_to_expire_are_refreshed_before_the_call() {
    let mut h = issued(60);
    let out = h.run(Input::WantIceServers { request: 1 });
    assert_eq!(asks(&out), 1);
    assert!(answers(&out).is_empty());
    h.sent();
    // A second call meanwhile waits for the same answer.
    let out = h.run(Input::WantIceServers { request: 2 });
    assert_eq!((asks(&out), answers(&out).len()), (0, 0));
    h.later(SECOND / 20);
    let out = h.receive("ice_servers", ice_args(60, "fresh"));
    assert_eq!(
        answers(&out),
        [(1, "fresh".to_string()), (2, "fresh".to_string())]
    );
    assert_eq!(h.m.issued_ice_servers().received_at, Some(h.now));
    assert_eq!(h.m.poll_timeout(), None);
}

#[test]
fn without_an_answer_the_call_goes_with_the_old_list() {
    let mut h = issued(60);
    h.run(Input::WantIceServers { request: 1 });
    h.sent();
    let out = h.fire();
    assert_eq!(h.elapsed(), 2 * SECOND);
    assert_eq!(answers(&out), [(1, "first".to_string())]);
}

#[test]
fn offline_there_is_no_one_to_ask() {
    let mut h = issued(60);
    h.lose();
    let out = h.run(Input::WantIceServers { request: 1 });
    assert_eq!(answers(&out), [(1, "first".to_string())]);
}

#[test]
fn the_refresh_request_goes_before_queued_messages() {
    let mut h = issued(60);
    h.send(1);
    h.send(2);
    // Message 1 is in flight; the request follows it, ahead of message 2.
    assert!(h.run(Input::WantIceServers { request: 1 }).is_empty());
    let out = h.sent();
    assert_eq!(asks(&out), 1);
    assert_eq!(transmitted(&h.sent()), [2]);
}

#[test]
fn a_re_registration_brings_fresh_servers_to_whoever_waits() {
    let mut h = issued(60);
    h.run(Input::WantIceServers { request: 1 });
    let conn = h.conn();
    h.run(Input::SendFailed {
        conn,
        reason: "AlreadyClosed".into(),
    });
    let conn = h.conn();
    h.run(Input::Opened { conn });
    h.receive("registered", registered_args(true));
    let out = h.receive("ice_servers", ice_args(60, "fresh"));
    assert_eq!(answers(&out), [(1, "fresh".to_string())]);
}
