//! Properties over arbitrary sequences of outages, failures and sends.

use std::collections::HashMap;

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum Op {
    Send,
    /// The connection drops (if there is one).
    Lose,
    /// The server registers us (if we are not online).
    Register,
    /// The next emit fails.
    FailNextEmit,
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Send),
        1 => Just(Op::Lose),
        2 => Just(Op::Register),
        1 => Just(Op::FailNextEmit),
        2 => (0u64..25_000).prop_map(Op::Wait),
    ]
}

/// A network that takes every transmit except the ones it is told to fail.
#[derive(Default)]
struct Network {
    delivered: Vec<(u32, Instant)>,
    dropped: Vec<(u32, Instant)>,
    /// When an open connection was lost.
    losses: Vec<Instant>,
    fail_next: bool,
}

impl Network {
    fn carry(&mut self, h: &mut Harness, mut outputs: Vec<Output>) {
        while !outputs.is_empty() {
            let mut next = Vec::new();
            for output in outputs {
                match output {
                    Output::Transmit { conn, payload, .. } => {
                        let input = if std::mem::take(&mut self.fail_next) {
                            self.losses.push(h.now);
                            Input::SendFailed {
                                conn,
                                reason: "AlreadyClosed".into(),
                            }
                        } else {
                            self.delivered.push((msg_number(&payload), h.now));
                            Input::Sent { conn }
                        };
                        next.extend(h.run(input));
                    }
                    Output::Event(SignalingEvent::Dropped(msg)) => {
                        let n = msg_number(&crate::signaling::wire::encode(&msg).1);
                        self.dropped.push((n, h.now));
                    }
                    _ => {}
                }
            }
            outputs = next;
        }
    }
}

fn register_if_offline(h: &mut Harness, net: &mut Network) {
    if h.m.is_online() {
        return;
    }
    if h.m.conn().is_none() {
        let out = h.fire();
        net.carry(h, out);
    }
    let out = h.register(true);
    net.carry(h, out);
}

proptest! {
    #[test]
    fn every_message_arrives_in_order_unless_it_went_stale(ops in vec(op(), 0..80)) {
        let mut h = Harness::new(config(&[A, B]));
        h.drain();
        h.register(false);
        let mut net = Network::default();
        let mut sent_at = HashMap::new();
        let mut next = 0;
        for op in ops {
            match op {
                Op::Send => {
                    sent_at.insert(next, h.now);
                    let out = h.run(Input::Send(msg(next)));
                    next += 1;
                    net.carry(&mut h, out);
                }
                Op::Lose if h.m.conn().is_some() => {
                    if h.m.is_online() {
                        net.losses.push(h.now);
                    }
                    let out = h.lose();
                    net.carry(&mut h, out);
                }
                Op::Lose => {}
                Op::Register => register_if_offline(&mut h, &mut net),
                Op::FailNextEmit => net.fail_next = true,
                Op::Wait(ms) => {
                    h.later(Duration::from_millis(ms));
                    let out = h.run(Input::Tick);
                    net.carry(&mut h, out);
                }
            }
        }
        net.fail_next = false;
        register_if_offline(&mut h, &mut net);

        let timings = SessionTimings::default();
        // What the peer sees once it drops repeats: every message in order.
        let mut first_sent: HashMap<u32, Instant> = HashMap::new();
        let mut seen_by_peer = Vec::new();
        for (n, at) in &net.delivered {
            match first_sent.get(n) {
                None => {
                    first_sent.insert(*n, *at);
                    seen_by_peer.push(*n);
                }
                // A copy only goes out when the connection the original used was lost
                // soon after it.
                Some(first) => prop_assert!(
                    net.losses.iter().any(|loss| *loss >= *first && *loss - *first <= timings.in_doubt),
                    "message {} sent twice", n
                ),
            }
        }
        prop_assert!(seen_by_peer.windows(2).all(|w| w[0] < w[1]), "{:?}", seen_by_peer);
        let mut all: Vec<u32> = seen_by_peer
            .iter()
            .copied()
            .chain(net.dropped.iter().map(|(n, _)| *n))
            .collect();
        all.sort_unstable();
        all.dedup();
        prop_assert_eq!(all, (0..next).collect::<Vec<_>>());
        for (n, at) in &net.dropped {
            prop_assert!(*at - sent_at[n] > timings.outbox_max_age, "message {} dropped young", n);
            // Given up on: either never sent, or sent and in doubt.
            if let Some(first) = first_sent.get(n) {
                prop_assert!(net.losses.iter().any(|loss| *loss >= *first && *loss - *first <= timings.in_doubt));
            }
        }
    }

    #[test]
    fn attempts_rotate_through_the_servers_and_only_whole_rounds_wait(
        count in 1usize..4,
        outcomes in vec(0u8..3, 1..50),
    ) {
        let servers = [A, B, C];
        let mut h = Harness::new(config(&servers[..count]));
        h.drain();
        h.register(false);
        let mut reported = Vec::new();
        let mut collect = |out: &[Output]| {
            for e in events(out) {
                if let SignalingEvent::Reconnecting { attempt, server } = e {
                    reported.push((attempt, server));
                }
            }
        };
        collect(&h.lose());
        let backoff = Backoff::default();
        for (i, outcome) in outcomes.iter().enumerate() {
            let failures = i as u32 + 1;
            let out = match outcome {
                0 => h.refuse(),
                1 => h.fire(),
                _ => {
                    let conn = h.conn();
                    h.run(Input::Opened { conn });
                    h.lose()
                }
            };
            collect(&out);
            let round_over = (failures as usize).is_multiple_of(count);
            prop_assert_eq!(h.m.conn().is_none(), round_over);
            if round_over {
                let before = h.now;
                collect(&h.fire());
                let wait = h.now - before;
                let nominal = backoff.nominal(failures / count as u32, failures);
                prop_assert!(wait >= nominal / 2 && wait <= nominal, "{:?} vs {:?}", wait, nominal);
            }
        }
        for (k, (attempt, server)) in reported.iter().enumerate() {
            prop_assert_eq!(*attempt as usize, k + 1);
            prop_assert_eq!(server.as_str(), servers[(k + 1) % count]);
        }
    }
}
