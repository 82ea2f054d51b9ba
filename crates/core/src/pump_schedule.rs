//! When the audio pump wakes: just after the microphone hands over a period (so a finished
//! frame leaves at once instead of up to a tick later) and just before the speaker takes
//! one (so decoded audio waits in the playout queue for a margin, not for a tick plus a
//! period of slack). A device's callbacks come one period apart, so the last one says when
//! the next is due.
//!
//! Until a device has run, or when it has stopped calling back (unplugged, stalled), the
//! pump falls back to a fixed tick.

use std::time::{Duration, Instant};

/// The fallback tick.
pub const TICK: Duration = Duration::from_millis(5);
/// The longest the pump sleeps while the devices keep time (it also watches for lost
/// devices when it wakes).
const MAX_SLEEP: Duration = Duration::from_millis(20);
/// A device whose last period is older than this many periods is not keeping time.
const STALE_PERIODS: u32 = 3;
/// How long after a period was due the pump looks again when the device is late.
const LATE_POLL: Duration = Duration::from_millis(1);
/// After the microphone's period is due: the device thread's own wake-up lateness.
const AFTER_CAPTURE: Duration = Duration::from_micros(500);
/// How far the speaker's grid follows a later callback per period (see `SpeakerGrid`):
/// a device clock up to 1 % slower than ours is followed in full, one callback run 5 ms
/// late moves the next fill by 0.1 ms.
const GRID_CREEP: Duration = Duration::from_micros(100);

/// When a device last called back and how far apart its callbacks are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceTiming {
    pub last: Instant,
    pub period: Duration,
}

impl DeviceTiming {
    /// The callback after `last`, unless the device has stopped keeping time at `now`.
    fn next(self, now: Instant) -> Option<Instant> {
        if self.period.is_zero()
            || now.saturating_duration_since(self.last) > self.period * STALE_PERIODS
        {
            return None;
        }
        Some(self.last + self.period)
    }
}

/// What the pump does at a wake-up, and when it wakes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wake {
    pub at: Instant,
    /// Fill the playout queue now. `Some(periods)`: until it holds that many of the
    /// speaker's periods (the callbacks due before the next fill); `None`: by the
    /// fallback rule (a fixed low water, checked every tick).
    pub fill: Option<Fill>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// The speaker is keeping time: hold this many of its periods.
    Periods(u32),
    /// No timing to go by: the fixed low water of the tick rule.
    LowWater,
}

/// The pump's wake-ups aligned to the devices (see the module comment).
#[derive(Debug, Clone)]
pub struct PumpSchedule {
    /// How long before the speaker's callback the queue is filled; grows when the speaker
    /// ran dry anyway (the pump woke late) and shrinks after a calm spell.
    margin: Duration,
    /// The speaker callback the queue was last filled for.
    filled_for: Option<Instant>,
    /// The latest fill that finished after its callback was due, or speaker callback that
    /// ran late, and by how much (the worst within `LATE_MEMORY`).
    late: Option<(Instant, Duration)>,
    /// Whether a dry period widens the margin past that lateness (`false`: by the step
    /// alone, the comparison baseline).
    widen_past_stalls: bool,
    /// When the speaker's callbacks are due; `None`: the last callback alone says it (the
    /// comparison baseline).
    grid: Option<SpeakerGrid>,
}

/// When the speaker's callbacks are due, from when they ran. A device keeps its periods on
/// its own clock, so a callback that ran late says nothing about the next: it comes one
/// period after the one *due*, not after the late one, and a fill timed from the late one
/// came after it (the speaker ran dry: 10 ms of silence in the middle of a word, seen in
/// calls from Chromium on a loaded machine, docs/quality.md). The grid takes an earlier
/// callback at once and a later one only by `GRID_CREEP` a period: the earliest of the
/// recent callbacks, carried forward.
#[derive(Debug, Clone, Copy, Default)]
struct SpeakerGrid {
    /// The last callback's time as the device reported it...
    seen: Option<DeviceTiming>,
    /// ...and where the grid puts it.
    due: Option<Instant>,
}

