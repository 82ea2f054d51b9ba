//! Test instrumentation around the pump's per-frame work, in the manner of
//! [`crate::audio::testing::set_period_probe`]: a test's allocator (or logger) can watch
//! exactly the code that runs once per 20 ms frame. Not part of the supported API.

use std::sync::OnceLock;

/// One step of the per-frame work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStep {
    /// Reading a captured frame from the microphone ring and encoding it.
    Encode,
    /// Copying the encoded packet into the buffer webrtc-rs takes ownership of: the one
    /// allocation per sent frame its API requires.
    CopyOut,
    /// Taking a received packet into the jitter buffer.
    Receive,
    /// Pulling frames from the jitter buffer, decoding them and queuing them for the speaker.
    Playout,
}

/// Called with the step and whether it is being entered (true) or left (false).
pub type FrameProbe = fn(FrameStep, bool);

static FRAME_PROBE: OnceLock<FrameProbe> = OnceLock::new();

/// `probe(step, true)` is called on the pump's thread just before each step and
/// `probe(step, false)` just after. Takes effect at once for every call; can be set once
/// per process.
pub fn set_frame_probe(probe: FrameProbe) -> bool {
    FRAME_PROBE.set(probe).is_ok()
}

/// Reports entering a step now and leaving it when dropped; free when no probe is set.
pub(super) struct StepGuard(Option<(FrameProbe, FrameStep)>);

impl StepGuard {
    pub(super) fn enter(step: FrameStep) -> Self {
        let probe = FRAME_PROBE.get().copied();
        if let Some(probe) = probe {
            probe(step, true);
        }
        Self(probe.map(|probe| (probe, step)))
    }
}

impl Drop for StepGuard {
    fn drop(&mut self) {
        if let Some((probe, step)) = self.0 {
            probe(step, false);
        }
    }
}
