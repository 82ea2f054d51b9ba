//! Settings: servers, STUN/TURN, relay-only, audio devices with a microphone meter and a
//! speaker test tone. The fields are a `SettingsDraft`, checked by core; this screen shows
//! what the check says. Save hands the settings to the app, which writes `settings.toml`
//! and restarts the engine if needed.

use std::str::FromStr;
use std::time::{Duration, Instant};

use iced::widget::{button, column, container, radio, row, scrollable, text, text_input, toggler};
use iced::{Center, Element, Fill};
use voicecall_core::config::{FieldErrors, IceDraft, Settings, SettingsDraft};
use voicecall_core::device::{InputSpec, OutputSpec};
use voicecall_engine::audio::DeviceInfo;
use voicecall_engine::controller::Overrides;

use crate::ui::sound::{MicTest, Playing, speaker_test};
use crate::ui::theme;
use crate::ui::widget::meter::level_meter;
use crate::ui::widget::page::{card, header};

/// How often the device lists are read again while the page is open, so a headset plugged
/// in meanwhile shows up without reopening it.
const RELIST_EVERY: Duration = Duration::from_secs(2);

/// The page's scrollable, scrolled to the end when a test reports below the fold.
pub const PAGE: iced::widget::Id = iced::widget::Id::new("settings-page");

/// Audio devices found on this machine, as choices for the pickers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Devices {
    pub inputs: Vec<DeviceChoice>,
    pub outputs: Vec<DeviceChoice>,
}

/// One entry of a device picker: what it says and the setting it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceChoice {
    pub label: String,
    pub spec: String,
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

impl DeviceChoice {
    fn default_device() -> Self {
        Self {
            label: "System default".into(),
            spec: "default".into(),
        }
    }

    fn from_info(info: &DeviceInfo) -> Self {
        let mark = if info.is_default { " (default)" } else { "" };
        Self {
            label: format!("{}{mark}", info.name),
            spec: format!("device:{}", info.name),
        }
    }
}

/// Lists the machine's audio devices (slow on some systems: run it off the UI thread).
pub fn list_devices() -> Result<Devices, String> {
    let inputs = voicecall_engine::audio::list_input_devices().map_err(|e| e.to_string())?;
    let outputs = voicecall_engine::audio::list_output_devices().map_err(|e| e.to_string())?;
    Ok(Devices {
        inputs: inputs.iter().map(DeviceChoice::from_info).collect(),
        outputs: outputs.iter().map(DeviceChoice::from_info).collect(),
    })
}

pub struct State {
    draft: SettingsDraft,
    devices: Option<Result<Devices, String>>,
    /// A listing is under way (the page opens with one).
    listing: bool,
    /// When the last listing arrived, as the ticks tell it.
    listed_at: Option<Instant>,
    mic: Option<MicTest>,
    mic_dbfs: f32,
    speaker: Option<Playing>,
    /// Outcome of the microphone or speaker test, in words.
    test_note: Option<Result<String, String>>,
    /// What the last Save found wrong.
    errors: FieldErrors,
    save_error: Option<String>,
    override_note: Option<String>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("settings::State")
            .field("draft", &self.draft)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub enum Message {
    Servers(String),
    IceUrl(usize, String),
    IceUsername(usize, String),
    IceCredential(usize, String),
    AddIce,
    RemoveIce(usize),
    RelayOnly(bool),
    NoiseSuppression(bool),
    EchoCancellation(bool),
    Input(String),
    Output(String),
    PickInput(DeviceChoice),
    PickOutput(DeviceChoice),
    DevicesListed(Result<Devices, String>),
    ToggleMicTest,
    TestSpeaker,
    Save,
    Cancel,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Save(Settings),
    Cancel,
}

impl State {
    pub fn new(settings: &Settings, overrides: &Overrides) -> Self {
        let mut overridden = Vec::new();
        if !overrides.servers.is_empty() {
            overridden.push(format!("server {}", overrides.servers.join(", ")));
        }
        if let Some(input) = &overrides.input {
            overridden.push(format!("microphone {input}"));
        }
        if let Some(output) = &overrides.output {
            overridden.push(format!("speaker {output}"));
        }
        let override_note = (!overridden.is_empty()).then(|| {
            format!(
                "This run uses {} from the command line or environment; what you save here applies when they are not given.",
                overridden.join(", ")
            )
        });
        Self {
            draft: SettingsDraft::from_settings(settings),
            devices: None,
            listing: true,
            listed_at: None,
            mic: None,
            mic_dbfs: -96.0,
            speaker: None,
            test_note: None,
            errors: FieldErrors::default(),
            save_error: None,
            override_note,
        }
    }

