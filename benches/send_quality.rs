//! Speech quality of the send path alone, no network: the quality benchmark's two
//! espeak-ng passages through capture processing (RNNoise with its floor), the DTX hangover
//! and Opus, decoded the way a receiver plays them (a DTX gap is concealed, which libopus
//! turns into comfort noise), aligned and scored with wideband PESQ. The same input gives
//! the same score every run (±0.02: sox dithers the passages afresh each run), so sender
//! settings are compared without the network and the machine's load in the numbers. A
//! second table adds steady low-passed noise to the input and still scores against the
//! clean passage, where noise suppression must earn its keep. Run through
//! `benches/send_quality.sh`.

mod common;

use std::path::Path;

use voicecall_core::format::{FRAME_SAMPLES, MAX_DECODED_SAMPLES};
use voicecall_engine::codec::{Decoder, EncoderSettings, PayloadTypes};
use voicecall_engine::media::{CaptureProcessor, ProcessingConfig, SendConfig, SendPath};
use voicecall_lab::support;
use voicecall_lab::support::pesq::{Pesq, Speech, align_for_pesq};

const TYPES: PayloadTypes = PayloadTypes {
    opus: 111,
    red: None,
};

struct Variant {
    key: &'static str,
    label: &'static str,
    processing: ProcessingConfig,
    send: SendConfig,
    /// Skip Opus: the capture path's output as it is handed to the encoder.
    capture_only: bool,
}

/// The capture path with noise suppression on or off (no echo canceller: no far end here).
fn ns(on: bool) -> ProcessingConfig {
    ProcessingConfig {
        noise_suppression: on,
        echo_cancellation: false,
        ..ProcessingConfig::default()
    }
}

fn variants() -> Vec<Variant> {
    let dtx = |on: bool| SendConfig {
        encoder: EncoderSettings {
            dtx: on,
            ..EncoderSettings::default()
        },
        ..SendConfig::default()
    };
    vec![
        Variant {
            key: "ns-capture",
            label: "capture path only (NS on, no Opus)",
            processing: ns(true),
            send: dtx(true),
            capture_only: true,
        },
        Variant {
            key: "ours",
            label: "ours (NS on, DTX on)",
            processing: ns(true),
            send: dtx(true),
            capture_only: false,
        },
        Variant {
            key: "nsalways",
            label: "ours, NS on every frame (no clean-microphone bypass)",
            processing: ProcessingConfig {
                clean_mic_bypass: false,
                ..ns(true)
            },
            send: dtx(true),
            capture_only: false,
        },
        Variant {
            key: "nons",
            label: "NS off, DTX on",
            processing: ns(false),
            send: dtx(true),
            capture_only: false,
        },
        Variant {
            key: "dtxoff",
            label: "NS on, DTX off",
            processing: ns(true),
            send: dtx(false),
            capture_only: false,
        },
        Variant {
            key: "bothoff",
            label: "NS off, DTX off",
            processing: ns(false),
            send: dtx(false),
            capture_only: false,
        },
        Variant {
            key: "nofloor",
            label: "NS without floor, DTX on",
            processing: ProcessingConfig {
                noise_floor_db: None,
                ..ns(true)
            },
            send: dtx(true),
            capture_only: false,
        },
        Variant {
            key: "nohangover",
            label: "NS on, DTX without hangover",
            processing: ns(true),
            send: SendConfig {
                dtx_hangover_frames: 0,
                ..dtx(true)
            },
            capture_only: false,
        },
        Variant {
            key: "fulleffort",
            label: "ours, complexity 9 on every frame",
            processing: ns(true),
            send: SendConfig {
                adaptive_complexity: false,
                ..dtx(true)
            },
            capture_only: false,
        },
        fixed_complexity("complexity8", "ours, complexity 8 on every frame", 8),
        fixed_complexity("complexity7", "ours, complexity 7 on every frame", 7),
    ]
}

/// Ours with NS and DTX on, every frame encoded at `complexity`.
fn fixed_complexity(key: &'static str, label: &'static str, complexity: u8) -> Variant {
    Variant {
        key,
        label,
        processing: ns(true),
        send: SendConfig {
            encoder: EncoderSettings {
                complexity,
                ..EncoderSettings::default()
            },
            adaptive_complexity: false,
            ..SendConfig::default()
        },
        capture_only: false,
    }
}

