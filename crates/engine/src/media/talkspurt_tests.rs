//! The capture path into the send path on the quality benchmarks' speech: how noise
//! suppression and DTX together cut a passage into talkspurts (issue 17: each one is a
//! playout restart for chromium's NetEq).

use super::{CaptureProcessor, ProcessingConfig, SendConfig, SendPath};
use crate::codec::PayloadTypes;
use voicecall_core::format::FRAME_SAMPLES;
use voicecall_lab::support::output_dir;
use voicecall_lab::support::pesq::Speech;

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
fn noise_suppression_adds_no_talkspurts_and_skips_the_silences() {
    let dir = output_dir("talkspurts");
    let send_config = SendConfig::default();
    for speech in Speech::prepare(&dir) {
        let plain = send_speech(&speech.samples48, ns(false), &send_config);
        let suppressed = send_speech(&speech.samples48, ns(true), &send_config);
        eprintln!("without NS {plain:?}; with NS {suppressed:?}");
        // RNNoise alone (no floor or hangover) made 7 and 8 of the passages' 1 and 3
        // (sox dithers the passages, so the counts move by one from run to run).
        assert!(
            suppressed.talkspurts <= plain.talkspurts + 2,
            "noise suppression split the speech into {} talkspurts ({} without)",
            suppressed.talkspurts,
            plain.talkspurts
        );
        // The leading second of silence skips RNNoise once DTX has set in.
        assert!(
            suppressed.ns_skipped >= 50,
            "RNNoise skipped {} half frames",
            suppressed.ns_skipped
        );
        // The hangover costs a few frames: ~13 s of speech is ~650.
        assert!(
            suppressed.frames_sent <= plain.frames_sent + 50,
            "{} frames sent ({} without NS)",
            suppressed.frames_sent,
            plain.frames_sent
        );
    }
}