    pub fn update(&mut self, message: Message, saved: &Settings) -> Option<Event> {
        let draft = &mut self.draft;
        match message {
            Message::Servers(value) => draft.servers = value,
            Message::IceUrl(i, value) => self.ice_row(i, |row| row.url = value),
            Message::IceUsername(i, value) => self.ice_row(i, |row| row.username = value),
            Message::IceCredential(i, value) => self.ice_row(i, |row| row.credential = value),
            Message::AddIce => draft.ice.push(IceDraft::default()),
            Message::RemoveIce(i) => {
                if i < draft.ice.len() {
                    draft.ice.remove(i);
                }
            }
            Message::RelayOnly(on) => draft.relay_only = on,
            Message::NoiseSuppression(on) => draft.noise_suppression = on,
            Message::EchoCancellation(on) => draft.echo_cancellation = on,
            Message::Input(value) => {
                draft.input = value;
                self.mic = None;
            }
            Message::Output(value) => draft.output = value,
            Message::PickInput(choice) => {
                draft.input = choice.spec;
                self.mic = None;
            }
            Message::PickOutput(choice) => draft.output = choice.spec,
            Message::DevicesListed(result) => {
                self.devices = Some(result);
                self.listing = false;
                self.listed_at = None;
            }
            Message::ToggleMicTest => self.toggle_mic_test(),
            Message::TestSpeaker => self.test_speaker(),
            Message::Save => {
                self.save_error = None;
                match self.draft.validate(saved) {
                    Ok(settings) => {
                        self.stop_tests();
                        return Some(Event::Save(settings));
                    }
                    Err(errors) => self.errors = *errors,
                }
            }
            Message::Cancel => {
                self.stop_tests();
                return Some(Event::Cancel);
            }
        }
        None
    }

    /// Writing the file failed: say so and stay.
    pub fn save_failed(&mut self, why: String) {
        self.save_error = Some(why);
    }

    fn ice_row(&mut self, index: usize, change: impl FnOnce(&mut IceDraft)) {
        if let Some(row) = self.draft.ice.get_mut(index) {
            change(row);
        }
    }

    fn stop_tests(&mut self) {
        self.mic = None;
        self.speaker = None;
    }

    fn toggle_mic_test(&mut self) {
        if self.mic.take().is_some() {
            self.test_note = None;
            return;
        }
        let spec = match InputSpec::from_str(&self.draft.input) {
            Ok(spec) => spec,
            Err(err) => {
                self.test_note = Some(Err(err.to_string()));
                return;
            }
        };
        self.mic = Some(MicTest::start(spec));
        self.test_note = Some(Ok("Opening the microphone…".into()));
    }

    fn test_speaker(&mut self) {
        let spec = match OutputSpec::from_str(&self.draft.output) {
            Ok(spec) => spec,
            Err(err) => {
                self.test_note = Some(Err(err.to_string()));
                return;
            }
        };
        if spec.is_headless() {
            self.test_note = Some(Err(
                "The test tone only plays on a speaker device, not into a file".into(),
            ));
            return;
        }
        self.speaker = Some(speaker_test(spec));
        self.test_note = Some(Ok("Playing a 440 Hz tone…".into()));
    }

    /// Whether to list the devices again now; the caller then does, and reports back with
    /// `DevicesListed`.
    pub fn relist_due(&mut self, now: Instant) -> bool {
        if self.listing {
            return false;
        }
        let listed_at = *self.listed_at.get_or_insert(now);
        if now < listed_at + RELIST_EVERY {
            return false;
        }
        self.listing = true;
        true
    }