fn main() {
    let as_bench = std::env::args().any(|a| a == "--bench");
    if !as_bench {
        println!("send_quality: a benchmark; run it with benches/send_quality.sh");
        return;
    }
    let dir = support::repo().join("target/send-quality-bench");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let pesq = Pesq::from_env();
    let speech = Speech::prepare(&dir);
    let variants = variants();
    let mut report = String::from("### Send path alone (PESQ-WB, no network)\n");
    for (input, noise_dbfs) in [
        ("clean", None),
        ("with steady noise at -45 dBFS", Some(-45.0)),
    ] {
        let mut pairs = Vec::new();
        let mut talkspurts = Vec::new();
        for v in &variants {
            for (i, s) in speech.iter().enumerate() {
                let samples = match noise_dbfs {
                    Some(db) => with_noise(&s.samples48, db, 7 + i as u32),
                    None => s.samples48.clone(),
                };
                let tag = if noise_dbfs.is_some() {
                    "noisy"
                } else {
                    "clean"
                };
                let out = dir.join(format!("{tag}-{}-{i}.wav", v.key));
                talkspurts.push(run(v, &samples, &out));
                let deg = dir.join(format!("{tag}-{}-{i}-16k.wav", v.key));
                // Scored against the clean passage: noise left in counts against it.
                align_for_pesq(&s.samples48, &out, &deg);
                pairs.push((s.wav16.clone(), deg));
            }
        }
        let scores = pesq.score(&pairs);
        report += &format!("\nInput: the passages {input}\n\n");
        report += "| variant | PESQ-WB passage 1 | passage 2 | mean | talkspurts |\n";
        report += "|---|---|---|---|---|\n";
        for (vi, v) in variants.iter().enumerate() {
            let s: Vec<f64> = scores[2 * vi..2 * vi + 2]
                .iter()
                .map(|s| s.unwrap_or(f64::NAN))
                .collect();
            report += &format!(
                "| {} | {:.3} | {:.3} | {:.3} | {}, {} |\n",
                v.label,
                s[0],
                s[1],
                (s[0] + s[1]) / 2.0,
                talkspurts[2 * vi],
                talkspurts[2 * vi + 1]
            );
        }
    }
    println!("{report}");
    common::append_to_bench_out(&report);
}

/// `speech` plus low-passed (fan-like) noise at `dbfs` RMS.
fn with_noise(speech: &[i16], dbfs: f64, seed: u32) -> Vec<i16> {
    let mut state = seed;
    let mut lp = 0.0f64;
    let raw: Vec<f64> = (0..speech.len())
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let white = f64::from(state >> 8) / f64::from(1u32 << 24) - 0.5;
            lp += 0.2 * (white - lp);
            lp
        })
        .collect();
    let rms = (raw.iter().map(|x| x * x).sum::<f64>() / raw.len().max(1) as f64).sqrt();
    let gain = 32_768.0 * 10f64.powf(dbfs / 20.0) / rms.max(1e-12);
    speech
        .iter()
        .zip(&raw)
        .map(|(&s, &n)| (f64::from(s) + gain * n).clamp(-32_768.0, 32_767.0) as i16)
        .collect()
}

/// Runs `speech` through one variant into `out` (48 kHz WAV); returns the talkspurts sent.
fn run(v: &Variant, speech: &[i16], out: &Path) -> usize {
    let mut processor = CaptureProcessor::new(v.processing);
    let mut send = SendPath::new(&v.send, TYPES, 0).expect("send path");
    // Plain libopus, as a browser decodes us: the sender is judged, not our decoder's models.
    let mut decoder = Decoder::with_complexity(0).expect("decoder");
    let mut played = Vec::with_capacity(speech.len());
    let mut decoded = [0i16; MAX_DECODED_SAMPLES];
    let mut talkspurts = 0;
    for chunk in speech.chunks_exact(FRAME_SAMPLES) {
        let mut pcm = [0i16; FRAME_SAMPLES];
        pcm.copy_from_slice(chunk);
        let voice = processor.capture(&mut pcm, send.is_silent());
        if v.capture_only {
            played.extend_from_slice(&pcm);
            continue;
        }
        send.voice(voice).expect("voice");
        let n = match send.encode(&pcm).expect("encode") {
            Some(packet) => {
                talkspurts += usize::from(packet.marker);
                decoder
                    .decode(packet.payload, &mut decoded)
                    .expect("decode")
            }
            None => decoder
                .conceal(&mut decoded, FRAME_SAMPLES)
                .expect("conceal"),
        };
        played.extend_from_slice(&decoded[..n]);
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(out, spec).expect("create wav");
    for s in played {
        w.write_sample(s).expect("write wav");
    }
    w.finalize().expect("finalize wav");
    talkspurts
}
