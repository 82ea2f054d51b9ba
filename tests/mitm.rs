//! A signaling server that lies. The malicious relay (`Server::malicious_relay`) hands every
//! call message to Eve, who answers the caller and calls the callee herself with her own
//! certificates and terminates both DTLS sessions: a real man in the middle, not a mock.
//! What each side sees:
//!
//! - Eve running the commitment honestly on both legs: both calls connect (to Eve), and the
//!   two security codes differ; contacts verified before warn of a changed key, the
//!   callee before it answers.
//! - Eve making the codes match (she knows the caller's code once it reveals, and grinds the
//!   nonce she reveals to the callee): the callee's commitment check fails, the call ends
//!   with `security_check_failed` on both sides and no audio reaches Eve from the callee.
//! - The relay without Eve: one code on both screens, the pinned keys verified.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client as SocketClient, ClientBuilder};
use rust_socketio::{Payload, TransportType};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};
use voicecall_core::contacts::ContactStore;
use voicecall_core::id::{CallId, PeerId};
use voicecall_core::sas::{Commitment, Fingerprint, Nonce, SasCode};
use voicecall_core::signaling::message::{Body, Inbound, Outbound, SasPart, SessionDescription};
use voicecall_core::signaling::wire;
use voicecall_engine::rtc::{DtlsIdentity, RtcConfig, RtcEvent, RtcPeer};
use voicecall_lab::support::{Client, Server};

const ALICE: &str = "alice-mitm";
const BOB: &str = "bob-mitm";
const WAIT: Duration = Duration::from_secs(30);

/// What Eve does with the caller's reveal.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Strategy {
    /// Reveal her own committed nonce to the callee: every check passes.
    Honest,
    /// Reveal a nonce ground so that the callee's code equals the caller's.
    MatchTheCodes,
}

/// What Eve found out, for the test to compare with what the people saw.
#[derive(Debug)]
struct Loot {
    /// The fingerprints Eve presented: to the callee as the caller, to the caller as the callee.
    as_caller: Fingerprint,
    as_callee: Fingerprint,
    /// With `MatchTheCodes`: the code the callee would show if it did not check the reveal.
    forged_code: Option<SasCode>,
}

/// One of Eve's two peer connections and its events.
struct Leg {
    peer: RtcPeer,
    events: mpsc::UnboundedReceiver<RtcEvent>,
}

impl Leg {
    async fn new() -> Leg {
        let config = RtcConfig {
            bind: vec!["127.0.0.1".parse().expect("ip")],
            ..RtcConfig::default()
        };
        let (tx, events) = mpsc::unbounded_channel();
        let peer = RtcPeer::new(&config, tx)
            .await
            .expect("Eve's peer connection");
        Leg { peer, events }
    }
}

async fn leg_event(leg: &mut Option<Leg>) -> Option<RtcEvent> {
    match leg {
        Some(leg) => leg.events.recv().await,
        None => std::future::pending().await,
    }
}

/// A message the relay handed Eve, decoded as the client would.
fn intercepted(value: &Value) -> Option<(String, PeerId, Inbound)> {
    let event = value["event"].as_str()?.to_owned();
    let to = PeerId::parse(value["to"].as_str()?).ok()?;
    let mut payload = value["payload"].clone();
    payload["from"] = value["from"].clone();
    let inbound = wire::decode(&event, &[payload]).ok()?;
    Some((event, to, inbound))
}

/// Has the relay emit `body` to `to` as if `from` had sent it.
async fn inject(
    socket: &SocketClient,
    from: &PeerId,
    to: &PeerId,
    call: &Option<CallId>,
    body: Body,
) {
    let (event, mut payload) = wire::encode(&Outbound {
        to: to.clone(),
        call_id: call.clone(),
        body,
    });
    if let Some(obj) = payload.as_object_mut() {
        obj.remove("targetClientId");
    }
    let message =
        json!({ "event": event, "from": from.as_str(), "to": to.as_str(), "payload": payload });
    socket.emit("inject", message).await.expect("inject");
}

/// The code formula of PROTOCOL.md ("The security code"), written out by the attacker,
/// ground over the nonce she reveals until the callee's code is `target`. About 10^6 tries.
fn grind(
    as_caller: &Fingerprint,
    callee: &Fingerprint,
    callee_nonce: &Nonce,
    target: &SasCode,
) -> Nonce {
    let field = |h: &mut Sha256, bytes: &[u8]| {
        h.update((bytes.len() as u32).to_be_bytes());
        h.update(bytes);
    };
    let wanted: u32 = target
        .as_str()
        .replace(' ', "")
        .parse()
        .expect("six digits");
    let mut prefix = Sha256::new();
    prefix.update(b"voicecall-sas-v2\0");
    field(&mut prefix, as_caller.as_str().as_bytes());
    field(&mut prefix, callee.as_str().as_bytes());
    for i in 0u64..200_000_000 {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&i.to_le_bytes());
        let mut h = prefix.clone();
        field(&mut h, &bytes);
        field(&mut h, callee_nonce.as_bytes());
        let digest = h.finalize();
        if u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % 1_000_000 == wanted {
            let nonce = Nonce::from_bytes(bytes);
            assert_eq!(
                &SasCode::derive(as_caller, callee, &nonce, callee_nonce),
                target
            );
            return nonce;
        }
    }
    panic!("no nonce found for {target}");
}

