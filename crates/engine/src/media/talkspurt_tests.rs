//! The capture path into the send path on the quality benchmarks' speech: how noise
//! suppression and DTX together cut a passage into talkspurts (issue 17: each one is a
//! playout restart for chromium's NetEq).

use super::{CaptureProcessor, ProcessingConfig, SendConfig, SendPath};
use crate::codec::PayloadTypes;
use voicecall_core::format::FRAME_SAMPLES;
use voicecall_lab::support::output_dir;
use voicecall_lab::support::pesq::Speech;

/// Each passage is six sentences; 2 talkspurts with the hangover.
const MAX_TALKSPURTS: usize = 3;

const TYPES: PayloadTypes = PayloadTypes {
    opus: 111,
    red: None,
};

#[derive(Debug)]
struct Sent {
    /// Packets that start a talkspurt after a DTX pause.
    talkspurts: usize,
    frames_sent: usize,
    /// Half frames that skipped noise suppression.
    ns_skipped: u64,
}

fn send_speech(speech: &[i16], processing: ProcessingConfig, send_config: &SendConfig) -> Sent {
    let mut processor = CaptureProcessor::new(processing);
    let mut send = SendPath::new(send_config, TYPES, 0).unwrap();
    let mut sent = Sent {
        talkspurts: 0,
        frames_sent: 0,
        ns_skipped: 0,
    };
    for chunk in speech.chunks_exact(FRAME_SAMPLES) {
        let mut pcm = [0i16; FRAME_SAMPLES];
        pcm.copy_from_slice(chunk);
        let voice = processor.capture(&mut pcm, send.is_silent());
        send.voice(voice).unwrap();
        if let Some(packet) = send.encode(&pcm).unwrap() {
            sent.frames_sent += 1;
            sent.talkspurts += usize::from(packet.marker);
        }
    }
    sent.ns_skipped = processor.cost().noise_skipped;
    sent
}

fn ns(on: bool) -> ProcessingConfig {
    ProcessingConfig {
        noise_suppression: on,
        echo_cancellation: false,
        ..ProcessingConfig::default()
    }
}

#[test]
fn pauses_inside_a_passage_stay_in_its_talkspurt_and_silence_skips_rnnoise() {
    let dir = output_dir("talkspurts");
    let send_config = SendConfig::default();
    for speech in Speech::prepare(&dir) {
        // sox dithers the passages: take its ±1 LSB out of the silences so Opus sees the
        // same input every run.
        let samples: Vec<i16> = speech
            .samples48
            .iter()
            .map(|&s| if s.abs() <= 1 { 0 } else { s })
            .collect();
        let plain = send_speech(&samples, ns(false), &send_config);
        let suppressed = send_speech(&samples, ns(true), &send_config);
        eprintln!("without NS {plain:?}; with NS {suppressed:?}");
        // Without NS, Opus leaves the passages' digital-silence pauses unsent (8
        // talkspurts); RNNoise alone (no floor or hangover) cut them at its quiet word
        // ends too. With the hangover only pauses longer than ~0.8 s end a talkspurt.
        assert!(
            suppressed.talkspurts <= MAX_TALKSPURTS,
            "noise suppression split the speech into {} talkspurts ({} without NS)",
            suppressed.talkspurts,
            plain.talkspurts
        );
        // The leading second of silence skips RNNoise once DTX has set in.
        assert!(
            suppressed.ns_skipped >= 50,
            "RNNoise skipped {} half frames",
            suppressed.ns_skipped
        );
        // The hangover delays DTX, it does not switch it off: the leading second of
        // silence still goes unsent.
        let frames = samples.len() / FRAME_SAMPLES;
        assert!(
            suppressed.frames_sent + 30 <= frames,
            "{} of {frames} frames sent",
            suppressed.frames_sent
        );
    }
}
