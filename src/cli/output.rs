//! What the headless client prints: human lines, or JSON lines with `--json`.

use std::io::Write;

use serde_json::{Value, json};
use voicecall_core::call::{EndReason, Phase};
use voicecall_engine::controller::{EngineEvent, SignalingState};

pub struct Printer {
    json: bool,
}

impl Printer {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// The first line, in both modes: just the ID, so scripts can `head -1`.
    pub fn id_line(&self, id: &str) {
        line(id);
    }

    pub fn event(&self, event: &EngineEvent) {
        if self.json {
            if let Some(value) = to_json(event) {
                line(&value.to_string());
            }
        } else if let Some(text) = to_text(event) {
            line(&text);
        }
    }

    pub fn note(&self, kind: &str, message: &str) {
        if self.json {
            line(&json!({ "event": kind, "message": message }).to_string());
        } else {
            line(message);
        }
    }
}

fn line(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (e.g. `| head -1`) must not kill the call.
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

fn to_text(event: &EngineEvent) -> Option<String> {
    Some(match event {
        EngineEvent::Registered {
            id,
            reclaimed: true,
            ..
        } => format!("registered again as {id}"),
        EngineEvent::Registered { .. } => return None,
        EngineEvent::Signaling { state, detail } => match state {
            SignalingState::Connected => format!("connected to {detail}"),
            SignalingState::Reconnecting => format!("signaling lost ({detail}), reconnecting…"),
            SignalingState::Offline => format!("signaling offline: {detail}"),
        },
        EngineEvent::Phase(phase) => match phase {
            Phase::Idle | Phase::Ended { .. } => return None,
            Phase::Outgoing {
                peer,
                ringing: false,
                ..
            } => format!("calling {peer}…"),
            Phase::Outgoing {
                peer,
                ringing: true,
                ..
            } => format!("{peer} is ringing…"),
            Phase::Incoming { peer, .. } => format!("incoming call from {peer}"),
            Phase::Connecting { peer, .. } => format!("connecting to {peer}…"),
            Phase::InCall { peer, muted, .. } => {
                format!(
                    "in call with {peer}{}",
                    if *muted { " (muted)" } else { "" }
                )
            }
        },
        EngineEvent::Tone(_) | EngineEvent::Stats { .. } => return None,
        EngineEvent::FirstAudio { setup, .. } => match setup {
            Some(setup) => format!(
                "hearing the peer ({} ms after dialling/answering)",
                setup.as_millis()
            ),
            None => "hearing the peer".into(),
        },
        EngineEvent::MediaStarted { .. } => "audio flowing".into(),
        EngineEvent::MediaPath { up: false } => "connection interrupted, reconnecting…".into(),
        EngineEvent::MediaPath { up: true } => "connection restored".into(),
        EngineEvent::Verification { code } => {
            format!("verification code: {code} (the other side should see the same)")
        }
        EngineEvent::Ended { reason, media } => match media {
            Some(m) => format!(
                "call ended: {reason} (sent {} frames, received {}, concealed {})",
                m.frames_sent, m.packets_received, m.frames_concealed
            ),
            None => format!("call ended: {reason}"),
        },
        EngineEvent::RejectedBusy { peer } => format!("{peer} called while busy; told them so"),
        EngineEvent::Warning(message) => format!("warning: {message}"),
    })
}

fn phase_json(phase: &Phase) -> Value {
    let mut value = json!({ "event": "phase", "phase": phase.name() });
    if let Some(peer) = phase.peer() {
        value["peer"] = json!(peer.as_str());
    }
    match phase {
        Phase::Outgoing { ringing, .. } => value["ringing"] = json!(ringing),
        Phase::InCall { muted, .. } => value["muted"] = json!(muted),
        Phase::Ended { reason, .. } => {
            value["reason"] = json!(reason.code());
            value["message"] = json!(reason.to_string());
        }
        _ => {}
    }
    value
}

fn to_json(event: &EngineEvent) -> Option<Value> {
    Some(match event {
        EngineEvent::Registered { id, reclaimed, .. } => {
            json!({ "event": "registered", "id": id.as_str(), "reclaimed": reclaimed })
        }
        EngineEvent::Signaling { state, detail } => {
            let state = match state {
                SignalingState::Connected => "connected",
                SignalingState::Reconnecting => "reconnecting",
                SignalingState::Offline => "offline",
            };
            json!({ "event": "signaling", "state": state, "detail": detail })
        }
        EngineEvent::Phase(phase) => phase_json(phase),
        EngineEvent::Tone(tone) => {
            json!({ "event": "tone", "tone": tone.map(|t| format!("{t:?}").to_lowercase()) })
        }
        EngineEvent::MediaStarted { .. } => json!({ "event": "media_started" }),
        EngineEvent::FirstAudio { setup, .. } => json!({
            "event": "first_audio",
            "setup_ms": setup.map(|d| d.as_secs_f64() * 1000.0),
        }),
        EngineEvent::Verification { code } => json!({ "event": "verification", "code": code }),
        EngineEvent::MediaPath { up } => json!({ "event": "media_path", "up": up }),
        EngineEvent::Stats { rtc, media } => {
            json!({ "event": "stats", "rtc": rtc, "media": media })
        }
        EngineEvent::Ended { reason, media } => json!({
            "event": "ended",
            "reason": reason.code(),
            "message": reason.to_string(),
            "media": media,
        }),
        EngineEvent::RejectedBusy { peer } => {
            json!({ "event": "rejected_busy", "peer": peer.as_str() })
        }
        EngineEvent::Warning(message) => json!({ "event": "warning", "message": message }),
    })
}

/// Calls that ended the way a finished conversation does.
pub fn ended_normally(reason: &EndReason) -> bool {
    matches!(reason, EndReason::HungUp | EndReason::HungUpByPeer)
}
