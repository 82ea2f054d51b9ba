//! Whether the microphone's noise is worth RNNoise (issue 10: RNNoise on every speech frame
//! was the largest cost left on the capture path).
//!
//! On clean input noise suppression gains nothing (`benches/send_quality.sh`: 4.07–4.08
//! PESQ-WB with it on or off); with steady noise it is worth +0.58. So the capture path
//! measures the microphone's noise floor and runs RNNoise only while there is noise to
//! remove. The floor is the quietest 10 ms half frame of the last few seconds (minimum
//! statistics): pauses between words fall to it, speech does not. A floor that rises above
//! `NEEDED_FROM_DBFS` switches suppression on at once; it goes off again only after the
//! floor has stayed below `CLEAN_BELOW_DBFS` for `CLEAN_HOLD_HALVES`, so an intermittent
//! noise does not toggle it. Until the window has filled, suppression runs.
//!
//! While suppression is off RNNoise's voice detector does not run either, so the DTX
//! hangover (`talkspurt`) is fed by the level instead: on a clean microphone a half frame
//! well above the floor is speech.
//!
//! Energies are mean squares per sample of i16-scaled samples; dBFS is relative to
//! full scale (32768²). The clock is the half frames themselves (10 ms each).

/// A half frame's length.
pub const HALF_FRAME_MS: u32 = 10;
/// Half frames per sub-window of the minimum (0.5 s).
const SUB_WINDOW_HALVES: u16 = 50;
/// Sub-windows in the minimum: the floor is the quietest half frame of the last 2.5–3 s.
/// Two seconds were too short: one of the benchmarks' passages speaks 2 s without a pause
/// at its floor.
const SUB_WINDOWS: usize = 6;
/// A floor from here up is noise worth suppressing.
pub const NEEDED_FROM_DBFS: f32 = -60.0;
/// A floor below this is clean.
pub const CLEAN_BELOW_DBFS: f32 = -66.0;
/// After noise, the floor stays clean this long (10 s) before suppression stops. The floor
/// of a window counts as clean up to a window after its last quiet half frame, so this is
/// well above the window: a noise with pauses of a second or two keeps suppression on.
pub const CLEAN_HOLD_HALVES: u32 = 1_000;
/// With suppression off, a half frame this much above the floor, and no quieter than
/// `SPEECH_MIN_DBFS`, counts as speech.
pub const SPEECH_OVER_FLOOR_DB: f32 = 15.0;
pub const SPEECH_MIN_DBFS: f32 = -55.0;
/// A half frame no more than this above the floor is noise only (6 dB, as the skip in
/// DTX silence uses).
pub const NOISE_ONLY_OVER_FLOOR_DB: f32 = 6.0;
/// Energies below this (−80 dBFS) count as digital silence.
pub const SILENT_DBFS: f32 = -80.0;

const FULL_SCALE_ENERGY: f32 = 32_768.0 * 32_768.0;

/// `dbfs` as an energy (mean square of i16-scaled samples).
pub fn energy_of_dbfs(dbfs: f32) -> f32 {
    FULL_SCALE_ENERGY * 10f32.powf(dbfs / 10.0)
}

/// An energy in dBFS, digital silence at `SILENT_DBFS`.
pub fn dbfs_of_energy(energy: f32) -> f32 {
    10.0 * (energy / FULL_SCALE_ENERGY).max(1e-12).log10()
}

/// What the capture path does with one half frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HalfFrame {
    /// RNNoise runs on it.
    pub suppress: bool,
    /// By level: speech (meaningful while `suppress` is off).
    pub speech: bool,
    /// By level: no louder than the noise floor.
    pub noise_only: bool,
}

/// The microphone's noise floor and whether suppression is on.
#[derive(Debug, Clone, PartialEq)]
pub struct MicNoise {
    /// Quietest energy of each finished sub-window, newest at `next - 1`.
    minima: [f32; SUB_WINDOWS],
    finished: usize,
    next: usize,
    /// The sub-window under way.
    current: f32,
    current_halves: u16,
    suppress: bool,
    /// Half frames in a row with a clean floor (saturates at the hold).
    clean_for: u32,
}

impl Default for MicNoise {
    fn default() -> Self {
        Self::new()
    }
}

impl MicNoise {
    pub fn new() -> Self {
        Self {
            minima: [f32::INFINITY; SUB_WINDOWS],
            finished: 0,
            next: 0,
            current: f32::INFINITY,
            current_halves: 0,
            suppress: true,
            // At the start nothing has been heard yet to hold on to: the first full window
            // decides.
            clean_for: CLEAN_HOLD_HALVES,
        }
    }

    /// The noise floor in dBFS, once a full window has been heard.
    pub fn floor_dbfs(&self) -> Option<f32> {
        (self.finished == SUB_WINDOWS).then(|| {
            let quietest = self
                .minima
                .iter()
                .fold(self.current, |a, &b| a.min(b))
                .max(energy_of_dbfs(SILENT_DBFS));
            dbfs_of_energy(quietest)
        })
    }

    pub fn suppresses(&self) -> bool {
        self.suppress
    }

