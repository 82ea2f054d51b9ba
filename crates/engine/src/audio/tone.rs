//! Test tones and call-progress tones (ringback) as 48 kHz mono, generated sample by sample
//! with no allocation, so they can feed a `PlaybackStream` from the engine loop.

use voicecall_core::format::{FRAME_SAMPLES, SAMPLE_RATE};

const MAX_STEPS: usize = 8;
/// On/off edges are faded over 5 ms: a hard edge clicks.
const EDGE_FADE_SAMPLES: u32 = SAMPLE_RATE / 200;

/// An on/off rhythm that repeats, e.g. ringback's "ring-ring, pause".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    /// (sounding, duration in ms)
    steps: [(bool, u32); MAX_STEPS],
    len: usize,
}

impl Cadence {
    /// Always on.
    pub const CONTINUOUS: Cadence = Cadence::from_steps(&[(true, 1000)]);
    /// UK/European ringback: 0.4 s on, 0.2 s off, 0.4 s on, 2 s off.
    pub const RINGBACK_UK: Cadence =
        Cadence::from_steps(&[(true, 400), (false, 200), (true, 400), (false, 2000)]);
    /// North American ringback: 2 s on, 4 s off.
    pub const RINGBACK_US: Cadence = Cadence::from_steps(&[(true, 2000), (false, 4000)]);

    /// `steps` are (sounding, milliseconds). Returns `None` for an empty or all-zero
    /// pattern or more than 8 steps.
    pub fn new(steps: &[(bool, u32)]) -> Option<Cadence> {
        let total: u64 = steps.iter().map(|&(_, ms)| u64::from(ms)).sum();
        if steps.is_empty() || steps.len() > MAX_STEPS || total == 0 {
            return None;
        }
        Some(Cadence::from_steps(steps))
    }

    /// For the constants above, which are checked by hand to satisfy `new`'s rules.
    const fn from_steps(steps: &[(bool, u32)]) -> Cadence {
        let mut out = [(false, 0); MAX_STEPS];
        let mut i = 0;
        while i < steps.len() && i < MAX_STEPS {
            out[i] = steps[i];
            i += 1;
        }
        Cadence { steps: out, len: i }
    }

    fn step(&self, index: usize) -> (bool, u32) {
        let (on, ms) = self.steps[index % self.len.max(1)];
        (on, ms * (SAMPLE_RATE / 1000))
    }
}

/// A one- or two-frequency sine gated by a [`Cadence`].
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    /// Cycles per sample and current phase in cycles, per voice; f64 so a tone stays in
    /// tune over hours.
    increments: [f64; 2],
    phases: [f64; 2],
    voices: usize,
    amplitude: f32,
    cadence: Cadence,
    step: usize,
    position_in_step: u32,
}

impl ToneGenerator {
    /// A steady sine; `amplitude` is the peak as a fraction of full scale (clamped to 0–1).
    pub fn sine(frequency_hz: f32, amplitude: f32) -> Self {
        Self::with_voices([frequency_hz, 0.0], 1, amplitude)
    }

    /// Two sines summed, the pair together peaking at `amplitude`.
    pub fn dual(first_hz: f32, second_hz: f32, amplitude: f32) -> Self {
        Self::with_voices([first_hz, second_hz], 2, amplitude)
    }

    /// What the caller hears while the other side rings: 400+450 Hz, UK cadence.
    pub fn ringback() -> Self {
        Self::dual(400.0, 450.0, 0.25).with_cadence(Cadence::RINGBACK_UK)
    }

    /// A 440 Hz tone for "test speakers".
    pub fn speaker_test() -> Self {
        Self::sine(440.0, 0.3)
    }

    fn with_voices(frequencies: [f32; 2], voices: usize, amplitude: f32) -> Self {
        let per_sample = |hz: f32| f64::from(hz) / f64::from(SAMPLE_RATE);
        Self {
            increments: [per_sample(frequencies[0]), per_sample(frequencies[1])],
            phases: [0.0; 2],
            voices,
            amplitude: amplitude.clamp(0.0, 1.0),
            cadence: Cadence::CONTINUOUS,
            step: 0,
            position_in_step: 0,
        }
    }

