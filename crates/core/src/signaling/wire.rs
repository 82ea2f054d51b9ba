//! The JSON on the wire (see `signaling-server/PROTOCOL.md`), and nothing else.
//!
//! Inbound payloads are parsed defensively: a peer or server can send anything, and every
//! mistake becomes a [`WireError`] naming the field, never a panic.

use serde_json::{Map, Value, json};
use thiserror::Error;

use crate::ice::IceServer;
use crate::id::{CallId, PeerId};
use crate::sas::{Commitment, HexError, Nonce};
use crate::signaling::message::{
    Body, DeclineReason, ErrorCode, HangupReason, IceCandidate, Inbound, Outbound, SasPart,
    SdpKind, ServerError, SessionDescription,
};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    #[error("`{event}` payload is not an object or a JSON string of one")]
    NotAnObject { event: String },
    #[error("`{event}` payload: field `{field}` {problem}")]
    Field {
        event: String,
        field: &'static str,
        problem: String,
    },
    #[error("unknown event `{0}`")]
    UnknownEvent(String),
}

/// Our registration as the server confirmed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub id: PeerId,
    pub token: String,
    pub reclaimed: bool,
}

/// Events the server sends that matter to the engine.
pub const INBOUND_EVENTS: [&str; 8] = [
    "offer_sdp",
    "answer_sdp",
    "send_ice",
    "ringing",
    "call_decline",
    "call_hangup",
    "busy",
    "sas_reveal",
];

/// The security code's fields (`crate::sas`): the caller's commitment on an offer, the
/// callee's nonce on an answer, the caller's nonce in `sas_reveal`.
const SAS_COMMIT: &str = "sasCommit";
const SAS_NONCE: &str = "sasNonce";
const REVEAL_NONCE: &str = "nonce";

/// What the client asks the server for itself, as opposed to messages it relays.
pub const GET_ICE_SERVERS: &str = "get_ice_servers";

/// The handshake's `auth`: the ID to claim and, once the server issued one, the token that
/// proves it is ours. Without a token the key is left out (an empty one is invalid).
pub fn encode_auth(id: &PeerId, token: &str) -> Value {
    if token.is_empty() {
        json!({ "id": id.as_str() })
    } else {
        json!({ "id": id.as_str(), "token": token })
    }
}

/// The `get_ice_servers` request (its payload carries nothing, but an empty argument list
/// would reach the server as a different event).
pub fn encode_ice_servers_request() -> (&'static str, Value) {
    (GET_ICE_SERVERS, json!({}))
}

/// A server event the client acts on, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// A message another client sent us (`offer_sdp`, `send_ice`, …).
    Relayed(Inbound),
    /// `your_id`: all a seed server says on connecting. A current server sends `registered`
    /// right after it.
    YourId(PeerId),
    Registered(Registration),
    /// STUN/TURN servers for our calls; TURN credentials expire `ttl` seconds after issue
    /// (0: nothing expires).
    IceServers {
        servers: Vec<IceServer>,
        ttl: u64,
    },
    Error(ServerError),
}

/// Decodes any event a server sends. `Ok(None)`: an event this client has no use for, or a
/// `server_error` / `your_id` that is not one (the server's own copies are never malformed,
/// so these are dropped rather than reported).
pub fn decode_event(event: &str, args: &[Value]) -> Result<Option<ServerEvent>, WireError> {
    match event {
        "your_id" => Ok(args
            .first()
            .and_then(Value::as_str)
            .and_then(|s| PeerId::parse(s).ok())
            .map(ServerEvent::YourId)),
        "registered" => decode_registered(args).map(|reg| Some(ServerEvent::Registered(reg))),
        "ice_servers" => decode_ice_servers(args)
            .map(|(servers, ttl)| Some(ServerEvent::IceServers { servers, ttl })),
        "server_error" => Ok(decode_server_error(args).map(ServerEvent::Error)),
        relayed if INBOUND_EVENTS.contains(&relayed) => {
            decode(relayed, args).map(|msg| Some(ServerEvent::Relayed(msg)))
        }
        _ => Ok(None),
    }
}