impl SpeakerGrid {
    fn place(&mut self, speaker: DeviceTiming) -> DeviceTiming {
        let due = match (self.seen, self.due) {
            (Some(seen), Some(due)) if seen == speaker => due,
            (Some(seen), Some(due))
                if seen.period == speaker.period
                    && speaker.last.saturating_duration_since(due)
                        <= speaker.period * STALE_PERIODS =>
            {
                // The last grid point a period or more before this callback: it ran late
                // by the rest. Less than a period after the last: it came early.
                let since = speaker.last.saturating_duration_since(due).as_nanos();
                let periods = since / speaker.period.as_nanos().max(1);
                match u32::try_from(periods) {
                    Ok(0) | Err(_) => speaker.last,
                    Ok(periods) => speaker
                        .last
                        .min(due + (speaker.period + GRID_CREEP) * periods),
                }
            }
            // The first callback, a new device or one that stalled: start from it.
            _ => speaker.last,
        };
        self.seen = Some(speaker);
        self.due = Some(due);
        DeviceTiming {
            last: due,
            ..speaker
        }
    }
}

/// First margin before the speaker's callback, its step, and its ceiling (the ceiling of
/// the tick rule's slack: a sound card whose callbacks come irregularly still gets what
/// it got before).
pub const MARGIN_START: Duration = Duration::from_millis(3);
pub const MARGIN_STEP: Duration = Duration::from_millis(2);
pub const MARGIN_MAX: Duration = Duration::from_millis(21);
/// How long a late fill is remembered: the speaker's dry period it caused is noticed at
/// one of the next fills, a period or two later.
const LATE_MEMORY: Duration = Duration::from_millis(100);

impl Default for PumpSchedule {
    fn default() -> Self {
        Self::new()
    }
}

impl PumpSchedule {
    pub fn new() -> Self {
        Self {
            margin: MARGIN_START,
            filled_for: None,
            late: None,
            widen_past_stalls: true,
            grid: Some(SpeakerGrid::default()),
        }
    }

    /// The schedule before `SpeakerGrid`: the speaker's next callback is one period after
    /// its last, however late that one ran (the comparison baseline).
    pub fn from_last_callback() -> Self {
        Self {
            grid: None,
            ..Self::new()
        }
    }

    /// A dry period widens the margin by its step alone, however long the stall behind it
    /// (the comparison baseline).
    pub fn with_step_margin() -> Self {
        Self {
            widen_past_stalls: false,
            ..Self::new()
        }
    }

    pub fn margin(&self) -> Duration {
        self.margin
    }

    /// The fill for the last callback finished at `now`; true if that was after the
    /// callback was due, which is remembered for `widen`.
    pub fn filled(&mut self, now: Instant) -> bool {
        let Some(due) = self.filled_for else {
            return false;
        };
        let late_by = now.saturating_duration_since(due);
        self.note_late(now, late_by);
        !late_by.is_zero()
    }

    fn note_late(&mut self, now: Instant, late_by: Duration) {
        if late_by.is_zero() {
            return;
        }
        let worst = match self.recent_lateness(now) {
            Some(earlier) => earlier.max(late_by),
            None => late_by,
        };
        self.late = Some((now, worst));
    }

    fn recent_lateness(&self, now: Instant) -> Option<Duration> {
        self.late
            .filter(|(at, _)| now.saturating_duration_since(*at) <= LATE_MEMORY)
            .map(|(_, late_by)| late_by)
    }

    /// The speaker ran dry although the queue was filled: the pump or the speaker woke
    /// too late. The margin grows by a step plus how late a recent fill or callback came,
    /// so a machine that stalls for 15 ms costs one dry period, not one per step (each is
    /// up to a period of silence in a word, which the jitter buffer then sheds again).
    pub fn widen(&mut self, now: Instant) {
        let late_by = self
            .recent_lateness(now)
            .filter(|_| self.widen_past_stalls)
            .unwrap_or_default();
        self.late = None;
        self.margin = (self.margin + late_by + MARGIN_STEP).min(MARGIN_MAX);
    }

    /// A calm spell without the speaker running dry.
    pub fn narrow(&mut self) {
        self.margin = self.margin.saturating_sub(MARGIN_STEP).max(MARGIN_START);
    }

