//! A hostile or broken peer sends garbage through the real server: the listening client
//! reports it, ends only the affected call, and keeps taking calls.

use std::time::Duration;

use futures_util::FutureExt;
use rust_socketio::asynchronous::ClientBuilder;
use rust_socketio::{Payload, TransportType};
use serde_json::{Value, json};
use voicecall_lab::support::{Client, Server, asset};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_from_a_peer_is_reported_and_survived() {
    let server = Server::start();
    let mut callee = Client::listen(&server).auto_accept().spawn();
    let target = callee.id.clone();

    // A raw socket.io client plays the broken peer.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Value)>();
    let fake = ClientBuilder::new(server.url.as_str())
        .transport_type(TransportType::Websocket)
        .on_any(move |event, payload, _| {
            if let Payload::Text(values) = payload {
                let _ = tx.send((
                    String::from(event),
                    values.first().cloned().unwrap_or(Value::Null),
                ));
            }
            async {}.boxed()
        })
        .connect()
        .await
        .expect("fake peer connects");
    loop {
        let (event, _) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("registration in time")
            .expect("channel open");
        if event == "registered" {
            break;
        }
    }

    let garbage = [
        // Relayed by the server (it only checks that sdp is a string), refused by the client.
        (
            "offer_sdp",
            json!({"targetClientId": target, "sdp": "hello, not SDP", "callId": "g1"}),
        ),
        (
            "send_ice",
            json!({"targetClientId": target, "candidate": "", "mid": "0", "callId": "x y"}),
        ),
        // Well-formed envelope, garbage SDP inside: the call rings, is accepted, fails cleanly.
        (
            "offer_sdp",
            json!({"targetClientId": target, "sdp": json!({"type": "offer", "sdp": "v=0\r\ngarbage\r\n"}).to_string(), "callId": "g2"}),
        ),
    ];
    for (event, payload) in garbage {
        fake.emit(event, payload).await.expect("emit");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let warning = callee.wait_for(Duration::from_secs(10), |e| {
        e["event"] == "warning" && e["message"].as_str().unwrap_or("").contains("offer_sdp")
    });
    println!("warning: {warning}");
    let failed = callee.wait_ended(Duration::from_secs(10));
    assert_eq!(failed["reason"], "failed", "{failed}");
    assert!(
        failed["message"]
            .as_str()
            .unwrap_or("")
            .contains("session description"),
        "{failed}"
    );

    // The broken peer is told the call failed.
    let told = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some((event, payload)) = rx.recv().await {
            if event == "call_decline" || event == "call_hangup" {
                return payload;
            }
        }
        Value::Null
    })
    .await
    .expect("the broken peer hears back");
    assert_eq!(told["callId"], "g2", "{told}");
    let _ = fake.disconnect().await;

    // And the listener still takes a real call.
    let mut caller = Client::call(&server, &target)
        .hang_up_after(Duration::from_secs(1))
        .input(asset("speech-a.wav"))
        .spawn();
    caller.expect_exit_ok(Duration::from_secs(30));
    callee.wait_ended_with("remote_hangup", Duration::from_secs(10));
}