/// Encodes one outbound message as `(event, payload)`.
///
/// The SDP goes out as a JSON *string* `{"type","sdp"}`, the form the seed clients parse,
/// so an old client can take our calls.
pub fn encode(msg: &Outbound) -> (&'static str, Value) {
    let mut obj = Map::new();
    obj.insert("targetClientId".into(), json!(msg.to.as_str()));
    if let Some(call_id) = &msg.call_id {
        obj.insert("callId".into(), json!(call_id.as_str()));
    }
    match &msg.body {
        Body::Description { desc, sas } => {
            let inner = json!({ "type": desc.kind.as_str(), "sdp": desc.sdp }).to_string();
            obj.insert("sdp".into(), Value::String(inner));
            match sas {
                Some(SasPart::Commit(commit)) => {
                    obj.insert(SAS_COMMIT.into(), json!(commit.to_hex()));
                }
                Some(SasPart::Nonce(nonce)) => {
                    obj.insert(SAS_NONCE.into(), json!(nonce.to_hex()));
                }
                None => {}
            }
        }
        Body::SasReveal { nonce } => {
            obj.insert(REVEAL_NONCE.into(), json!(nonce.to_hex()));
        }
        Body::Ice(c) => {
            obj.insert("candidate".into(), json!(c.candidate));
            if let Some(mid) = &c.mid {
                obj.insert("mid".into(), json!(mid));
            }
            if let Some(index) = c.mline_index {
                obj.insert("mLineIndex".into(), json!(index));
            }
        }
        Body::Decline { reason } => {
            if let Some(reason) = reason {
                obj.insert("reason".into(), json!(reason.as_str()));
            }
        }
        Body::Hangup { reason } => {
            obj.insert("reason".into(), json!(reason.as_str()));
        }
        Body::Ringing | Body::Busy => {}
    }
    (msg.body.event(), Value::Object(obj))
}

/// Socket.io hands us one JSON value per server argument; old clients' payloads may be a
/// JSON string holding the object.
fn object(event: &str, args: &[Value]) -> Result<Map<String, Value>, WireError> {
    let not_object = || WireError::NotAnObject {
        event: event.to_owned(),
    };
    match args.first() {
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(not_object()),
        },
        _ => Err(not_object()),
    }
}

fn field_err(event: &str, field: &'static str, problem: impl Into<String>) -> WireError {
    WireError::Field {
        event: event.to_owned(),
        field,
        problem: problem.into(),
    }
}

fn string<'a>(
    event: &str,
    obj: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, WireError> {
    match obj.get(field) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(field_err(event, field, "is not a string")),
        None => Err(field_err(event, field, "is missing")),
    }
}

fn optional_string<'a>(
    event: &str,
    obj: &'a Map<String, Value>,
    field: &'static str,
) -> Result<Option<&'a str>, WireError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(field_err(event, field, "is not a string")),
    }
}

fn optional_call_id(event: &str, obj: &Map<String, Value>) -> Result<Option<CallId>, WireError> {
    optional_string(event, obj, "callId")?
        .map(|raw| CallId::parse(raw).map_err(|e| field_err(event, "callId", e.to_string())))
        .transpose()
}

fn peer(event: &str, obj: &Map<String, Value>, field: &'static str) -> Result<PeerId, WireError> {
    PeerId::parse(string(event, obj, field)?).map_err(|e| field_err(event, field, e.to_string()))
}

