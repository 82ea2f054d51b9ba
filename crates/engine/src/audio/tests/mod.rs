//! End-to-end tests of the audio module through WAV devices (this machine has no sound
//! card), plus the cpal paths' behaviour when devices are missing.

mod counters;
mod cpal_headless;
mod loopback;
mod output_file;
mod pacing;
pub(crate) mod signal;

#[test]
fn streams_can_move_to_the_engine_thread() {
    fn assert_send<T: Send>() {}
    fn assert_shareable<T: Send + Sync>() {}
    assert_send::<crate::audio::CaptureStream>();
    assert_send::<crate::audio::PlaybackStream>();
    assert_send::<crate::audio::AudioSession>();
    assert_shareable::<crate::audio::Levels>();
    assert_shareable::<crate::audio::AudioError>();
}
