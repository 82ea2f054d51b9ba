//! Calls across NATs built from network namespaces: each cell gets a fresh "public"
//! segment (signaling server + coturn from deploy/), two routers and two clients, makes a
//! real call, checks the audio and the path ICE chose, and the test prints the matrix.

use std::time::{Duration, Instant};

use voicecall_lab::support::netns::{Nat, PUBLIC_IP, Topology};
use voicecall_lab::support::turn::Coturn;
use voicecall_lab::support::{Client, Conversation, Server, heard_clearly};

struct Cell {
    name: &'static str,
    nat: [Nat; 2],
    /// Acceptable path types (the "highest" candidate type of the selected pair).
    expect: &'static [&'static str],
}

const CELLS: [Cell; 5] = [
    Cell {
        name: "no NAT",
        nat: [Nat::None, Nat::None],
        expect: &["host"],
    },
    Cell {
        name: "MASQUERADE both sides",
        nat: [Nat::Masquerade, Nat::Masquerade],
        expect: &["srflx", "prflx"],
    },
    Cell {
        name: "symmetric NAT both sides",
        nat: [Nat::Symmetric, Nat::Symmetric],
        expect: &["relay"],
    },
    Cell {
        name: "UDP blocked, TURN over TCP",
        nat: [Nat::UdpBlocked, Nat::UdpBlocked],
        expect: &["relay"],
    },
    Cell {
        name: "only TLS gets out, TURN over TLS",
        nat: [Nat::TlsOnly, Nat::TlsOnly],
        expect: &["relay"],
    },
];

/// The path in one word: relay beats reflexive beats host.
fn path_kind(stats: &serde_json::Value) -> String {
    let rank = |k: &str| match k {
        "relay" => 3,
        "srflx" | "prflx" => 2,
        "host" => 1,
        _ => 0,
    };
    let local = stats["rtc"]["local_candidate"].as_str().unwrap_or("?");
    let remote = stats["rtc"]["remote_candidate"].as_str().unwrap_or("?");
    if rank(local) >= rank(remote) {
        local
    } else {
        remote
    }
    .to_owned()
}

#[test]
fn calls_connect_across_the_nat_matrix() {
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let only: Option<usize> = std::env::var("VOICECALL_NAT_CELL")
        .ok()
        .and_then(|c| c.parse().ok());
    for (i, cell) in CELLS
        .iter()
        .enumerate()
        .filter(|(i, _)| only.is_none_or(|o| o == *i))
    {
        let started = Instant::now();
        let result = std::panic::catch_unwind(|| run_cell(i, cell));
        match result {
            Ok(row) => {
                if !cell.expect.contains(&row.path.as_str()) {
                    failures.push(format!(
                        "{}: path {} not in {:?}",
                        cell.name, row.path, cell.expect
                    ));
                }
                if !row.audio_ok {
                    failures.push(format!(
                        "{}: audio did not match ({:.3}/{:.2})",
                        cell.name, row.corr, row.matched
                    ));
                }
                rows.push((cell, Some(row), started.elapsed()));
            }
            Err(_) => {
                failures.push(format!("{}: call failed (see the panic above)", cell.name));
                rows.push((cell, None, started.elapsed()));
            }
        }
    }
    println!("\n| cell | expected path | got path | setup | correlation | matched | verdict |");
    println!("|---|---|---|---|---|---|---|");
    for (cell, row, _) in &rows {
        match row {
            Some(r) => println!(
                "| {} | {} | {} | {} ms | {:.3} | {:.0} % | {} |",
                cell.name,
                cell.expect.join("/"),
                r.path,
                r.setup_ms,
                r.corr,
                r.matched * 100.0,
                if cell.expect.contains(&r.path.as_str()) && r.audio_ok {
                    "ok"
                } else {
                    "FAIL"
                }
            ),
            None => println!(
                "| {} | {} | – | – | – | – | FAIL |",
                cell.name,
                cell.expect.join("/")
            ),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

struct Row {
    path: String,
    setup_ms: u128,
    corr: f64,
    matched: f64,
    audio_ok: bool,
}

fn run_cell(index: usize, cell: &Cell) -> Row {
    let topo = Topology::build(&format!("n{index}"), cell.nat);
    // The test's "public" addresses are private ones, so they are allowed as peers; the
    // sites' LANs stay denied as in production (relaying there would fail and coturn then
    // tears the whole allocation down).
    let allowed = ["10.0.0.0-10.255.255.255"];
    let (turn, env) = if cell.nat.contains(&Nat::TlsOnly) {
        let turn = Coturn::tls_in_netns(&topo.public, PUBLIC_IP, 3478, &allowed);
        let env = turn.server_env_tls(PUBLIC_IP);
        (turn, env)
    } else {
        let turn = Coturn::in_netns(&topo.public, PUBLIC_IP, 3478, &allowed);
        let env = turn.server_env(PUBLIC_IP, cell.nat.contains(&Nat::UdpBlocked));
        (turn, env)
    };
    let server = Server::builder()
        .in_netns(&topo.public, PUBLIC_IP)
        .envs(env)
        .start();

    let talk = Conversation::new(&format!("nat_matrix_{index}"));
    // Both clients trust the test certificate as a private deployment's CA.
    let mut callee = Client::listen(&server)
        .at(&topo.sites[1])
        .trusting(&turn)
        .auto_accept()
        .once()
        .talks_as(&talk.callee)
        .spawn();
    let started = Instant::now();
    let mut caller = Client::call(&server, &callee.id)
        .at(&topo.sites[0])
        .trusting(&turn)
        .hang_up_after(Duration::from_secs(7))
        .talks_as(&talk.caller)
        .spawn();
    if let Err(ended) = caller.media_started_or_ended(Duration::from_secs(25)) {
        panic!(
            "{}: no media ({ended}); coturn log:\n{}",
            cell.name,
            turn.log_tail(400)
        );
    }
    let setup_ms = started.elapsed().as_millis();
    // The first seconds may report a remote candidate as peer-reflexive: its connectivity
    // check can beat its trickled description. Judge the path once the call has settled.
    caller.wait_selected_path(Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(1500));
    let stats = caller.latest("stats", Duration::from_secs(5));
    let path = path_kind(&stats);
    caller.expect_exit_ok(Duration::from_secs(30));
    callee.expect_exit_ok(Duration::from_secs(15));

    let [to_callee, to_caller] = talk.compare();
    let audio_ok = heard_clearly(&to_callee) && heard_clearly(&to_caller);
    if !audio_ok {
        // What each receiver did about it: dry periods, late fills, stretching.
        for (who, client) in [("caller", &caller), ("callee", &callee)] {
            println!(
                "{}: the {who}'s media: {}",
                cell.name,
                client.ended()["media"]
            );
        }
    }
    Row {
        path,
        setup_ms,
        corr: to_callee.correlation.min(to_caller.correlation),
        matched: to_callee.matched_fraction.min(to_caller.matched_fraction),
        audio_ok,
    }
}
