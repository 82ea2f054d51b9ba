//! What the headless client prints: human lines, or JSON lines with `--json`.

use std::io::Write;

use serde_json::{Value, json};
use voicecall_core::call::{EndReason, Phase};
use voicecall_core::contacts::Trust;
use voicecall_core::device::Direction;
use voicecall_core::id::PeerId;
use voicecall_core::sas::{Fingerprint, Unverifiable, Verification};
use voicecall_engine::controller::{EngineEvent, SignalingState};

pub struct Printer {
    json: bool,
    /// The live call's peer certificate, from its `peer_certificate` event until it ends:
    /// every call event carries it as `remote_fingerprint`.
    remote: Option<Fingerprint>,
}

impl Printer {
    pub fn new(json: bool) -> Self {
        Self { json, remote: None }
    }

    /// The first line, in both modes: just the ID, so scripts can `head -1`.
    pub fn id_line(&self, id: &str) {
        line(id);
    }

    pub fn event(&mut self, event: &EngineEvent) {
        if let EngineEvent::PeerCertificate { fingerprint, .. } = event {
            self.remote = Some(fingerprint.clone());
        }
        if self.json {
            for mut value in to_json(event) {
                if let (Some(remote), true) = (&self.remote, carries_fingerprint(&value)) {
                    value["remote_fingerprint"] = json!(remote.as_str());
                }
                line(&value.to_string());
            }
        } else if let Some(text) = to_text(event) {
            line(&text);
        }
        if let EngineEvent::Ended { .. } = event {
            self.remote = None;
        }
    }

    /// What the peer's certificate means given our contacts: printed before the phase it
    /// comes with, so before an incoming call is answered. A changed key of a verified
    /// contact also gets an `identity_changed` event (a warning line in text mode).
    pub fn trust(&self, peer: &PeerId, name: Option<&str>, trust: &Trust) {
        let Some(remote) = &self.remote else {
            return;
        };
        let who = name.unwrap_or(peer.as_str());
        let warning = trust.warning(who);
        if !self.json {
            if let Some(warning) = warning {
                line(&warning);
            }
            return;
        }
        let mut value = json!({
            "event": "peer_trust",
            "peer": peer.as_str(),
            "trust": trust.code(),
            "remote_fingerprint": remote.as_str(),
        });
        if let Some(name) = name {
            value["contact"] = json!(name);
        }
        if let Trust::Changed { pinned } = trust {
            value["pinned_fingerprint"] = json!(pinned.as_str());
        }
        line(&value.to_string());
        if let Some(warning) = warning {
            value["event"] = json!("identity_changed");
            value["message"] = json!(warning);
            line(&value.to_string());
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
        EngineEvent::PeerCertificate { peer, fingerprint } => {
            format!("{peer}'s certificate: {fingerprint}")
        }
        EngineEvent::Verification(Verification::Code(code)) => {
            format!("security code: {code} (the other side should see the same)")
        }
        EngineEvent::Verification(Verification::NotVerifiable(why)) => {
            format!(
                "security code: not verifiable ({})",
                unverifiable_text(*why)
            )
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
        EngineEvent::PeerCertificate { peer, fingerprint } => json!({
            "event": "peer_certificate",
            "peer": peer.as_str(),
            "remote_fingerprint": fingerprint.as_str(),
        }),
        EngineEvent::Verification(Verification::Code(code)) => {
            json!({ "event": "verification", "verifiable": true, "code": code.as_str() })
        }
        EngineEvent::Verification(Verification::NotVerifiable(why)) => json!({
            "event": "verification",
            "verifiable": false,
            "code": null,
            "reason": unverifiable_code(*why),
        }),
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

/// The events of the live call, which name the peer's certificate once it is known.
fn carries_fingerprint(value: &Value) -> bool {
    matches!(
        value["event"].as_str(),
        Some("phase" | "verification" | "media_started" | "first_audio" | "ended")
    ) && value["phase"] != "idle"
}

fn unverifiable_code(why: Unverifiable) -> &'static str {
    match why {
        Unverifiable::PeerWithoutCommitment => "peer_without_commitment",
        Unverifiable::NoFingerprint => "no_fingerprint",
    }
}

fn unverifiable_text(why: Unverifiable) -> &'static str {
    match why {
        Unverifiable::PeerWithoutCommitment => {
            "the other app is an older version, or someone removed its part on the way"
        }
        Unverifiable::NoFingerprint => "a description declared no certificate",
    }
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
    fn call_events_carry_the_peer_certificate_until_the_call_ends() {
        let peer = PeerId::parse("k7m-q2x-9fd").expect("id");
        let fingerprint = Fingerprint::parse("SHA-256 AA:BB").expect("fingerprint");
        let mut printer = Printer::new(true);
        let phase = |remote: Option<&Fingerprint>| {
            let mut value = to_json(&EngineEvent::Phase(Phase::Idle))[0].clone();
            value["phase"] = json!("incoming");
            if let (Some(remote), true) = (remote, carries_fingerprint(&value)) {
                value["remote_fingerprint"] = json!(remote.as_str());
            }
            value
        };
        assert_eq!(phase(None).get("remote_fingerprint"), None);
        printer.event(&EngineEvent::PeerCertificate {
            peer: peer.clone(),
            fingerprint: fingerprint.clone(),
        });
        assert_eq!(printer.remote.as_ref(), Some(&fingerprint));
        assert_eq!(
            phase(printer.remote.as_ref())["remote_fingerprint"],
            "SHA-256 AA:BB"
        );
        printer.event(&EngineEvent::Ended {
            peer,
            reason: EndReason::HungUp,
            media: None,
        });
        assert_eq!(printer.remote, None);
    }

    #[test]
    fn verification_events_say_whether_there_is_a_code() {
        let code = voicecall_core::sas::SasCode::derive(
            &Fingerprint::parse("SHA-256 AA").expect("fp"),
            &Fingerprint::parse("SHA-256 BB").expect("fp"),
            &voicecall_core::sas::Nonce::from_bytes([1; 32]),
            &voicecall_core::sas::Nonce::from_bytes([2; 32]),
        );
        let shown = to_json(&EngineEvent::Verification(Verification::Code(code.clone())));
        assert_eq!(shown[0]["code"], code.as_str());
        assert_eq!(shown[0]["verifiable"], true);
        let old = to_json(&EngineEvent::Verification(Verification::NotVerifiable(
            Unverifiable::PeerWithoutCommitment,
        )));
        assert_eq!(old[0]["verifiable"], false);
        assert_eq!(old[0]["code"], Value::Null);
        assert_eq!(old[0]["reason"], "peer_without_commitment");
        let failed = EngineEvent::Ended {
            peer: PeerId::parse("k7m-q2x-9fd").expect("id"),
            reason: EndReason::SecurityCheckFailed(
                voicecall_core::sas::SecurityFailure::CommitmentMismatch,
            ),
            media: None,
        };
        assert_eq!(to_json(&failed)[1]["reason"], "security_check_failed");
        assert!(
            to_text(&failed)
                .expect("a line")
                .contains("security check failed")
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