    /// The next half frame's energy; what to do with it.
    pub fn half(&mut self, energy: f32) -> HalfFrame {
        self.current = self.current.min(energy);
        self.current_halves += 1;
        if self.current_halves == SUB_WINDOW_HALVES {
            self.minima[self.next] = self.current;
            self.next = (self.next + 1) % SUB_WINDOWS;
            self.finished = (self.finished + 1).min(SUB_WINDOWS);
            self.current = f32::INFINITY;
            self.current_halves = 0;
        }
        let floor = self.floor_dbfs();
        match floor {
            Some(f) if f >= NEEDED_FROM_DBFS => {
                self.suppress = true;
                self.clean_for = 0;
            }
            Some(f) if f < CLEAN_BELOW_DBFS => {
                self.clean_for = (self.clean_for + 1).min(CLEAN_HOLD_HALVES);
                if self.clean_for >= CLEAN_HOLD_HALVES {
                    self.suppress = false;
                }
            }
            // Between the two, or not known yet: as it was; a clean stretch restarts.
            Some(_) => self.clean_for = 0,
            None => {}
        }
        let level = dbfs_of_energy(energy).max(SILENT_DBFS);
        let floor = floor.unwrap_or(SILENT_DBFS);
        HalfFrame {
            suppress: self.suppress,
            speech: level >= (floor + SPEECH_OVER_FLOOR_DB).max(SPEECH_MIN_DBFS),
            noise_only: level <= floor + NOISE_ONLY_OVER_FLOOR_DB,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `seconds` of half frames alternating speech at -20 dBFS (`speech_ms`) and
    /// pauses at `floor_dbfs`; returns whether suppression was on at each half frame.
    fn run(mic: &mut MicNoise, seconds: f32, floor_dbfs: f32) -> Vec<bool> {
        let halves = (seconds * 1000.0 / HALF_FRAME_MS as f32) as usize;
        (0..halves)
            .map(|i| {
                // 1.2 s of speech with a 100 ms pause in every 1.3 s.
                let db = if i % 130 < 120 { -20.0 } else { floor_dbfs };
                mic.half(energy_of_dbfs(db)).suppress
            })
            .collect()
    }

    #[test]
    fn a_clean_microphone_stops_suppression_once_its_floor_is_known() {
        let mut mic = MicNoise::new();
        let on = run(&mut mic, 10.0, -75.0);
        // On until a full window (3 s) has been heard, then off for good.
        let first_off = on.iter().position(|&s| !s).expect("never switched off");
        assert_eq!(first_off, 299);
        assert!(on[first_off..].iter().all(|&s| !s));
        let floor = mic.floor_dbfs().expect("floor");
        assert!((floor + 75.0).abs() < 0.1, "floor {floor}");
    }

    #[test]
    fn noise_switches_suppression_on_within_a_window_and_off_only_after_the_hold() {
        let mut mic = MicNoise::new();
        run(&mut mic, 5.0, -80.0);
        assert!(!mic.suppresses());
        // A fan starts: every half frame is now at least -50 dBFS.
        let on = run(&mut mic, 5.0, -50.0);
        // The last quiet pause (1.1 s before) leaves the window 2–2.5 s into the noise.
        let first_on = on.iter().position(|&s| s).expect("never switched on");
        assert_eq!(first_on, 199);
        assert!(on[first_on..].iter().all(|&s| s));
        // It stops: the first pause (1.2 s in) shows the floor, suppression waits the hold.
        let on = run(&mut mic, 12.0, -80.0);
        let first_off = on.iter().position(|&s| !s).expect("never switched off");
        assert_eq!(first_off, 120 + CLEAN_HOLD_HALVES as usize - 1);
        // A floor between the thresholds changes nothing either way.
        let on = run(&mut mic, 6.0, -63.0);
        assert!(on.iter().all(|&s| !s));
    }

    #[test]
    fn an_intermittent_noise_keeps_suppression_on() {
        let mut mic = MicNoise::new();
        // A noise of 5 s, then 1 s of digital silence, over and over: the floor is clean
        // for a second and a window at a time, never the hold.
        for _ in 0..5 {
            for i in 0..600 {
                let energy = if i < 500 { energy_of_dbfs(-50.0) } else { 0.0 };
                assert!(mic.half(energy).suppress, "off at {i}");
            }
        }
    }

    #[test]
    fn the_level_tells_speech_and_noise_apart_relative_to_the_floor() {
        let mut mic = MicNoise::new();
        run(&mut mic, 4.0, -70.0);
        let half = |mic: &mut MicNoise, db: f32| mic.half(energy_of_dbfs(db));
        let loud = half(&mut mic, -30.0);
        assert!(loud.speech && !loud.noise_only);
        // Above the floor by 15 dB but below the absolute minimum: not speech.
        let faint = half(&mut mic, -56.0);
        assert!(!faint.speech && !faint.noise_only);
        let hum = half(&mut mic, -66.0);
        assert!(!hum.speech && hum.noise_only);
        // Digital silence counts at -80 dBFS.
        let zero = mic.half(0.0);
        assert!(!zero.speech && zero.noise_only);
    }
}