    pub fn with_cadence(mut self, cadence: Cadence) -> Self {
        self.cadence = cadence;
        self.step = 0;
        self.position_in_step = 0;
        self
    }

    /// Whether the next sample falls in an "on" step.
    pub fn is_sounding(&self) -> bool {
        self.cadence.step(self.step).0
    }

    /// Fills `out` with the next samples.
    pub fn fill(&mut self, out: &mut [i16]) {
        for sample in out {
            *sample = self.next_sample();
        }
    }

    /// The next 20 ms frame.
    pub fn next_frame(&mut self) -> [i16; FRAME_SAMPLES] {
        let mut frame = [0; FRAME_SAMPLES];
        self.fill(&mut frame);
        frame
    }

    fn next_sample(&mut self) -> i16 {
        let (mut on, mut length) = self.cadence.step(self.step);
        // Zero-length steps are skipped; `Cadence::new` guarantees one is non-zero.
        let mut guard = 0;
        while self.position_in_step >= length && guard <= MAX_STEPS {
            self.step = (self.step + 1) % self.cadence.len.max(1);
            self.position_in_step = 0;
            (on, length) = self.cadence.step(self.step);
            guard += 1;
        }
        let mut value = 0.0;
        for voice in 0..self.voices {
            value += (self.phases[voice] * std::f64::consts::TAU).sin();
            self.phases[voice] = (self.phases[voice] + self.increments[voice]).fract();
        }
        let gain = if on {
            let from_start = self.position_in_step;
            let to_end = length.saturating_sub(self.position_in_step + 1);
            // A continuous tone should not dip at its (arbitrary) step boundary.
            let fade = if self.cadence.len == 1 {
                1.0
            } else {
                (from_start.min(to_end) as f32 / EDGE_FADE_SAMPLES as f32).min(1.0)
            };
            self.amplitude * fade / self.voices as f32
        } else {
            0.0
        };
        self.position_in_step += 1;
        (value as f32 * gain * 32767.0).round() as i16
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::tests::signal::{rms, zero_crossing_rate};

    #[test]
    fn sine_has_the_asked_frequency_and_level() {
        let mut tone = ToneGenerator::sine(1000.0, 0.5);
        let mut second = vec![0i16; SAMPLE_RATE as usize];
        tone.fill(&mut second);
        let hz = zero_crossing_rate(&second, SAMPLE_RATE) / 2.0;
        assert!((hz - 1000.0).abs() < 1.0, "{hz} Hz");
        assert!((rms(&second) / 32767.0 - 0.5 / 2f64.sqrt()).abs() < 0.002);
        let peak = second.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        assert!(peak <= 16_384, "{peak}");
    }

    #[test]
    fn ringback_follows_its_cadence_and_repeats() {
        let mut tone = ToneGenerator::ringback();
        // 20 ms frames: 0.4 s on = 20 frames, 0.2 s off = 10, 0.4 s on = 20, 2 s off = 100.
        let loud: Vec<bool> = (0..300).map(|_| rms(&tone.next_frame()) > 1000.0).collect();
        let expected: Vec<bool> = (0..300)
            .map(|i| {
                let t = i % 150;
                t < 20 || (30..50).contains(&t)
            })
            .collect();
        assert_eq!(loud, expected);
        let peak = {
            let mut t = ToneGenerator::ringback();
            (0..20)
                .flat_map(|_| t.next_frame())
                .map(|s| s.unsigned_abs())
                .max()
                .unwrap_or(0)
        };
        assert!(peak <= 8192 && peak > 7000, "dual tone peak {peak}");
    }

    #[test]
    fn cadence_rejects_nonsense() {
        assert!(Cadence::new(&[]).is_none());
        assert!(Cadence::new(&[(true, 0), (false, 0)]).is_none());
        assert!(Cadence::new(&[(true, 1); 9]).is_none());
        let cadence = Cadence::new(&[(true, 0), (false, 20), (true, 20)]).expect("valid");
        let mut tone = ToneGenerator::sine(500.0, 1.0).with_cadence(cadence);
        assert!(
            rms(&tone.next_frame()) < 1.0,
            "zero-length step skipped to the off step"
        );
        assert!(rms(&tone.next_frame()) > 1000.0);
    }
}