    /// Meter and test-tone bookkeeping.
    pub fn tick(&mut self, now: Instant) {
        if let Some(mic) = &mut self.mic {
            match mic.poll(now) {
                Some(Ok(())) => self.test_note = Some(Ok("Speak: the bar should move".into())),
                Some(Err(err)) => {
                    self.test_note = Some(Err(format!("Microphone: {err}")));
                    self.mic = None;
                }
                None => {}
            }
        }
        if let Some(mic) = &self.mic {
            self.mic_dbfs = mic.level_dbfs();
        }
        if let Some(speaker) = &self.speaker {
            if let Some(Err(err)) = speaker.opened() {
                self.test_note = Some(Err(format!("Speaker: {err}")));
                self.speaker = None;
            } else if speaker.is_finished() {
                self.speaker = None;
                self.test_note = Some(Ok("Test tone finished".into()));
            }
        }
    }

    pub fn wants_frames(&self) -> bool {
        self.mic.is_some() || self.speaker.is_some()
    }

    pub fn view(&self) -> Element<'_, Message> {
        let mut page = column![header(
            "Settings",
            [
                button(text("Cancel"))
                    .style(theme::plain_button)
                    .on_press(Message::Cancel)
                    .into(),
                button(text("Save"))
                    .style(theme::call_button)
                    .on_press(Message::Save)
                    .into(),
            ],
        ),]
        .spacing(14);
        if let Some(note) = &self.override_note {
            page = page.push(
                text(note.as_str())
                    .size(theme::size::SMALL)
                    .style(theme::muted_text),
            );
        }
        if let Some(why) = &self.save_error {
            page = page.push(
                container(text(why.as_str()))
                    .padding(8)
                    .width(Fill)
                    .style(theme::notice),
            );
        }
        page = page
            .push(self.servers_card())
            .push(self.ice_card())
            .push(self.audio_card());
        scrollable(page.padding(iced::Padding {
            right: 14.0,
            ..iced::Padding::ZERO
        }))
        .id(PAGE)
        .height(Fill)
        .into()
    }

