//! Wideband PESQ (ITU-T P.862.2) of what a call carried, the way every quality benchmark
//! scores it: two espeak-ng passages at 48 kHz (12–14 s of speech after 1 s of silence),
//! each recording aligned to its passage by cross-correlation and cut to its length,
//! brought to 16 kHz by sox and scored by `benches/pesq_score.py` (Python `pesq`;
//! `benches/quality.sh` makes the venv and names its python in `VOICECALL_PESQ_PYTHON`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::repo;
use crate::analysis::{Comparison, compare};

/// Two passages of Harvard sentences: PESQ wants 8–20 s of speech.
pub const PASSAGES: [&str; 2] = [
    "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. \
     It is easy to tell the depth of a well. These days a chicken leg is a rare dish. \
     Rice is often served in round bowls. The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck. The hogs were fed chopped corn and garbage. \
     Four hours of steady work faced us. A large size in stockings is hard to sell. \
     The boy was there when the sun rose. A rod is used to catch pink salmon.",
];

const RATE: u32 = 48_000;

/// One passage: the 48 kHz input a client plays and the 16 kHz PESQ reference.
pub struct Speech {
    pub wav48: PathBuf,
    pub wav16: PathBuf,
    pub samples48: Vec<i16>,
}

impl Speech {
    /// Speaks both passages into `dir` (espeak-ng, en-us and en-gb voices), 3 dB below
    /// full scale, with 1 s of silence first (packets lost while a track is set up fall
    /// outside the speech) and 0.3 s after.
    pub fn prepare(dir: &Path) -> [Speech; 2] {
        let make = |i: usize| {
            let raw = dir.join(format!("speech{i}-espeak.wav"));
            let wav48 = dir.join(format!("speech{i}-48k.wav"));
            let wav16 = dir.join(format!("speech{i}-16k.wav"));
            let voice = ["en-us", "en-gb"][i];
            run(Command::new("espeak-ng")
                .args(["-v", voice, "-s", "150", "-w"])
                .arg(&raw)
                .arg(PASSAGES[i]));
            run(Command::new("sox")
                .arg(&raw)
                .args(["-r", "48000", "-c", "1", "-b", "16"])
                .arg(&wav48)
                .args(["gain", "-n", "-3", "pad", "1.0", "0.3"]));
            run(Command::new("sox")
                .arg(&wav48)
                .args(["-r", "16000"])
                .arg(&wav16));
            let samples48 =
                voicecall_engine::audio::load_wav_48k_mono(&wav48).expect("load speech");
            Speech {
                wav48,
                wav16,
                samples48,
            }
        };
        [make(0), make(1)]
    }

    /// The passage with `seconds` more silence in front, written beside it: for a browser,
    /// whose fake microphone starts at Call/Accept rather than when media flows.
    pub fn with_lead(&self, seconds: f64) -> PathBuf {
        let stem = self
            .wav48
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("speech");
        let out = self
            .wav48
            .with_file_name(format!("{stem}-lead{seconds}.wav"));
        run(Command::new("sox").arg(&self.wav48).arg(&out).args([
            "pad",
            &seconds.to_string(),
            "0",
        ]));
        out
    }

    pub fn seconds(&self) -> f64 {
        self.samples48.len() as f64 / f64::from(RATE)
    }
}

/// Cuts `recorded` (a WAV at any rate) at the reference's position in it (FFT
/// cross-correlation) to the reference's length, writes it as a 16 kHz WAV `out16` for
/// PESQ, and returns the comparison (per-segment lags and slips show how the timing went).
pub fn align_for_pesq(reference48: &[i16], recorded: &Path, out16: &Path) -> Comparison {
    let rec = voicecall_engine::audio::load_wav_48k_mono(recorded)
        .unwrap_or_else(|e| panic!("{}: {e}", recorded.display()));
    let cmp = compare(reference48, &rec, RATE);
    let aligned = (0..reference48.len() as i64).map(|i| {
        usize::try_from(i + cmp.lag_samples)
            .ok()
            .and_then(|j| rec.get(j).copied())
            .unwrap_or(0)
    });
    let tmp48 = out16.with_extension("48k.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&tmp48, spec).expect("create wav");
    for s in aligned {
        w.write_sample(s).expect("write wav");
    }
    w.finalize().expect("finalize wav");
    run(Command::new("sox")
        .arg(&tmp48)
        .args(["-r", "16000"])
        .arg(out16));
    cmp
}

/// The PESQ scorer: `benches/pesq_score.py` under `$VOICECALL_PESQ_PYTHON` (else python3).
pub struct Pesq {
    python: String,
}

impl Default for Pesq {
    fn default() -> Self {
        Self::from_env()
    }
}

impl Pesq {
    pub fn from_env() -> Self {
        Self {
            python: std::env::var("VOICECALL_PESQ_PYTHON").unwrap_or_else(|_| "python3".into()),
        }
    }

    /// Scores (reference 16 kHz, degraded 16 kHz) pairs, in order; `None` for a pair the
    /// script could not score (it says why on stderr).
    pub fn score(&self, pairs: &[(PathBuf, PathBuf)]) -> Vec<Option<f64>> {
        let script = repo().join("benches/pesq_score.py");
        let mut child = Command::new(&self.python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run the PESQ script (benches/quality.sh sets up its venv)");
        let input: String = pairs
            .iter()
            .map(|(r, d)| format!("{} {}\n", r.display(), d.display()))
            .collect();
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write pairs");
        let out = child.wait_with_output().expect("PESQ output");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("PESQ JSON");
                if v["pesq"].is_null() {
                    eprintln!("PESQ could not score a pair: {v}");
                }
                v["pesq"].as_f64()
            })
            .collect()
    }
}

fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(status.success(), "{cmd:?} failed");
}
