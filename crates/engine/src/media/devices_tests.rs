//! A headset unplugged mid-call: the call switches to the default device within a second
//! and goes on. The devices are stand-ins behind the `AudioBackend` trait that a test can
//! unplug; the call is a real media session writing into a real (unconnected) track.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{DeviceSwitch, MediaConfig, MediaSession};
use crate::audio::testing::{Plug, unpluggable_input, unpluggable_output};
use crate::audio::{
    AudioBackend, AudioError, CaptureStream, Direction, Levels, PlaybackStream, ToneGenerator,
};
use crate::rtc::{RtcConfig, RtcPeer};
use voicecall_core::device::{InputSpec, OutputSpec};

const HEADSET: &str = "USB headset";
const BUILT_IN: &str = "built-in audio";

/// The headset (by name) and the built-in default; remembers the headset's plugs.
#[derive(Debug, Default)]
struct Desk {
    plugs: Mutex<Vec<(Direction, Plug)>>,
}

impl Desk {
    fn name(default: bool) -> &'static str {
        if default { BUILT_IN } else { HEADSET }
    }

    fn plug(&self, direction: Direction) -> Plug {
        let plugs = self.plugs.lock().expect("plugs");
        plugs
            .iter()
            .find(|(d, _)| *d == direction)
            .map(|(_, plug)| plug.clone())
            .expect("the headset was opened")
    }
}

impl AudioBackend for Desk {
    fn open_input(
        &self,
        spec: &InputSpec,
        levels: Arc<Levels>,
    ) -> Result<CaptureStream, AudioError> {
        let default = *spec == InputSpec::Default;
        let mut tone = ToneGenerator::speaker_test();
        let samples: Vec<i16> = (0..50).flat_map(|_| tone.next_frame()).collect();
        let (capture, plug) = unpluggable_input(Self::name(default), samples, levels)?;
        if !default {
            self.plugs
                .lock()
                .expect("plugs")
                .push((Direction::Input, plug));
        }
        Ok(capture)
    }

    fn open_output(
        &self,
        spec: &OutputSpec,
        levels: Arc<Levels>,
    ) -> Result<PlaybackStream, AudioError> {
        let default = *spec == OutputSpec::Default;
        let (playback, plug) = unpluggable_output(Self::name(default), levels)?;
        if !default {
            self.plugs
                .lock()
                .expect("plugs")
                .push((Direction::Output, plug));
        }
        Ok(playback)
    }
}

/// Waits (bounded) until `done` holds, checking every few milliseconds.
async fn until(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn next_switch(
    switches: &mut mpsc::UnboundedReceiver<DeviceSwitch>,
) -> (DeviceSwitch, Duration) {
    let pulled = Instant::now();
    let switch = tokio::time::timeout(Duration::from_secs(5), switches.recv())
        .await
        .expect("a switch is reported")
        .expect("the session runs");
    (switch, pulled.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unplugged_headset_is_replaced_by_the_default_device_and_the_call_goes_on() {
    let desk = Arc::new(Desk::default());
    let config = MediaConfig {
        input: InputSpec::Device(HEADSET.into()),
        output: OutputSpec::Device(HEADSET.into()),
        audio: Arc::clone(&desk) as Arc<dyn AudioBackend>,
        ..MediaConfig::default()
    };
    let rtc = RtcConfig {
        bind: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        ..RtcConfig::default()
    };
    let (events, _events) = mpsc::unbounded_channel();
    let peer = RtcPeer::new(&rtc, events).await.expect("peer connection");
    let writer = peer.audio_writer().await.expect("track writer");
    let (_packets, remote) = mpsc::channel(8);
    let (_reports, reports) = mpsc::channel(8);
    let mut session = MediaSession::start(&config, remote, writer, reports).expect("media session");
    let mut switches = session.take_device_switches().expect("switch reports");
    let counters = Arc::clone(session.counters());
    let captured = || counters.snapshot().frames_captured;
    until("audio flows", Duration::from_secs(5), || captured() >= 10).await;

    desk.plug(Direction::Input).pull();
    let (switch, took) = next_switch(&mut switches).await;
    println!("microphone switched after {took:?}");
    assert_eq!(
        switch,
        DeviceSwitch {
            direction: Direction::Input,
            lost: HEADSET.into(),
            to: Some(BUILT_IN.into()),
        }
    );
    assert!(took < Duration::from_secs(1), "noticed after {took:?}");
    // The call goes on with the built-in microphone.
    let before = captured();
    until(
        "frames from the new microphone",
        Duration::from_secs(5),
        || captured() >= before + 10,
    )
    .await;

    desk.plug(Direction::Output).pull();
    let (switch, took) = next_switch(&mut switches).await;
    println!("speaker switched after {took:?}");
    assert_eq!(switch.direction, Direction::Output);
    assert_eq!(switch.to.as_deref(), Some(BUILT_IN));
    assert!(took < Duration::from_secs(1), "noticed after {took:?}");
    assert!(switches.try_recv().is_err(), "one report per loss");

    session.stop().await;
    peer.close().await;
}