/// The SDP arrives as a JSON string `{"type","sdp"}` (seed clients and us), as an object
/// (browsers that send `RTCSessionDescription.toJSON()` directly), or as raw SDP text.
fn description(
    event: &str,
    kind: SdpKind,
    value: Option<&Value>,
) -> Result<SessionDescription, WireError> {
    let from_object = |map: &Map<String, Value>| -> Result<SessionDescription, WireError> {
        let sdp = string(event, map, "sdp")?;
        let declared = optional_string(event, map, "type")?;
        if declared.is_some_and(|t| t != kind.as_str()) {
            return Err(field_err(
                event,
                "sdp",
                format!("has type {declared:?}, expected \"{}\"", kind.as_str()),
            ));
        }
        Ok(SessionDescription {
            kind,
            sdp: sdp.to_owned(),
        })
    };
    match value {
        Some(Value::Object(map)) => from_object(map),
        Some(Value::String(s)) if s.trim_start().starts_with("v=") => Ok(SessionDescription {
            kind,
            sdp: s.clone(),
        }),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(map)) => from_object(&map),
            _ => Err(field_err(
                event,
                "sdp",
                "is neither SDP text nor a JSON description",
            )),
        },
        Some(_) => Err(field_err(event, "sdp", "is not a string or object")),
        None => Err(field_err(event, "sdp", "is missing")),
    }
}

/// Decodes a relayed message (`offer_sdp`, `send_ice`, …).
pub fn decode(event: &str, args: &[Value]) -> Result<Inbound, WireError> {
    let obj = object(event, args)?;
    let from = peer(event, &obj, "from")?;
    let call_id = optional_call_id(event, &obj)?;
    let reason = || optional_string(event, &obj, "reason").map(|r| r.map(|s| truncate(s, 64)));
    let hex = |field: &'static str, problem: HexError| field_err(event, field, problem.to_string());
    let body = match event {
        "offer_sdp" => Body::Description {
            desc: description(event, SdpKind::Offer, obj.get("sdp"))?,
            sas: optional_string(event, &obj, SAS_COMMIT)?
                .map(|raw| Commitment::from_hex(raw).map_err(|e| hex(SAS_COMMIT, e)))
                .transpose()?
                .map(SasPart::Commit),
        },
        "answer_sdp" => Body::Description {
            desc: description(event, SdpKind::Answer, obj.get("sdp"))?,
            sas: optional_string(event, &obj, SAS_NONCE)?
                .map(|raw| Nonce::from_hex(raw).map_err(|e| hex(SAS_NONCE, e)))
                .transpose()?
                .map(SasPart::Nonce),
        },
        "sas_reveal" => Body::SasReveal {
            nonce: Nonce::from_hex(string(event, &obj, REVEAL_NONCE)?)
                .map_err(|e| hex(REVEAL_NONCE, e))?,
        },
        "send_ice" => {
            let mline_index = match obj.get("mLineIndex") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_u64()
                        .and_then(|n| u16::try_from(n).ok())
                        .ok_or_else(|| field_err(event, "mLineIndex", "is not a small integer"))?,
                ),
            };
            Body::Ice(IceCandidate {
                candidate: string(event, &obj, "candidate")?.to_owned(),
                mid: optional_string(event, &obj, "mid")?.map(str::to_owned),
                mline_index,
            })
        }
        "ringing" => Body::Ringing,
        "call_decline" => Body::Decline {
            reason: reason()?.as_deref().map(DeclineReason::parse),
        },
        "call_hangup" => Body::Hangup {
            reason: reason()?
                .as_deref()
                .map_or(HangupReason::Hangup, HangupReason::parse),
        },
        "busy" => Body::Busy,
        other => return Err(WireError::UnknownEvent(other.to_owned())),
    };
    Ok(Inbound {
        from,
        call_id,
        body,
    })
}