/// Eve: attached to the relay, she takes the first call from `ALICE` to `BOB` in the middle.
async fn eve(relay_url: String, strategy: Strategy, done: oneshot::Sender<Loot>) {
    let (tx, mut intercepts) = mpsc::unbounded_channel::<Value>();
    let ready = tx.clone();
    let socket = ClientBuilder::new(relay_url.as_str())
        .namespace("/mitm")
        .transport_type(TransportType::Websocket)
        .on("intercept", move |payload, _| {
            if let Payload::Text(values) = payload
                && let Some(value) = values.into_iter().next()
            {
                let _ = tx.send(value);
            }
            async {}.boxed()
        })
        .on("ready", move |_, _| {
            let _ = ready.send(json!({ "ready": true }));
            async {}.boxed()
        })
        .connect()
        .await
        .expect("Eve reaches the relay");
    let first = intercepts.recv().await.expect("ready");
    assert_eq!(first["ready"], true, "{first}");
    println!("Eve is in the middle");

    let (alice, bob) = (
        PeerId::parse(ALICE).expect("id"),
        PeerId::parse(BOB).expect("id"),
    );
    // In a block: ThreadRng is not Send, and this task must be.
    let (to_bob_nonce, to_alice_nonce) = {
        let mut rng = rand::rng();
        (Nonce::random(&mut rng), Nonce::random(&mut rng))
    };
    let mut to_bob: Option<Leg> = None; // Eve calls Bob as "Alice"
    let mut to_alice: Option<Leg> = None; // Eve answers Alice as "Bob"
    let mut answer_for_alice: Option<SessionDescription> = None;
    let mut call: Option<CallId> = None;
    let mut fingerprints: Option<(Fingerprint, Fingerprint)> = None;
    let mut bob_side: Option<(Fingerprint, Nonce)> = None;
    let mut alice_fp: Option<Fingerprint> = None;
    let mut done = Some(done);

    loop {
        tokio::select! {
            Some(RtcEvent::LocalCandidate(c)) = leg_event(&mut to_bob) => {
                inject(&socket, &alice, &bob, &call, Body::Ice(c)).await;
            }
            Some(RtcEvent::LocalCandidate(c)) = leg_event(&mut to_alice) => {
                inject(&socket, &bob, &alice, &call, Body::Ice(c)).await;
            }
            value = intercepts.recv() => {
                let Some(value) = value else { break };
                let Some((event, to, inbound)) = intercepted(&value) else {
                    panic!("Eve could not read {value}");
                };
                let from = inbound.from.clone();
                match (event.as_str(), inbound.body) {
                    ("offer_sdp", Body::Description { desc, .. }) if from == alice && to_bob.is_none() => {
                        call = inbound.call_id.clone();
                        alice_fp = Fingerprint::from_sdp(&desc.sdp);
                        // Her answer to Alice waits until Bob answers her.
                        let mut leg = Leg::new().await;
                        let answer = leg.peer.apply_remote(&desc).await.expect("Alice's offer").expect("an answer").into_ready().await;
                        answer_for_alice = Some(answer.clone());
                        to_alice = Some(leg);
                        // Her own call to Bob, with a commitment to her own nonce.
                        let leg = Leg::new().await;
                        let offer = leg.peer.create_offer().await.expect("Eve's offer").into_ready().await;
                        let as_caller = Fingerprint::from_sdp(&offer.sdp).expect("Eve's fingerprint");
                        let as_callee = Fingerprint::from_sdp(&answer.sdp).expect("Eve's fingerprint");
                        let commit = Commitment::to(&as_caller, &to_bob_nonce);
                        fingerprints = Some((as_caller, as_callee));
                        to_bob = Some(leg);
                        let body = Body::Description { desc: offer, sas: Some(SasPart::Commit(commit)) };
                        inject(&socket, &alice, &bob, &call, body).await;
                    }
                    ("send_ice", Body::Ice(c)) if from == alice => {
                        if let Some(leg) = to_alice.as_mut() { leg.peer.add_remote_candidate(&c).await; }
                    }
                    ("send_ice", Body::Ice(c)) if from == bob => {
                        if let Some(leg) = to_bob.as_mut() { leg.peer.add_remote_candidate(&c).await; }
                    }
                    ("answer_sdp", Body::Description { desc, sas }) if from == bob => {
                        let Some(SasPart::Nonce(bob_nonce)) = sas else { panic!("Bob sent no nonce") };
                        bob_side = Some((Fingerprint::from_sdp(&desc.sdp).expect("Bob's fingerprint"), bob_nonce));
                        if let Some(leg) = to_bob.as_mut() {
                            leg.peer.apply_remote(&desc).await.expect("Bob's answer");
                        }
                        if let Some(answer) = answer_for_alice.take() {
                            let body = Body::Description { desc: answer, sas: Some(SasPart::Nonce(to_alice_nonce)) };
                            inject(&socket, &bob, &alice, &call, body).await;
                        }
                    }
                    ("sas_reveal", Body::SasReveal { nonce: alice_nonce }) if from == alice => {
                        let (as_caller, as_callee) = fingerprints.clone().expect("Eve's certificates");
                        let (bob_fp, bob_nonce) = bob_side.clone().expect("Bob answered");
                        let alice_fp = alice_fp.clone().expect("Alice's fingerprint");
                        let alice_code = SasCode::derive(&alice_fp, &as_callee, &alice_nonce, &to_alice_nonce);
                        let (reveal, forged_code) = match strategy {
                            Strategy::Honest => (to_bob_nonce, None),
                            Strategy::MatchTheCodes => {
                                let (c, b, n, t) = (as_caller.clone(), bob_fp.clone(), bob_nonce, alice_code.clone());
                                let started = Instant::now();
                                let forged = tokio::task::spawn_blocking(move || grind(&c, &b, &n, &t)).await.expect("grind");
                                println!("Eve ground a reveal for code {alice_code} in {:?}", started.elapsed());
                                (forged, Some(alice_code))
                            }
                        };
                        inject(&socket, &alice, &bob, &call, Body::SasReveal { nonce: reveal }).await;
                        if let Some(done) = done.take() {
                            let _ = done.send(Loot { as_caller, as_callee, forged_code });
                        }
                    }
                    // Everything else (ringing, hang-ups, restarts) passes as it came.
                    (_, body) => inject(&socket, &from, &to, &inbound.call_id, body).await,
                }
            }
        }
    }
    let _ = socket.disconnect().await;
}

