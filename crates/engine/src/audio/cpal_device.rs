//! Real sound cards through cpal.
//!
//! Devices run in whatever format and rate their default configuration offers (cpal 0.18
//! prefers 48 kHz); the callbacks only convert sample type and channel count, and the
//! engine side of the ring does any rate conversion.

use std::sync::Arc;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, Sample, SampleFormat, SizedSample};

use super::capture::{CaptureStream, CaptureWriter};
use super::device_handle::DeviceHandle;
use super::error::{AudioError, Direction};
use super::levels::Levels;
use super::playback::{PlaybackReader, PlaybackStream};
use super::resample::f32_to_i16;
use super::wav_device::ring_samples;

/// Hardware delivers in bursts of its buffer size (often 10–40 ms), so the capture ring
/// needs more slack than the WAV device's.
const CAPTURE_RING: Duration = Duration::from_millis(200);
const PLAYBACK_RING: Duration = Duration::from_millis(200);

/// Runs `$body` with `$T` bound to the Rust type of `$format`; `None` for formats with no
/// PCM meaning (DSD).
macro_rules! for_sample_type {
    ($format:expr, $T:ident => $body:expr) => {
        for_sample_type!(@types $format, $T, $body,
            I8 i8, I16 i16, I24 cpal::I24, I32 i32, I64 i64,
            U8 u8, U16 u16, U24 cpal::U24, U32 u32, U64 u64,
            F32 f32, F64 f64)
    };
    (@types $format:expr, $T:ident, $body:expr, $($variant:ident $type:ty),*) => {
        match $format {
            $(SampleFormat::$variant => Some({
                type $T = $type;
                $body
            }),)*
            _ => None,
        }
    };
}

/// Which device to open.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DeviceChoice<'a> {
    Default,
    /// A cpal device id such as `alsa:hw:0,0`, or a device's name as listed.
    Named(&'a str),
}

pub(crate) fn open_input(
    choice: DeviceChoice<'_>,
    levels: Arc<Levels>,
) -> Result<CaptureStream, AudioError> {
    let chosen = Chosen::find(Direction::Input, choice)?;
    let capacity = ring_samples(CAPTURE_RING, chosen.config.sample_rate);
    CaptureStream::build(chosen.config.sample_rate, capacity, levels, move |writer| {
        let (device, config, channels) = (&chosen.device, chosen.config, chosen.channels());
        let built = for_sample_type!(chosen.format, T => build_input::<T>(device, config, writer, channels));
        chosen.start(built)
    })
}

pub(crate) fn open_output(
    choice: DeviceChoice<'_>,
    levels: Arc<Levels>,
) -> Result<PlaybackStream, AudioError> {
    let chosen = Chosen::find(Direction::Output, choice)?;
    let capacity = ring_samples(PLAYBACK_RING, chosen.config.sample_rate);
    PlaybackStream::build(chosen.config.sample_rate, capacity, levels, move |reader| {
        let (device, config, channels) = (&chosen.device, chosen.config, chosen.channels());
        let built = for_sample_type!(chosen.format, T => build_output::<T>(device, config, reader, channels));
        chosen.start(built)
    })
}

/// A device and the default configuration it will run in.
struct Chosen {
    direction: Direction,
    device: cpal::Device,
    label: String,
    config: cpal::StreamConfig,
    format: SampleFormat,
}

impl Chosen {
    fn find(direction: Direction, choice: DeviceChoice<'_>) -> Result<Self, AudioError> {
        let device = find_device(direction, choice)?;
        let label = device_label(&device);
        let supported = match direction {
            Direction::Input => device.default_input_config(),
            Direction::Output => device.default_output_config(),
        }
        .map_err(|source| {
            device_error(
                direction,
                &label,
                "reading its default configuration",
                source,
            )
        })?;
        Ok(Self {
            direction,
            device,
            label,
            config: supported.config(),
            format: supported.sample_format(),
        })
    }

    fn channels(&self) -> usize {
        usize::from(self.config.channels)
    }