/// STUN/TURN servers the signaling server issued (TURN with short-lived credentials).
pub fn decode_ice_servers(args: &[Value]) -> Result<(Vec<IceServer>, u64), WireError> {
    let event = "ice_servers";
    let obj = object(event, args)?;
    let ttl = obj.get("ttl").and_then(Value::as_u64).unwrap_or(0);
    let list = match obj.get("iceServers") {
        Some(Value::Array(list)) => list,
        None | Some(Value::Null) => return Ok((Vec::new(), ttl)),
        Some(_) => return Err(field_err(event, "iceServers", "is not an array")),
    };
    let mut servers = Vec::with_capacity(list.len());
    for entry in list {
        let Value::Object(entry) = entry else {
            return Err(field_err(event, "iceServers", "holds a non-object"));
        };
        let urls = match entry.get("urls") {
            Some(Value::String(url)) => vec![url.clone()],
            Some(Value::Array(urls)) => urls
                .iter()
                .map(|u| u.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| field_err(event, "urls", "holds a non-string"))?,
            _ => return Err(field_err(event, "urls", "is missing or not a string list")),
        };
        servers.push(IceServer {
            urls,
            username: optional_string(event, entry, "username")?
                .unwrap_or_default()
                .to_owned(),
            credential: optional_string(event, entry, "credential")?
                .unwrap_or_default()
                .to_owned(),
        });
    }
    Ok((servers, ttl))
}