    fn servers_card(&self) -> Element<'_, Message> {
        card(
            column![
                text("Signaling servers").size(theme::size::HEADING),
                text_input("http://127.0.0.1:3000", &self.draft.servers)
                    .on_input(Message::Servers)
                    .padding(8),
                problem_or_hint(
                    self.errors.servers.as_ref().map(ToString::to_string),
                    "Separate several with commas; they are tried in order",
                ),
            ]
            .spacing(8),
        )
    }

    fn ice_card(&self) -> Element<'_, Message> {
        let mut rows = column![text("STUN / TURN servers").size(theme::size::HEADING)].spacing(8);
        if self.draft.ice.is_empty() {
            rows = rows.push(
                text("None: calls work on the same network or with open NATs")
                    .size(theme::size::SMALL)
                    .style(theme::muted_text),
            );
        }
        for (i, ice) in self.draft.ice.iter().enumerate() {
            rows = rows.push(
                row![
                    text_input("turn:turn.example.org:3478", &ice.url)
                        .on_input(move |v| Message::IceUrl(i, v))
                        .padding(6)
                        .width(iced::FillPortion(3)),
                    text_input("username", &ice.username)
                        .on_input(move |v| Message::IceUsername(i, v))
                        .padding(6)
                        .width(iced::FillPortion(2)),
                    text_input("credential", &ice.credential)
                        .secure(true)
                        .on_input(move |v| Message::IceCredential(i, v))
                        .padding(6)
                        .width(iced::FillPortion(2)),
                    button(text("Remove"))
                        .style(theme::link_button)
                        .on_press(Message::RemoveIce(i)),
                ]
                .spacing(6)
                .align_y(Center),
            );
            if let Some(why) = self.errors.ice_row(i) {
                rows = rows.push(
                    text(why.to_string())
                        .size(theme::size::SMALL)
                        .style(theme::error_text),
                );
            }
        }
        rows = rows
            .push(
                button(text("Add a server"))
                    .style(theme::plain_button)
                    .on_press(Message::AddIce),
            )
            .push(
                toggler(self.draft.relay_only)
                    .label("Relay only (hide my address; needs a TURN server)")
                    .on_toggle(Message::RelayOnly),
            );
        card(rows)
    }

    fn audio_card(&self) -> Element<'_, Message> {
        // Always one line here, so the layout does not jump when the list arrives.
        let (inputs, outputs, listing_note) = match &self.devices {
            None => (
                Vec::new(),
                Vec::new(),
                Ok("Looking for audio devices…".to_owned()),
            ),
            Some(Err(why)) => (
                Vec::new(),
                Vec::new(),
                Err(format!("Cannot list audio devices: {why}")),
            ),
            Some(Ok(devices)) => (
                devices.inputs.clone(),
                devices.outputs.clone(),
                Ok(format!(
                    "Found {} microphone(s) and {} speaker(s); a WAV file works too (wav:/path/file.wav)",
                    devices.inputs.len(),
                    devices.outputs.len()
                )),
            ),
        };
        let input_picker = device_picker(
            "Microphone",
            inputs,
            &self.draft.input,
            "no input devices found",
            Message::PickInput,
            Message::Input,
            self.errors.input.as_ref().map(ToString::to_string),
        );
        let output_picker = device_picker(
            "Speaker",
            outputs,
            &self.draft.output,
            "no output devices found",
            Message::PickOutput,
            Message::Output,
            self.errors.output.as_ref().map(ToString::to_string),
        );
        let mic_label = if self.mic.is_some() {
            "Stop microphone test"
        } else {
            "Test microphone"
        };
        let mut content = column![text("Audio").size(theme::size::HEADING)].spacing(10);
        content = content
            .push(note_text(listing_note))
            .push(input_picker)
            .push(output_picker)
            .push(
                row![
                    button(text(mic_label))
                        .style(theme::plain_button)
                        .on_press(Message::ToggleMicTest),
                    button(text("Play test tone"))
                        .style(theme::plain_button)
                        .on_press_maybe(self.speaker.is_none().then_some(Message::TestSpeaker)),
                ]
                .spacing(10),
            )
            .push(
                toggler(self.draft.noise_suppression)
                    .label("Noise suppression")
                    .on_toggle(Message::NoiseSuppression),
            )
            .push(
                toggler(self.draft.echo_cancellation)
                    .label("Echo cancellation")
                    .on_toggle(Message::EchoCancellation),
            );
        if self.mic.is_some() {
            content = content.push(level_meter("Microphone level", self.mic_dbfs));
        }
        if let Some(note) = &self.test_note {
            content = content.push(note_text(note.clone()));
        }
        card(content)
    }
}

fn device_picker<'a>(
    label: &'a str,
    mut choices: Vec<DeviceChoice>,
    value: &'a str,
    none_found: &'a str,
    on_pick: fn(DeviceChoice) -> Message,
    on_input: fn(String) -> Message,
    problem: Option<String>,
) -> Element<'a, Message> {
    let found_any = !choices.is_empty();
    choices.insert(0, DeviceChoice::default_device());
    let selected = choices.iter().position(|c| c.spec == value.trim());
    // Radio buttons rather than a pick list: iced's software renderer does not clip a
    // pick list's text at a scrollable's edge.
    let radios = choices.into_iter().enumerate().map(|(i, choice)| {
        radio(choice.label.clone(), i, selected, move |_| on_pick(choice))
            .size(16)
            .spacing(8)
            .text_size(theme::size::SMALL + 1)
            .into()
    });
    let mut content = column![
        text(label),
        column(radios).spacing(6).padding([0, 8]),
        text_input("default, device:NAME, wav:/path/file.wav", value)
            .on_input(on_input)
            .padding(6),
    ]
    .spacing(6);
    if let Some(problem) = problem {
        content = content.push(
            text(problem)
                .size(theme::size::SMALL)
                .style(theme::error_text),
        );
    } else if !found_any {
        content = content.push(
            text(none_found)
                .size(theme::size::SMALL)
                .style(theme::muted_text),
        );
    }
    content.into()
}

