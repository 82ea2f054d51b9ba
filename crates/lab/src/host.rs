//! What the machine under a benchmark was doing: its load, and how much CPU time the
//! hypervisor gave to other guests (steal).
//!
//! Steal is why two runs of the same build an hour apart disagree. On this VM an idle
//! SCHED_RR thread at priority 60 that sleeps 5 ms at a time woke up to 36 ms late, 41
//! times in 30 s, while steal was 12 % of CPU time; with steal near zero it woke at most
//! 6.5 ms late. Every thread of a call stalls together then, above any priority we can
//! ask for, and the playout queue runs dry ("late fills"). A row's numbers can only be
//! compared with runs whose steal was alike.

/// The load averages over 1, 5 and 15 minutes, as `/proc/loadavg` gives them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

/// The 1-minute load average alone.
pub fn load_1min() -> String {
    load_average()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_owned()
}

/// All CPUs' time counters at one moment (`/proc/stat`, in clock ticks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    steal: u64,
    total: u64,
}

impl CpuTimes {
    /// `None` where the system has no `/proc/stat` (or no steal column).
    pub fn now() -> Option<Self> {
        Self::parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }

    /// From the aggregate `cpu` line: user nice system idle iowait irq softirq steal
    /// (guest time is already counted in user).
    fn parse(stat: &str) -> Option<Self> {
        let line = stat.lines().find(|l| l.starts_with("cpu "))?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let steal = *fields.get(7)?;
        Some(Self {
            steal,
            total: fields.iter().sum(),
        })
    }

    /// The share of CPU time stolen since `self`, in percent.
    pub fn steal_percent_since(self, later: Self) -> Option<f64> {
        let total = later.total.checked_sub(self.total)?;
        let steal = later.steal.checked_sub(self.steal)?;
        (total > 0).then(|| steal as f64 * 100.0 / total as f64)
    }

    /// The share stolen from `self` until now.
    pub fn steal_percent(self) -> Option<f64> {
        self.steal_percent_since(Self::now()?)
    }
}

/// `12.3 %`, or `?` when unknown.
pub fn fmt_steal(percent: Option<f64>) -> String {
    percent.map_or_else(|| "?".to_owned(), |p| format!("{p:.1} %"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_the_eighth_column_of_the_cpu_line() {
        let a = CpuTimes::parse("cpu  100 0 50 800 10 0 5 35 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n");
        let b = CpuTimes::parse("cpu  150 0 60 900 10 0 5 75 0 0\n");
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.total, 1000);
        // 40 of 200 ticks.
        assert_eq!(a.steal_percent_since(b), Some(20.0));
        assert_eq!(b.steal_percent_since(a), None);
        assert_eq!(CpuTimes::parse("cpu  1 2 3\n"), None);
    }
}
