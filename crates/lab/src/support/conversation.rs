//! Two people talking: each side plays its own speech and records what it hears, and the
//! test checks that each recording holds what the other side said.

use std::path::{Path, PathBuf};

use crate::analysis::{Comparison, DEFAULT_MIN_CORRELATION, DEFAULT_MIN_FRACTION};
use crate::host::{self, CpuTimes};

use super::{asset, output_dir};

/// One side of a [`Conversation`].
pub struct Side {
    /// The speech this side plays.
    pub says: PathBuf,
    /// Where this side records what it hears.
    pub heard: PathBuf,
}

/// The caller says assets/audio/speech-a.wav, the callee speech-b.wav; both record into the
/// test's output folder (kept under target/test-output for inspection).
pub struct Conversation {
    pub dir: PathBuf,
    pub caller: Side,
    pub callee: Side,
    /// The machine's CPU counters when the conversation was set up: a failed check says
    /// how much time the hypervisor took meanwhile, since every thread of a call stalls
    /// then (docs/quality.md, "The host's stolen CPU time").
    cpu_at_start: Option<CpuTimes>,
}

impl Conversation {
    pub fn new(test: &str) -> Self {
        let dir = output_dir(test);
        Self {
            caller: Side {
                says: asset("speech-a.wav"),
                heard: dir.join("caller-heard.wav"),
            },
            callee: Side {
                says: asset("speech-b.wav"),
                heard: dir.join("callee-heard.wav"),
            },
            dir,
            cpu_at_start: CpuTimes::now(),
        }
    }

    /// What the callee heard against the caller's speech, and the other way round.
    pub fn compare(&self) -> [Comparison; 2] {
        [
            compare_with_reference(&self.caller.says, &self.callee.heard),
            compare_with_reference(&self.callee.says, &self.caller.heard),
        ]
    }

    /// Each side heard the other's speech: at least 90 % of it matched at a correlation of
    /// 0.9 or more.
    pub fn assert_both_heard(&self) {
        let [to_callee, to_caller] = self.compare();
        let machine = format!(
            "load average {}, CPU time stolen by the hypervisor since the call was set up {}",
            host::load_average(),
            host::fmt_steal(self.cpu_at_start.and_then(CpuTimes::steal_percent))
        );
        println!("{machine}");
        for (who, whom, result) in [
            ("callee", "caller", &to_callee),
            ("caller", "callee", &to_caller),
        ] {
            println!(
                "{who} heard the {whom}: correlation {:.3}, matched {:.3}, lag {:.3} s",
                result.correlation,
                result.matched_fraction,
                result.lag_seconds()
            );
        }
        assert!(
            heard_clearly(&to_callee),
            "the callee did not hear the caller's speech ({machine}): {}",
            to_callee.timeline()
        );
        assert!(
            heard_clearly(&to_caller),
            "the caller did not hear the callee's speech ({machine}): {}",
            to_caller.timeline()
        );
    }
}

/// The bar every two-way call test sets for a recording.
pub fn heard_clearly(result: &Comparison) -> bool {
    result.passes(DEFAULT_MIN_CORRELATION, DEFAULT_MIN_FRACTION)
}

/// Compares a recording with the WAV the other side played, prints the numbers, and
/// returns them.
pub fn compare_with_reference(reference: &Path, recorded: &Path) -> Comparison {
    let reference = voicecall_engine::audio::load_wav_48k_mono(reference).expect("load reference");
    let (recorded, rate) = crate::analysis::load_wav_mono(recorded).expect("load recording");
    assert_eq!(rate, 48_000, "recordings are 48 kHz");
    let result = crate::analysis::compare(&reference, &recorded, 48_000);
    println!("comparison: {}", result.timeline());
    result
}