/// A config dir with its own DTLS identity (as the app would make it), and its fingerprint.
fn installation(name: &str) -> (tempfile::TempDir, Fingerprint) {
    let dir = tempfile::Builder::new()
        .prefix(name)
        .tempdir()
        .expect("tempdir");
    let (identity, _) = DtlsIdentity::load_or_create(dir.path()).expect("identity");
    (dir, identity.fingerprint().clone())
}

/// `who` verified `peer` at `fingerprint` in an earlier call.
fn pin(dir: &Path, peer: &str, name: &str, fingerprint: &Fingerprint) {
    let mut contacts = ContactStore::load(dir).expect("contacts");
    contacts
        .verify(&PeerId::parse(peer).expect("id"), fingerprint, name)
        .expect("pinned");
}

fn position(client: &Client, pred: impl Fn(&Value) -> bool) -> Option<usize> {
    client.events.iter().position(pred)
}

/// Bob listens, Alice calls him; both with the config dirs given.
fn call(relay: &Server, alice_dir: &Path, bob_dir: &Path) -> (Client, Client) {
    let bob = Client::listen(relay)
        .id(BOB)
        .config_dir(bob_dir)
        .auto_accept()
        .spawn();
    let alice = Client::call(relay, BOB)
        .id(ALICE)
        .config_dir(alice_dir)
        .spawn();
    (alice, bob)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_man_in_the_middle_shows_two_codes_and_trips_the_pinned_keys() {
    let relay = Server::malicious_relay();
    let (alice_dir, alice_fp) = installation("alice");
    let (bob_dir, bob_fp) = installation("bob");
    pin(alice_dir.path(), BOB, "Bob", &bob_fp);
    pin(bob_dir.path(), ALICE, "Alice", &alice_fp);
    let (loot_tx, loot) = oneshot::channel();
    let eve = tokio::spawn(eve(relay.url.clone(), Strategy::Honest, loot_tx));
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (mut alice, mut bob) = call(&relay, alice_dir.path(), bob_dir.path());
    // Both calls connect — to Eve: without the codes and the pins nobody would know.
    alice.wait_media_started(WAIT);
    bob.wait_media_started(WAIT);
    let loot = tokio::time::timeout(WAIT, loot)
        .await
        .expect("Eve finished")
        .expect("loot");
    let alice_code = alice.latest("verification", WAIT);
    let bob_code = bob.latest("verification", WAIT);
    println!("Alice sees {alice_code}\nBob sees {bob_code}");
    assert_eq!(alice_code["verifiable"], true);
    assert_eq!(bob_code["verifiable"], true);
    assert_ne!(
        alice_code["code"], bob_code["code"],
        "a man in the middle, one code"
    );

    // Bob was warned before his app answered; Alice as soon as Bob's (Eve's) key came.
    let warned = position(&bob, |e| e["event"] == "identity_changed").expect("Bob is warned");
    let rang = position(&bob, |e| e["event"] == "phase" && e["phase"] == "incoming").expect("rang");
    assert!(
        warned < rang,
        "the warning comes before the call is answered: {:#?}",
        bob.events
    );
    let bob_warning = &bob.events[warned];
    assert_eq!(bob_warning["contact"], "Alice");
    assert_eq!(bob_warning["pinned_fingerprint"], alice_fp.as_str());
    assert_eq!(bob_warning["remote_fingerprint"], loot.as_caller.as_str());
    assert!(
        bob_warning["message"]
            .as_str()
            .unwrap_or("")
            .contains("Alice's security key is not the one you verified")
    );
    let alice_warning = alice.latest("identity_changed", WAIT);
    assert_eq!(alice_warning["pinned_fingerprint"], bob_fp.as_str());
    assert_eq!(alice_warning["remote_fingerprint"], loot.as_callee.as_str());
    // Every call event names the certificate actually used.
    let in_call = alice.latest("phase", WAIT);
    assert_eq!(
        in_call["remote_fingerprint"],
        loot.as_callee.as_str(),
        "{in_call}"
    );

    alice.kill();
    bob.kill();
    eve.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_man_in_the_middle_forcing_equal_codes_is_caught_by_the_commitment() {
    let relay = Server::malicious_relay();
    let (alice_dir, _) = installation("alice");
    let (bob_dir, _) = installation("bob");
    let (loot_tx, loot) = oneshot::channel();
    let eve = tokio::spawn(eve(relay.url.clone(), Strategy::MatchTheCodes, loot_tx));
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (mut alice, mut bob) = call(&relay, alice_dir.path(), bob_dir.path());
    let loot = tokio::time::timeout(Duration::from_secs(120), loot)
        .await
        .expect("Eve finished")
        .expect("loot");
    let alice_code = alice.latest("verification", WAIT);
    assert_eq!(
        Some(alice_code["code"].as_str().unwrap_or_default()),
        loot.forged_code.as_ref().map(SasCode::as_str),
        "Eve's reveal would give Bob exactly Alice's code"
    );
    // Bob's app checks the reveal against the commitment and refuses it.
    let ended = bob.wait_ended(WAIT);
    assert_eq!(ended["reason"], "security_check_failed", "{ended}");
    assert!(
        ended["message"]
            .as_str()
            .unwrap_or("")
            .contains("changed on the way"),
        "{ended}"
    );
    assert!(
        bob.event("media_started").is_none(),
        "no audio from Bob reached Eve"
    );
    assert!(
        bob.events_named("verification")
            .all(|v| v["code"] != alice_code["code"]),
        "Bob never showed the forged code: {:#?}",
        bob.events
    );
    // Bob said why; passed on, Alice's call ends with the same warning.
    let ended = alice.wait_ended(WAIT);
    assert_eq!(ended["reason"], "security_check_failed", "{ended}");

    alice.kill();
    bob.kill();
    eve.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_relay_shows_one_code_and_the_pinned_keys_verified() {
    let relay = Server::malicious_relay();
    let (alice_dir, alice_fp) = installation("alice");
    let (bob_dir, bob_fp) = installation("bob");
    pin(alice_dir.path(), BOB, "Bob", &bob_fp);
    pin(bob_dir.path(), ALICE, "Alice", &alice_fp);

    let (mut alice, mut bob) = call(&relay, alice_dir.path(), bob_dir.path());
    alice.wait_media_started(WAIT);
    bob.wait_media_started(WAIT);
    let alice_code = alice.latest("verification", WAIT);
    let bob_code = bob.latest("verification", WAIT);
    assert_eq!(alice_code["verifiable"], true);
    assert_eq!(alice_code["code"], bob_code["code"]);
    // Each app presented the certificate of its config dir, and each side's pin holds.
    let alice_trust = alice.latest("peer_trust", WAIT);
    assert_eq!(alice_trust["trust"], "verified", "{alice_trust}");
    assert_eq!(alice_trust["remote_fingerprint"], bob_fp.as_str());
    let bob_trust = bob.latest("peer_trust", WAIT);
    assert_eq!(bob_trust["trust"], "verified", "{bob_trust}");
    assert_eq!(bob_trust["remote_fingerprint"], alice_fp.as_str());
    assert!(alice.event("identity_changed").is_none() && bob.event("identity_changed").is_none());
    alice.kill();
    bob.kill();
}
