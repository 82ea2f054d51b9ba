//! What the headless client prints: human lines, or JSON lines with `--json`.

use std::io::Write;

use serde_json::{Value, json};
use voicecall_core::call::{EndReason, Phase};
use voicecall_core::device::Direction;
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
            for value in to_json(event) {
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
            SignalingState::Offline | SignalingState::Refused(_) => {
                format!("signaling offline: {detail}")
            }
        },
        EngineEvent::Phase(phase) => match phase {
            Phase::Idle => return None,
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
        EngineEvent::Ended { reason, media, .. } => match media {
            Some(m) => format!(
                "call ended: {reason} (sent {} frames, received {}, concealed {})",
                m.frames_sent, m.packets_received, m.frames_concealed
            ),
            None => format!("call ended: {reason}"),
        },
        EngineEvent::RejectedBusy { peer } => format!("{peer} called while busy; told them so"),
        EngineEvent::DeviceSwitched(switch) => {
            let device = match switch.direction {
                Direction::Input => "microphone",
                Direction::Output => "speaker",
            };
            match &switch.to {
                Some(to) => format!("{device} {} disconnected; switched to {to}", switch.lost),
                None => format!(
                    "{device} {} disconnected; no other {device} found, still looking",
                    switch.lost
                ),
            }
        }
        EngineEvent::Warning(warning) => format!("warning: {warning}"),
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
        _ => {}
    }
    value
}

/// One line per event, except a call's end: scripts read it both as the last phase and as
/// the `ended` event.
fn to_json(event: &EngineEvent) -> Vec<Value> {
    vec![match event {
        EngineEvent::Registered { id, reclaimed, .. } => {
            json!({ "event": "registered", "id": id.as_str(), "reclaimed": reclaimed })
        }
        EngineEvent::Signaling { state, detail } => {
            let state = match state {
                SignalingState::Connected => "connected",
                SignalingState::Reconnecting => "reconnecting",
                SignalingState::Offline | SignalingState::Refused(_) => "offline",
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
        EngineEvent::Ended {
            peer,
            reason,
            media,
        } => {
            let (code, message) = (reason.code(), reason.to_string());
            let mut ended =
                json!({ "event": "ended", "reason": code, "message": message, "media": media });
            if let EndReason::Failed(failure) = reason {
                ended["failure"] = json!(failure.code());
            }
            return vec![
                json!({
                    "event": "phase",
                    "phase": "ended",
                    "peer": peer.as_str(),
                    "reason": code,
                    "message": message,
                }),
                ended,
            ];
        }
        EngineEvent::RejectedBusy { peer } => {
            json!({ "event": "rejected_busy", "peer": peer.as_str() })
        }
        EngineEvent::DeviceSwitched(switch) => json!({
            "event": "device_switched",
            "direction": switch.direction.to_string(),
            "lost": switch.lost,
            "to": switch.to,
        }),
        EngineEvent::Warning(warning) => json!({
            "event": "warning",
            "kind": warning.code(),
            "message": warning.to_string(),
        }),
    }]
}

/// Calls that ended the way a finished conversation does.
pub fn ended_normally(reason: &EndReason) -> bool {
    matches!(reason, EndReason::HungUp | EndReason::HungUpByPeer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use voicecall_core::call::Failure;
    use voicecall_core::id::PeerId;
    use voicecall_core::quality::MediaSummary;
    use voicecall_core::signaling::message::ErrorCode;
    use voicecall_engine::controller::Warning;
    use voicecall_engine::media::DeviceSwitch;

    #[test]
    fn the_end_of_a_call_prints_the_last_phase_and_the_ended_event() {
        let event = EngineEvent::Ended {
            peer: PeerId::parse("k7m-q2x-9fd").expect("id"),
            reason: EndReason::HungUpByPeer,
            media: Some(MediaSummary {
                frames_sent: 7,
                ..MediaSummary::default()
            }),
        };
        let lines = to_json(&event);
        assert_eq!(
            lines[0],
            json!({
                "event": "phase",
                "phase": "ended",
                "peer": "k7m-q2x-9fd",
                "reason": "remote_hangup",
                "message": "hung up by peer",
            })
        );
        assert_eq!(lines[1]["event"], "ended");
        assert_eq!(lines[1]["reason"], "remote_hangup");
        assert_eq!(lines[1]["message"], "hung up by peer");
        assert_eq!(lines[1]["media"]["frames_sent"], 7);
        assert_eq!(lines.len(), 2);
        assert_eq!(
            to_text(&event).as_deref(),
            Some("call ended: hung up by peer (sent 7 frames, received 0, concealed 0)")
        );
    }

    #[test]
    fn a_lost_device_is_one_event_saying_what_replaced_it() {
        let switched = EngineEvent::DeviceSwitched(DeviceSwitch {
            direction: Direction::Input,
            lost: "USB headset".into(),
            to: Some("built-in audio".into()),
        });
        assert_eq!(
            to_json(&switched),
            [json!({
                "event": "device_switched",
                "direction": "input",
                "lost": "USB headset",
                "to": "built-in audio",
            })]
        );
        assert_eq!(
            to_text(&switched).as_deref(),
            Some("microphone USB headset disconnected; switched to built-in audio")
        );
        let nothing = EngineEvent::DeviceSwitched(DeviceSwitch {
            direction: Direction::Output,
            lost: "USB headset".into(),
            to: None,
        });
        assert_eq!(to_json(&nothing)[0]["to"], Value::Null);
        assert_eq!(to_json(&nothing)[0]["direction"], "output");
    }

    #[test]
    fn a_failure_says_what_failed() {
        let event = EngineEvent::Ended {
            peer: PeerId::parse("k7m-q2x-9fd").expect("id"),
            reason: EndReason::Failed(Failure::AudioDevice("no microphone".into())),
            media: None,
        };
        let ended = &to_json(&event)[1];
        assert_eq!(ended["reason"], "failed");
        assert_eq!(ended["failure"], "audio_device");
        assert_eq!(ended["message"], "failed: no microphone");
        let warning = EngineEvent::Warning(Warning::IceRestart("no peer connection".into()));
        assert_eq!(
            to_json(&warning),
            [json!({
                "event": "warning",
                "kind": "ice_restart",
                "message": "ICE restart: no peer connection",
            })]
        );
    }

    #[test]
    fn a_refusal_reads_as_offline() {
        let event = EngineEvent::Signaling {
            state: SignalingState::Refused(ErrorCode::IdTaken),
            detail: "signaling server refused us: taken".into(),
        };
        assert_eq!(to_json(&event)[0]["state"], "offline");
        assert_eq!(
            to_text(&event).as_deref(),
            Some("signaling offline: signaling server refused us: taken")
        );
    }
}