    /// Starts the stream built for this device's sample type (`None`: a format with no
    /// PCM meaning).
    fn start(
        self,
        built: Option<Result<cpal::Stream, cpal::Error>>,
    ) -> Result<(DeviceHandle, String), AudioError> {
        let Self {
            direction,
            label,
            config,
            format,
            ..
        } = self;
        let stream = match built {
            Some(result) => result
                .map_err(|source| device_error(direction, &label, "opening a stream", source))?,
            None => return Err(unsupported_format(direction, &label, format)),
        };
        stream
            .play()
            .map_err(|source| device_error(direction, &label, "starting the stream", source))?;
        tracing::info!(
            device = %label,
            rate = config.sample_rate,
            channels = config.channels,
            %format,
            "audio {direction} opened"
        );
        Ok((DeviceHandle::Cpal(stream), label))
    }
}

fn build_input<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut writer: CaptureWriter,
    channels: usize,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let health = Arc::clone(writer.health());
    device.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], _: &cpal::InputCallbackInfo| {
            writer.write_period(data, channels, downmix::<T>);
        },
        // May run on the audio thread, so it only counts; the engine polls the counters.
        // (Dropping cpal's error there may free its message: cpal's allocation, and rare.)
        move |error| health.record_device_error(&error),
        None,
    )
}

fn build_output<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut reader: PlaybackReader,
    channels: usize,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<i16> + Send + 'static,
{
    let health = Arc::clone(reader.health());
    device.build_output_stream::<T, _, _>(
        config,
        move |data: &mut [T], _: &cpal::OutputCallbackInfo| {
            reader.read_period(data, channels, T::from_sample);
        },
        move |error| health.record_device_error(&error),
        None,
    )
}

fn downmix<T: SizedSample>(frame: &[T]) -> i16
where
    f32: FromSample<T>,
{
    let sum: f32 = frame.iter().map(|&s| f32::from_sample(s)).sum();
    f32_to_i16(sum / frame.len().max(1) as f32)
}

pub(crate) fn host_name(host: &cpal::Host) -> String {
    host.id().name().to_owned()
}

/// The id when the backend has one (stable, and what [`DeviceChoice::Named`] accepts),
/// else the description.
pub(crate) fn device_label(device: &cpal::Device) -> String {
    device
        .id()
        .map(|id| id.to_string())
        .unwrap_or_else(|_| device.to_string())
}

pub(crate) fn device_name(device: &cpal::Device) -> String {
    device
        .description()
        .map(|description| description.name().to_owned())
        .unwrap_or_else(|_| device.to_string())
}

fn find_device(direction: Direction, choice: DeviceChoice<'_>) -> Result<cpal::Device, AudioError> {
    let host = cpal::default_host();
    let wanted = match choice {
        DeviceChoice::Default => {
            let device = match direction {
                Direction::Input => host.default_input_device(),
                Direction::Output => host.default_output_device(),
            };
            return device.ok_or_else(|| AudioError::NoDefaultDevice {
                direction,
                host: host_name(&host),
            });
        }
        DeviceChoice::Named(name) => name,
    };
    if let Ok(id) = wanted.parse::<cpal::DeviceId>()
        && let Some(device) = host.device_by_id(&id)
    {
        return Ok(device);
    }
    let devices = match direction {
        Direction::Input => host.input_devices(),
        Direction::Output => host.output_devices(),
    }
    .map_err(|source| AudioError::Enumerate {
        direction,
        host: host_name(&host),
        source,
    })?;
    devices
        .into_iter()
        .find(|device| {
            device_label(device) == wanted
                || device.id().is_ok_and(|id| id.id() == wanted)
                || device_name(device) == wanted
        })
        .ok_or_else(|| AudioError::DeviceNotFound {
            direction,
            name: wanted.to_owned(),
            host: host_name(&host),
        })
}

fn device_error(
    direction: Direction,
    device: &str,
    action: &'static str,
    source: cpal::Error,
) -> AudioError {
    AudioError::Device {
        direction,
        device: device.to_owned(),
        action,
        source,
    }
}

fn unsupported_format(direction: Direction, device: &str, format: SampleFormat) -> AudioError {
    AudioError::UnsupportedSampleFormat {
        direction,
        device: device.to_owned(),
        format,
    }
}