fn problem_or_hint<'a>(problem: Option<String>, hint: &'a str) -> Element<'a, Message> {
    match problem {
        Some(problem) => text(problem)
            .size(theme::size::SMALL)
            .style(theme::error_text)
            .into(),
        None => text(hint)
            .size(theme::size::SMALL)
            .style(theme::muted_text)
            .into(),
    }
}

fn note_text<'a>(note: Result<String, String>) -> Element<'a, Message> {
    match note {
        Ok(note) => text(note)
            .size(theme::size::SMALL)
            .style(theme::muted_text)
            .into(),
        Err(why) => text(why)
            .size(theme::size::SMALL)
            .style(theme::error_text)
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(state: &mut State, messages: Vec<Message>) -> Option<Event> {
        let saved = Settings::default();
        let mut last = None;
        for message in messages {
            last = state.update(message, &saved);
        }
        last
    }

    #[test]
    fn save_returns_the_edited_settings() {
        let mut state = State::new(&Settings::default(), &Overrides::default());
        let event = edit(
            &mut state,
            vec![
                Message::Servers("https://a.example.org, http://10.0.0.2:3000".into()),
                Message::AddIce,
                Message::IceUrl(0, "turn:turn.example.org:3478".into()),
                Message::IceUsername(0, "me".into()),
                Message::IceCredential(0, "secret".into()),
                Message::RelayOnly(true),
                Message::Input("wav:/tmp/x.wav".into()),
                Message::PickOutput(DeviceChoice::default_device()),
                Message::Save,
            ],
        );
        let Some(Event::Save(settings)) = event else {
            panic!("expected a save, got {event:?}");
        };
        assert_eq!(settings.servers.len(), 2);
        assert_eq!(settings.ice_servers[0].username, "me");
        assert!(settings.relay_only);
        assert_eq!(settings.input_device, "wav:/tmp/x.wav");
        assert_eq!(settings.output_device, "default");
    }

    fn devices(inputs: &[&str]) -> Message {
        let info = |name: &&str| DeviceChoice {
            label: (*name).to_owned(),
            spec: format!("device:{name}"),
        };
        Message::DevicesListed(Ok(Devices {
            inputs: inputs.iter().map(info).collect(),
            outputs: Vec::new(),
        }))
    }

    #[test]
    fn a_device_plugged_in_while_the_page_is_open_shows_up() {
        let mut state = State::new(&Settings::default(), &Overrides::default());
        let t0 = Instant::now();
        assert!(!state.relist_due(t0), "the first listing is under way");
        edit(&mut state, vec![devices(&["Built-in Audio"])]);
        assert!(!state.relist_due(t0));
        assert!(!state.relist_due(t0 + Duration::from_secs(1)));
        assert!(state.relist_due(t0 + RELIST_EVERY));
        assert!(
            !state.relist_due(t0 + 2 * RELIST_EVERY),
            "one listing at a time"
        );
        edit(
            &mut state,
            vec![devices(&["Built-in Audio", "USB Headset"])],
        );
        // The radio buttons' labels are drawn by the radio, not as text the simulator
        // finds; the count above them says the list was replaced.
        let mut ui = iced_test::simulator(state.view());
        assert!(
            ui.find(
                "Found 2 microphone(s) and 0 speaker(s); a WAV file works too (wav:/path/file.wav)"
            )
            .is_ok(),
            "the new device is listed"
        );
    }

    #[test]
    fn bad_values_block_saving_with_reasons() {
        let mut state = State::new(&Settings::default(), &Overrides::default());
        let event = edit(
            &mut state,
            vec![
                Message::Servers("not a url".into()),
                Message::AddIce,
                Message::IceUrl(0, "turn:t.example.org".into()),
                Message::Input("wav:".into()),
                Message::Save,
            ],
        );
        assert_eq!(event, None);
        assert!(state.errors.servers.is_some());
        assert_eq!(state.errors.ice.len(), 1);
        assert!(state.errors.input.is_some());
        assert!(state.errors.output.is_none());
        let mut ui = iced_test::simulator(state.view());
        assert!(
            ui.find("a TURN server needs a username and a credential")
                .is_ok(),
            "the row's error is shown under it"
        );
    }
}