pub fn decode_registered(args: &[Value]) -> Result<Registration, WireError> {
    let event = "registered";
    let obj = object(event, args)?;
    let token = string(event, &obj, "token")?;
    if token.is_empty() || token.len() > 128 {
        return Err(field_err(event, "token", "has an invalid length"));
    }
    Ok(Registration {
        id: peer(event, &obj, "id")?,
        token: token.to_owned(),
        reclaimed: obj
            .get("reclaimed")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// Server errors; `None` when the payload is not a server error at all (the built-in
/// socket.io `error` event also carries transport failures as plain strings).
pub fn decode_server_error(args: &[Value]) -> Option<ServerError> {
    let obj = match args.first() {
        Some(Value::Object(map)) => map,
        _ => return None,
    };
    let code = obj.get("code")?.as_str()?;
    let text = |field: &str| obj.get(field).and_then(Value::as_str);
    Some(ServerError {
        code: ErrorCode::parse(code),
        message: truncate(text("message").unwrap_or(code), 300),
        event: text("event").map(|e| truncate(e, 64)),
        target: text("targetClientId").and_then(|t| PeerId::parse(t).ok()),
        call_id: text("callId").and_then(|c| CallId::parse(c).ok()),
    })
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(body: Body) -> Outbound {
        Outbound {
            to: PeerId::parse("k7m-q2x-9fd").expect("id"),
            call_id: Some(CallId::parse("c1").expect("call id")),
            body,
        }
    }

    #[test]
    fn offers_go_out_with_the_sdp_as_a_json_string() {
        let (event, payload) = encode(&out(Body::Description {
            desc: SessionDescription {
                kind: SdpKind::Offer,
                sdp: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n".into(),
            },
            sas: None,
        }));
        assert_eq!(event, "offer_sdp");
        assert_eq!(payload["targetClientId"], "k7m-q2x-9fd");
        assert_eq!(payload["callId"], "c1");
        let inner: Value =
            serde_json::from_str(payload["sdp"].as_str().expect("string")).expect("json");
        assert_eq!(inner["type"], "offer");
        assert_eq!(inner["sdp"], "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n");
    }

    #[test]
    fn every_body_round_trips_through_the_relay_shape() {
        let bodies = [
            Body::Description {
                desc: SessionDescription {
                    kind: SdpKind::Answer,
                    sdp: "v=0\r\n".into(),
                },
                sas: None,
            },
            Body::Description {
                desc: SessionDescription {
                    kind: SdpKind::Offer,
                    sdp: "v=0\r\n".into(),
                },
                sas: Some(SasPart::Commit(
                    Commitment::from_hex(&"ab".repeat(32)).expect("hex"),
                )),
            },
            Body::Description {
                desc: SessionDescription {
                    kind: SdpKind::Answer,
                    sdp: "v=0\r\n".into(),
                },
                sas: Some(SasPart::Nonce(Nonce::from_bytes([9; 32]))),
            },
            Body::SasReveal {
                nonce: Nonce::from_bytes([0xfe; 32]),
            },
            Body::Hangup {
                reason: HangupReason::SecurityCheckFailed,
            },
            Body::Ice(IceCandidate {
                candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host".into(),
                mid: Some("0".into()),
                mline_index: Some(0),
            }),
            Body::Ringing,
            Body::Decline {
                reason: Some(DeclineReason::Declined),
            },
            Body::Decline {
                reason: Some(DeclineReason::Other("on holiday".into())),
            },
            Body::Hangup {
                reason: HangupReason::Cancel,
            },
            Body::Hangup {
                reason: HangupReason::Other("tea_time".into()),
            },
            Body::Busy,
        ];
        for body in bodies {
            let msg = out(body.clone());
            let (event, mut payload) = encode(&msg);
            // What the server does: drop the target, stamp the sender.
            let obj = payload.as_object_mut().expect("object");
            obj.remove("targetClientId");
            obj.insert("from".into(), json!("abc-def-ghj"));
            let back = decode(event, &[payload]).expect("decodes");
            assert_eq!(back.body, body);
            assert_eq!(back.call_id, msg.call_id);
            assert_eq!(back.from.as_str(), "abc-def-ghj");
        }
    }

    #[test]
    fn seed_payloads_decode() {
        // The seed relays the sdp string untouched, possibly inside a JSON-string payload.
        let inner = json!({"type": "offer", "sdp": "v=0\r\ns=-\r\n"}).to_string();
        let payload = json!({"from": "abc-def-ghj", "sdp": inner}).to_string();
        let msg = decode("offer_sdp", &[Value::String(payload)]).expect("decodes");
        assert_eq!(msg.call_id, None);
        assert!(
            matches!(msg.body, Body::Description { desc, sas: None } if desc.sdp == "v=0\r\ns=-\r\n")
        );

        let ice = json!({"from": "abc-def-ghj", "candidate": "candidate:1 1 UDP 9 1.2.3.4 9 typ host", "mid": "0"});
        let msg = decode("send_ice", &[ice]).expect("decodes");
        assert!(
            matches!(msg.body, Body::Ice(c) if c.mid.as_deref() == Some("0") && c.mline_index.is_none())
        );
    }

    #[test]
    fn security_fields_ride_on_their_own_description_only() {
        let commit = "cd".repeat(32);
        let nonce = "ef".repeat(32);
        let offer = json!({"from": "abc-def-ghj", "sdp": "v=0\r\n", "sasCommit": commit, "sasNonce": nonce});
        let msg = decode("offer_sdp", &[offer]).expect("decodes");
        assert!(
            matches!(msg.body, Body::Description { sas: Some(SasPart::Commit(c)), .. } if c.to_hex() == commit)
        );
        // The callee's nonce belongs on an answer; on an offer it means nothing.
        let answer = json!({"from": "abc-def-ghj", "sdp": "v=0\r\n", "sasCommit": commit, "sasNonce": nonce});
        let msg = decode("answer_sdp", &[answer]).expect("decodes");
        assert!(
            matches!(msg.body, Body::Description { sas: Some(SasPart::Nonce(n)), .. } if n.to_hex() == nonce)
        );
        let seed = json!({"from": "abc-def-ghj", "sdp": "v=0\r\n", "sasCommit": null});
        let msg = decode("offer_sdp", &[seed]).expect("null is absent");
        assert!(matches!(msg.body, Body::Description { sas: None, .. }));
    }

    #[test]
    fn object_and_raw_sdp_forms_decode() {
        let obj = json!({"from": "abc-def-ghj", "sdp": {"type": "answer", "sdp": "v=0\r\n"}});
        assert!(decode("answer_sdp", &[obj]).is_ok());
        let raw = json!({"from": "abc-def-ghj", "sdp": "v=0\r\n"});
        assert!(decode("answer_sdp", &[raw]).is_ok());
    }

    #[test]
    fn garbage_is_an_error_naming_the_problem() {
        let cases: Vec<(&str, Vec<Value>, &str)> = vec![
            ("offer_sdp", vec![], "not an object"),
            ("offer_sdp", vec![json!(42)], "not an object"),
            ("offer_sdp", vec![json!("{not json")], "not an object"),
            (
                "offer_sdp",
                vec![json!({"sdp": "v=0"})],
                "`from` is missing",
            ),
            (
                "offer_sdp",
                vec![json!({"from": "x", "sdp": "v=0"})],
                "`from`",
            ),
            (
                "offer_sdp",
                vec![json!({"from": "abc-def-ghj"})],
                "`sdp` is missing",
            ),
            (
                "offer_sdp",
                vec![json!({"from": "abc-def-ghj", "sdp": 5})],
                "`sdp` is not",
            ),
            (
                "offer_sdp",
                vec![
                    json!({"from": "abc-def-ghj", "sdp": "{\"type\":\"answer\",\"sdp\":\"v=0\"}"}),
                ],
                "expected \"offer\"",
            ),
            (
                "offer_sdp",
                vec![json!({"from": "abc-def-ghj", "sdp": "hello"})],
                "neither SDP",
            ),
            (
                "send_ice",
                vec![json!({"from": "abc-def-ghj"})],
                "`candidate` is missing",
            ),
            (
                "send_ice",
                vec![json!({"from": "abc-def-ghj", "candidate": 1})],
                "`candidate` is not",
            ),
            (
                "send_ice",
                vec![json!({"from": "abc-def-ghj", "candidate": "", "mLineIndex": -1})],
                "`mLineIndex`",
            ),
            (
                "send_ice",
                vec![json!({"from": "abc-def-ghj", "candidate": "", "mid": []})],
                "`mid`",
            ),
            (
                "busy",
                vec![json!({"from": "abc-def-ghj", "callId": "bad id!"})],
                "`callId`",
            ),
            (
                "bogus",
                vec![json!({"from": "abc-def-ghj"})],
                "unknown event",
            ),
            (
                "offer_sdp",
                vec![json!({"from": "abc-def-ghj", "sdp": "v=0", "sasCommit": "12"})],
                "`sasCommit` must be 64 hex digits",
            ),
            (
                "offer_sdp",
                vec![json!({"from": "abc-def-ghj", "sdp": "v=0", "sasCommit": 5})],
                "`sasCommit` is not a string",
            ),
            (
                "answer_sdp",
                vec![json!({"from": "abc-def-ghj", "sdp": "v=0", "sasNonce": "Z".repeat(64)})],
                "`sasNonce` must hold only",
            ),
            (
                "sas_reveal",
                vec![json!({"from": "abc-def-ghj"})],
                "`nonce` is missing",
            ),
            (
                "sas_reveal",
                vec![json!({"from": "abc-def-ghj", "nonce": "ab".repeat(33)})],
                "`nonce` must be 64 hex digits",
            ),
        ];
        for (event, args, expect) in cases {
            let err = decode(event, &args).expect_err(event).to_string();
            assert!(err.contains(expect), "{event} {args:?}: {err}");
        }
    }

    #[test]
    fn issued_ice_servers_decode() {
        let payload = json!({"iceServers": [
            {"urls": ["stun:127.0.0.1:3478"]},
            {"urls": "turn:127.0.0.1:3478?transport=udp", "username": "1700000000:abc", "credential": "c2VjcmV0"}
        ], "ttl": 86400});
        let (servers, ttl) = decode_ice_servers(&[payload]).expect("decodes");
        assert_eq!(ttl, 86400);
        assert_eq!(servers.len(), 2);
        assert_eq!(
            servers[1].urls,
            vec!["turn:127.0.0.1:3478?transport=udp".to_string()]
        );
        assert_eq!(servers[1].username, "1700000000:abc");
        assert!(decode_ice_servers(&[json!({"iceServers": [{"urls": 5}]})]).is_err());
        assert!(decode_ice_servers(&[json!({"iceServers": "x"})]).is_err());
        assert_eq!(
            decode_ice_servers(&[json!({"iceServers": [], "ttl": 0})]),
            Ok((vec![], 0))
        );
    }

    #[test]
    fn every_server_event_decodes_by_name() {
        let reg = json!({"id": "k7m-q2x-9fd", "token": "t0k3n-abcdefghijkl", "reclaimed": false});
        assert!(matches!(
            decode_event("registered", &[reg]),
            Ok(Some(ServerEvent::Registered(r))) if r.id.as_str() == "k7m-q2x-9fd"
        ));
        assert!(matches!(
            decode_event("your_id", &[json!("k7m-q2x-9fd")]),
            Ok(Some(ServerEvent::YourId(id))) if id.as_str() == "k7m-q2x-9fd"
        ));
        assert_eq!(decode_event("your_id", &[json!(7)]), Ok(None));
        assert!(matches!(
            decode_event("ice_servers", &[json!({"iceServers": [], "ttl": 60})]),
            Ok(Some(ServerEvent::IceServers { ttl: 60, .. }))
        ));
        assert!(matches!(
            decode_event("server_error", &[json!({"code": "ID_TAKEN", "message": "taken"})]),
            Ok(Some(ServerEvent::Error(e))) if e.code == ErrorCode::IdTaken
        ));
        assert!(matches!(
            decode_event("ringing", &[json!({"from": "abc-def-ghj"})]),
            Ok(Some(ServerEvent::Relayed(m))) if m.body == Body::Ringing
        ));
        assert!(decode_event("ringing", &[json!({})]).is_err());
        assert!(decode_event("registered", &[json!({})]).is_err());
        assert_eq!(decode_event("some_new_event", &[json!({})]), Ok(None));
    }

    #[test]
    fn auth_leaves_out_a_missing_token() {
        let id = PeerId::parse("k7m-q2x-9fd").expect("id");
        assert_eq!(encode_auth(&id, ""), json!({"id": "k7m-q2x-9fd"}));
        assert_eq!(
            encode_auth(&id, "t0k3n-abcdefghijkl"),
            json!({"id": "k7m-q2x-9fd", "token": "t0k3n-abcdefghijkl"})
        );
    }

    #[test]
    fn registration_and_server_errors_decode() {
        let reg = decode_registered(&[
            json!({"id": "k7m-q2x-9fd", "token": "t0k3n-abcdefghijkl", "reclaimed": true}),
        ])
        .expect("registered");
        assert!(reg.reclaimed);
        assert!(decode_registered(&[json!({"id": "k7m-q2x-9fd"})]).is_err());

        let err = decode_server_error(&[json!({"code": "PEER_NOT_FOUND", "message": "peer zzz-zzz-zzz is not online", "targetClientId": "zzz-zzz-zzz", "callId": "c1"})])
            .expect("server error");
        assert_eq!(err.code, ErrorCode::PeerNotFound);
        assert_eq!(err.target.as_ref().map(PeerId::as_str), Some("zzz-zzz-zzz"));
        let err = decode_server_error(&[json!({"code": "NOT_IN_CALL", "message": "no call with zzz-zzz-zzz", "event": "send_ice"})])
            .expect("server error");
        assert_eq!(err.code, ErrorCode::NotInCall);
        assert_eq!(ErrorCode::parse("REGISTRY_FULL"), ErrorCode::RegistryFull);
        // Transport errors from the socket.io library are plain strings, not server errors.
        assert_eq!(decode_server_error(&[json!("Transport closed")]), None);
        assert_eq!(decode_server_error(&[]), None);
    }
}
