//! One socket.io connection attempt. Its callbacks run one at a time on rust_socketio's
//! receive task, where a slow or panicking callback stalls or silently kills the
//! connection, so they only forward what happened to the driver, tagged with the attempt.

use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use rust_socketio::asynchronous::{Client, ClientBuilder, ReconnectSettings};
use rust_socketio::{Event, Payload, TransportType};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::mpsc::error::SendError;

use voicecall_core::signaling::session::{ConnId, Input};

/// A client whose transport is dead may not answer its own disconnect.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// What an attempt tells the driver.
pub(super) enum Report {
    /// The library's client for `conn`: from the `open` callback (`opened`), or returned
    /// by `connect`.
    Client {
        conn: ConnId,
        client: Client,
        opened: bool,
    },
    Input(Input),
}

/// Starts connecting to `url` in a task of its own: rust_socketio has no connect timeout,
/// and a host that drops packets would hold `connect` for the kernel's SYN timeout. The
/// session machine owns the deadline; an attempt it gives up on is closed when it
/// finally answers.
pub(super) fn connect(
    conn: ConnId,
    url: String,
    auth: Option<Value>,
    reports: UnboundedSender<Report>,
) {
    let mut builder = ClientBuilder::new(url)
        .transport_type(TransportType::Websocket)
        // The library's own reconnect loop is kept only because entering it is the one sign
        // of a transport that a server closed without a word (see `on_reconnect`); which
        // server to try next, as whom and when is the session machine's call.
        .reconnect(true)
        .reconnect_on_disconnect(true);
    if let Some(auth) = auth {
        builder = builder.auth(auth);
    }
    let builder = forward_callbacks(builder, conn, &reports);
    tokio::spawn(async move {
        match builder.connect().await {
            Ok(client) => {
                let report = Report::Client {
                    conn,
                    client,
                    opened: false,
                };
                if let Err(SendError(Report::Client { client, .. })) = reports.send(report) {
                    // The driver is gone: nobody else will close this connection.
                    disconnect(client).await;
                }
            }
            Err(err) => {
                let reason = err.to_string();
                let _ = reports.send(Report::Input(Input::ConnectFailed { conn, reason }));
            }
        }
    });
}

/// Leaves the server (a dropped client would stay connected).
pub(super) async fn disconnect(client: Client) {
    let _ = tokio::time::timeout(DISCONNECT_TIMEOUT, client.disconnect()).await;
}

fn forward_callbacks(
    builder: ClientBuilder,
    conn: ConnId,
    reports: &UnboundedSender<Report>,
) -> ClientBuilder {
    let tx = reports.clone();
    let builder = builder.on("open", move |_, client| {
        let _ = tx.send(Report::Client {
            conn,
            client,
            opened: true,
        });
        async {}.boxed()
    });

    let tx = reports.clone();
    let builder = builder.on("error", move |payload, _| {
        let args = args(payload);
        let _ = tx.send(Report::Input(Input::TransportError { conn, args }));
        async {}.boxed()
    });

    let tx = reports.clone();
    let builder = builder.on("close", move |_, _| {
        let reason = "the server closed the connection".into();
        let _ = tx.send(Report::Input(Input::Closed { conn, reason }));
        async {}.boxed()
    });

    let tx = reports.clone();
    let builder = builder.on_any(move |event, payload, _| {
        if let Event::Custom(event) = event {
            let args = args(payload);
            let _ = tx.send(Report::Input(Input::Received { conn, event, args }));
        }
        async {}.boxed()
    });

    let tx = reports.clone();
    builder.on_reconnect(move || -> BoxFuture<'static, ReconnectSettings> {
        // The transport is gone (a server that shuts down cleanly sends neither `error`
        // nor `close`). This client is done: the next attempt is a new one. rust_socketio
        // cannot be told to stop retrying from here (and ignores its attempt limit), so
        // its retry task is parked for good.
        let reason = "the connection ended".into();
        let _ = tx.send(Report::Input(Input::Closed { conn, reason }));
        std::future::pending().boxed()
    })
}

/// One JSON value per socket.io argument; a binary payload carries none we could read.
fn args(payload: Payload) -> Vec<Value> {
    match payload {
        Payload::Text(values) => values,
        _ => Vec::new(),
    }
}
