//! The network conditions the quality benchmarks impair media with, shared so that
//! voicecall's rows and Chromium's rows are measured on the same lines.

/// One line: its key on the command line, its label in tables, and the
/// `voicecall-netem` arguments that make it.
pub struct Condition {
    pub key: &'static str,
    pub label: &'static str,
    pub netem: &'static [&'static str],
}

pub const CONDITIONS: [Condition; 6] = [
    Condition {
        key: "0",
        label: "0 % loss",
        netem: &[],
    },
    Condition {
        key: "5r",
        label: "5 % random loss",
        netem: &["--loss", "0.05"],
    },
    Condition {
        key: "10r",
        label: "10 % random loss",
        netem: &["--loss", "0.10"],
    },
    Condition {
        key: "20r",
        label: "20 % random loss",
        netem: &["--loss", "0.20"],
    },
    Condition {
        key: "5b",
        label: "5 % bursty loss (Gilbert–Elliott, mean burst 3)",
        netem: &["--burst-loss", "0.05", "--burst-length", "3"],
    },
    Condition {
        key: "jit",
        label: "30 ms jitter + 5 % reordered by 40 ms",
        netem: &["--delay", "10ms", "--jitter", "30ms", "--reorder", "0.05"],
    },
];

/// A clap value parser: a condition by its key.
pub fn condition(key: &str) -> Result<&'static Condition, String> {
    CONDITIONS.iter().find(|c| c.key == key).ok_or_else(|| {
        let keys: Vec<&str> = CONDITIONS.iter().map(|c| c.key).collect();
        format!("unknown condition {key:?}; one of {}", keys.join(", "))
    })
}
