//! Calls across NATs built from network namespaces: each cell gets a fresh "public"
//! segment (signaling server + coturn from deploy/), two routers and two clients, makes a
//! real call, checks the audio and the path ICE chose, and the test prints the matrix.

use voicecall_lab::support;

use std::time::{Duration, Instant};

use support::netns::{Lab, Nat, PUBLIC_IP, Topology};
use support::turn::Coturn;
use support::{Client, Server, asset, compare_with_reference, output_dir};

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
    let public = Lab::exec_prefix(&topo.public);
    let public: Vec<&str> = public.iter().map(String::as_str).collect();
    // The test's "public" addresses are private ones, so they are allowed as peers; the
    // sites' LANs stay denied as in production (relaying there would fail and coturn then
    // tears the whole allocation down).
    let allowed = ["10.0.0.0-10.255.255.255"];
    let tls = cell.nat.contains(&Nat::TlsOnly);
    let (turn, env) = if tls {
        let turn = Coturn::start_tls_in(&public, PUBLIC_IP, 3478, &allowed);
        let env = turn.server_env_tls(PUBLIC_IP);
        (turn, env)
    } else {
        let turn = Coturn::start_in(&public, PUBLIC_IP, 3478, &allowed);
        let env = turn.server_env(PUBLIC_IP, cell.nat.contains(&Nat::UdpBlocked));
        (turn, env)
    };
    // Both clients trust the test certificate as a private deployment's CA.
    let ca = turn
        .ca
        .as_ref()
        .map(|p| p.to_str().expect("path").to_owned());
    let trust: Vec<&str> = ca.iter().flat_map(|p| ["--turn-ca", p.as_str()]).collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = Server::start_in(&public, PUBLIC_IP, &env);

    let out = output_dir(&format!("nat_matrix_{index}"));
    let heard = [out.join("a-heard.wav"), out.join("b-heard.wav")];
    let speech = [asset("speech-a.wav"), asset("speech-b.wav")];
    let prefix = |site: usize| Lab::exec_prefix(&topo.clients[site]);
    let (pa, pb) = (prefix(0), prefix(1));
    let pa: Vec<&str> = pa.iter().map(String::as_str).collect();
    let pb: Vec<&str> = pb.iter().map(String::as_str).collect();

    let mut callee = Client::spawn_in(
        &pb,
        &[
            &[
                "listen",
                "--server",
                &server.url,
                "--bind",
                &topo.client_ips[1],
                "--auto-accept",
                "--once",
                "--input",
                speech[1].to_str().expect("path"),
                "--output",
                heard[1].to_str().expect("path"),
            ],
            &trust[..],
        ]
        .concat(),
    );
    let started = Instant::now();
    let mut caller = Client::spawn_in(
        &pa,
        &[
            &[
                "call",
                &callee.id,
                "--server",
                &server.url,
                "--bind",
                &topo.client_ips[0],
                "--duration",
                "7s",
                "--input",
                speech[0].to_str().expect("path"),
                "--output",
                heard[0].to_str().expect("path"),
            ],
            &trust[..],
        ]
        .concat(),
    );
    let started_event = caller.wait_for(Duration::from_secs(25), |e| {
        e["event"] == "media_started" || e["event"] == "ended"
    });
    if started_event["event"] != "media_started" {
        let log = turn.log();
        let tail: Vec<&str> = log
            .lines()
            .filter(|l| !l.contains("listing"))
            .rev()
            .take(400)
            .collect();
        panic!(
            "{}: no media ({started_event}); coturn log:\n{}",
            cell.name,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let setup_ms = started.elapsed().as_millis();
    // The first seconds may report a remote candidate as peer-reflexive: its connectivity
    // check can beat its trickled description. Judge the path once the call has settled.
    caller.wait_for(Duration::from_secs(5), |e| {
        e["event"] == "stats" && !e["rtc"]["local_candidate"].is_null()
    });
    std::thread::sleep(Duration::from_millis(1500));
    let stats = caller.latest("stats", Duration::from_secs(5));
    let path = path_kind(&stats);
    assert!(
        caller.wait_exit(Duration::from_secs(30)).success(),
        "caller: {}",
        caller.stderr()
    );
    assert!(
        callee.wait_exit(Duration::from_secs(15)).success(),
        "callee: {}",
        callee.stderr()
    );

    let to_b = compare_with_reference(&speech[0], &heard[1]);
    let to_a = compare_with_reference(&speech[1], &heard[0]);
    Row {
        path,
        setup_ms,
        corr: to_b.correlation.min(to_a.correlation),
        matched: to_b.matched_fraction.min(to_a.matched_fraction),
        audio_ok: to_b.passes(0.9, 0.9) && to_a.passes(0.9, 0.9),
    }
}