    /// What to do now and when to wake next, from the devices' last callbacks (`None`:
    /// not yet known). Marks the playout fill it returns as done.
    pub fn wake(
        &mut self,
        now: Instant,
        capture: Option<DeviceTiming>,
        playback: Option<DeviceTiming>,
    ) -> Wake {
        let mut at = now + MAX_SLEEP;
        let capture_next = capture.and_then(|c| c.next(now));
        match capture_next {
            Some(due) if due + AFTER_CAPTURE > now => at = at.min(due + AFTER_CAPTURE),
            Some(_) => at = at.min(now + LATE_POLL),
            None => at = at.min(now + TICK),
        }
        let Some(speaker) = playback.filter(|p| p.next(now).is_some()) else {
            self.filled_for = None;
            return Wake {
                at: at.min(now + TICK),
                fill: Some(Fill::LowWater),
            };
        };
        let ran = speaker.last;
        let speaker = match &mut self.grid {
            Some(grid) => grid.place(speaker),
            None => speaker,
        };
        // A speaker callback that ran late takes the periods it missed at once, more than
        // the queue was filled for however early the pump was.
        self.note_late(now, ran.saturating_duration_since(speaker.last));
        // The speaker's callbacks are `last + k × period`; the next to fill for is the
        // first after the one filled for last.
        let mut target = speaker.last + speaker.period;
        while self.filled_for.is_some_and(|f| target <= f) {
            target += speaker.period;
        }
        let fill_at = target.checked_sub(self.margin).unwrap_or(target);
        if fill_at > now {
            return Wake {
                at: at.min(fill_at),
                fill: None,
            };
        }
        self.filled_for = Some(target);
        // Callbacks due up to and including the target that have not happened yet.
        let periods = (target.saturating_duration_since(speaker.last).as_nanos()
            / speaker.period.as_nanos().max(1)) as u32;
        let next_fill = (target + speaker.period)
            .checked_sub(self.margin)
            .unwrap_or(target);
        Wake {
            at: at.min(next_fill.max(now + LATE_POLL)),
            fill: Some(Fill::Periods(periods)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Duration = Duration::from_millis(10);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn timing(last: Instant) -> Option<DeviceTiming> {
        Some(DeviceTiming { last, period: P })
    }

    #[test]
    fn without_devices_the_pump_ticks_and_fills_by_low_water() {
        let t0 = Instant::now();
        let mut schedule = PumpSchedule::new();
        let wake = schedule.wake(t0, None, None);
        assert_eq!(wake.at, t0 + TICK);
        assert_eq!(wake.fill, Some(Fill::LowWater));
    }

    #[test]
    fn wakes_just_after_the_microphone_hands_over_a_period() {
        let t0 = Instant::now();
        let mut schedule = PumpSchedule::new();
        // Microphone called back 5 ms ago: the next period is due in 5 ms. (The speaker
        // calls back now; its fill is due 3 ms before its next callback, later.)
        let wake = schedule.wake(t0 + ms(5), timing(t0), timing(t0 + ms(5)));
        assert_eq!(wake.fill, None);
        assert_eq!(wake.at, t0 + P + AFTER_CAPTURE);
        // Late device: look again soon, not a whole tick later.
        let wake = schedule.wake(t0 + ms(11), timing(t0), timing(t0 + ms(8)));
        assert_eq!(wake.at, t0 + ms(11) + LATE_POLL);
        // A device that stopped calling back: the plain tick.
        let wake = schedule.wake(t0 + ms(40), timing(t0), timing(t0 + ms(38)));
        assert_eq!(wake.at, t0 + ms(40) + TICK);
    }

    #[test]
    fn fills_once_per_speaker_period_a_margin_before_it() {
        let t0 = Instant::now();
        let mut schedule = PumpSchedule::new();
        // The microphone's next period is due after the speaker's fill.
        let mic = timing(t0 - ms(1));
        // Speaker called back at t0; next callback at t0 + 10 ms; fill at 7 ms.
        let wake = schedule.wake(t0 + ms(1), None, timing(t0));
        assert_eq!(wake.fill, None);
        assert_eq!(wake.at, t0 + ms(1) + TICK, "no microphone timing: the tick");
        let wake = schedule.wake(t0 + ms(1), mic, timing(t0));
        assert_eq!(wake.fill, None);
        assert_eq!(wake.at, t0 + P - MARGIN_START);
        let wake = schedule.wake(wake.at, timing(t0 + ms(6)), timing(t0));
        assert_eq!(wake.fill, Some(Fill::Periods(1)));
        // Next: the microphone's period, then the fill for the speaker's callback after.
        assert_eq!(wake.at, t0 + ms(6) + P + AFTER_CAPTURE);
        // Woken in between (a packet came, the microphone called back): nothing to fill.
        let mic = timing(t0 + ms(9));
        let wake = schedule.wake(t0 + ms(12), mic, timing(t0 + P));
        assert_eq!(wake.fill, None);
        assert_eq!(wake.at, t0 + 2 * P - MARGIN_START);
    }

    #[test]
    fn a_late_speaker_callback_is_counted_in_the_next_fill() {
        let t0 = Instant::now();
        let mut schedule = PumpSchedule::new();
        let first = schedule.wake(t0 + P - MARGIN_START, None, timing(t0));
        assert_eq!(first.fill, Some(Fill::Periods(1)));
        // The callback due at t0 + 10 has not come by the next fill: two periods needed.
        let wake = schedule.wake(t0 + 2 * P - MARGIN_START, None, timing(t0));
        assert_eq!(wake.fill, Some(Fill::Periods(2)));
    }

    /// Runs the pump against devices calling back every 10 ms (the speaker 4 ms after the
    /// microphone) for a second; returns the wake-ups and the periods filled.
    fn simulate(schedule: &mut PumpSchedule, periods_ahead: u32) -> (u32, u32) {
        let t0 = Instant::now();
        let end = t0 + Duration::from_secs(1);
        let last = |offset: Duration, now: Instant| {
            let since = now.saturating_duration_since(t0 + offset).as_nanos();
            let periods = since / P.as_nanos();
            timing(t0 + offset + P * periods as u32)
        };
        let (mut wakes, mut filled) = (0, 0);
        let mut now = t0 + ms(5);
        while now < end {
            let wake = schedule.wake(now, last(ms(0), now), last(ms(4), now));
            wakes += 1;
            // After the first fills (which catch up to the margin), each fill is for the
            // callbacks up to the target, `periods_ahead` of them.
            if let Some(Fill::Periods(n)) = wake.fill {
                assert!(n <= periods_ahead, "{n}");
                filled += u32::from(n == periods_ahead);
            }
            assert!(wake.at > now, "the pump must not spin");
            now = wake.at;
        }
        (wakes, filled)
    }

    #[test]
    fn on_time_devices_wake_the_pump_twice_a_period_whatever_the_margin() {
        let mut schedule = PumpSchedule::new();
        let (wakes, filled) = simulate(&mut schedule, 1);
        assert!((98..=101).contains(&filled), "{filled}");
        assert!(wakes <= 202, "{wakes}");
        let mut schedule = PumpSchedule::new();
        for _ in 0..20 {
            schedule.widen(Instant::now());
        }
        assert_eq!(schedule.margin(), MARGIN_MAX);
        assert!(MARGIN_MAX > 2 * P, "a margin beyond two periods is covered");
        let (wakes, filled) = simulate(&mut schedule, 3);
        assert!((98..=101).contains(&filled), "{filled}");
        assert!(wakes <= 202, "{wakes}");
    }

    /// The speaker's callback due at 10 ms ran 5 ms late: the one due at 20 ms still comes
    /// at 20, so its fill must come a margin before 20, not before 25.
    #[test]
    fn a_callback_that_ran_late_does_not_delay_the_next_fill() {
        let t0 = Instant::now();
        // The microphone's next period is due after either fill.
        let mic = timing(t0 + ms(14));
        let fill_time = |mut schedule: PumpSchedule| {
            schedule.wake(t0 + P - MARGIN_START, None, timing(t0));
            let wake = schedule.wake(t0 + ms(15), mic, timing(t0 + ms(15)));
            assert_eq!(wake.fill, None);
            wake.at
        };
        assert_eq!(
            fill_time(PumpSchedule::new()),
            t0 + 2 * P - MARGIN_START + GRID_CREEP
        );
        let baseline = fill_time(PumpSchedule::from_last_callback());
        assert_eq!(
            baseline,
            t0 + ms(25) - MARGIN_START,
            "after the callback at 20 ms"
        );
    }

    #[test]
    fn the_grid_follows_an_earlier_callback_at_once_and_a_slower_clock_slowly() {
        let t0 = Instant::now();
        let mut grid = SpeakerGrid::default();
        let at = |last| DeviceTiming { last, period: P };
        assert_eq!(grid.place(at(t0)).last, t0);
        assert_eq!(grid.place(at(t0)).last, t0, "the same callback again");
        // Earlier than due (our clock runs slow against the device's): taken at once.
        assert_eq!(grid.place(at(t0 + ms(9))).last, t0 + ms(9));
        // A device clock 0.5 % slow: 50 µs later each period, followed in full.
        let mut last = t0 + ms(9);
        for _ in 0..100 {
            last += P + Duration::from_micros(50);
            assert_eq!(grid.place(at(last)).last, last);
        }
        // A stall of more than three periods starts the grid afresh.
        let after_stall = last + ms(45);
        assert_eq!(grid.place(at(after_stall)).last, after_stall);
        // A new device (another period) starts it afresh too.
        let other = DeviceTiming {
            last: after_stall + ms(7),
            period: ms(5),
        };
        assert_eq!(grid.place(other).last, other.last);
    }

    #[test]
    fn the_margin_widens_when_the_speaker_runs_dry_and_narrows_back() {
        let t0 = Instant::now();
        let mut schedule = PumpSchedule::new();
        for _ in 0..10 {
            schedule.widen(t0);
        }
        assert_eq!(schedule.margin(), MARGIN_MAX);
        schedule.narrow();
        assert_eq!(schedule.margin(), MARGIN_MAX - MARGIN_STEP);
        for _ in 0..10 {
            schedule.narrow();
        }
        assert_eq!(schedule.margin(), MARGIN_START);
        schedule.widen(t0);
        let wake = schedule.wake(t0 + ms(1), None, timing(t0));
        assert_eq!(wake.at, t0 + P - MARGIN_START - MARGIN_STEP);
    }

    #[test]
    fn one_stall_widens_the_margin_past_its_lateness() {
        let t0 = Instant::now();
        let mut schedule = PumpSchedule::new();
        // The fill for the callback at 10 ms is due at 7 ms and comes on time.
        let wake = schedule.wake(t0 + ms(7), None, timing(t0));
        assert_eq!(wake.fill, Some(Fill::Periods(1)));
        assert!(!schedule.filled(t0 + ms(9)));
        // The one for the callback at 20 ms is due at 17 ms; the machine froze and it
        // finished at 26 ms, 6 ms after the callback.
        let wake = schedule.wake(t0 + ms(17), None, timing(t0 + P));
        assert_eq!(wake.fill, Some(Fill::Periods(1)));
        assert!(schedule.filled(t0 + ms(26)));
        // The speaker's dry period shows at the next fill: one widening covers the stall.
        schedule.widen(t0 + ms(27));
        assert_eq!(schedule.margin(), MARGIN_START + ms(6) + MARGIN_STEP);
        // The lateness counts once; an old one is forgotten.
        schedule.widen(t0 + ms(37));
        assert_eq!(schedule.margin(), MARGIN_START + ms(6) + 2 * MARGIN_STEP);
        assert!(schedule.filled(t0 + ms(40)));
        schedule.widen(t0 + ms(40) + LATE_MEMORY + ms(1));
        assert_eq!(schedule.margin(), MARGIN_START + ms(6) + 3 * MARGIN_STEP);
        // Never past the ceiling.
        assert!(schedule.filled(t0 + ms(200)));
        schedule.widen(t0 + ms(201));
        assert_eq!(schedule.margin(), MARGIN_MAX);
    }

    #[test]
    fn a_speaker_callback_that_ran_late_widens_the_margin_past_its_lateness() {
        let t0 = Instant::now();
        let mut schedule = PumpSchedule::new();
        let wake = schedule.wake(t0 + ms(7), None, timing(t0));
        assert_eq!(wake.fill, Some(Fill::Periods(1)));
        assert!(!schedule.filled(t0 + ms(8)));
        // The callback due at 10 ms ran at 18 ms and took two periods at once; the pump
        // had filled for one.
        let wake = schedule.wake(t0 + ms(19), None, timing(t0 + ms(18)));
        assert_eq!(wake.fill, Some(Fill::Periods(1)));
        assert!(!schedule.filled(t0 + ms(19)));
        let mut baseline = schedule.clone();
        baseline.widen_past_stalls = false;
        baseline.widen(t0 + ms(29));
        assert_eq!(baseline.margin(), MARGIN_START + MARGIN_STEP);
        schedule.widen(t0 + ms(29));
        assert_eq!(
            schedule.margin(),
            MARGIN_START + ms(8) - GRID_CREEP + MARGIN_STEP
        );
    }
}
