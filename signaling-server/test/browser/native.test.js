// A browser calls the native desktop client, and the native client calls a
// browser: headless chromium (web client at /, fake microphone playing
// speech) and `voicecall listen|call` (WAV in, WAV out) through the same
// server. This file checks the signaling, the codec and the call's end; it
// writes what each side played and recorded, listed in recordings.json, and
// the cargo test that runs it (tests/browser_interop.rs) compares them with
// the end-to-end tests' measure (≥ 0.9 correlation over ≥ 90 % of the
// speech), so there is one comparison, in Rust.
//
// Both calls also show the same security code on both sides: the code the
// page shows next to the one the native client prints (`verification`), with
// a screenshot of the page in each call (…/web/native-interop/); and a
// declined call ends with the desktop's reason.
//
//   cargo test --test browser_interop          (builds the binary and runs this)
// or, with a binary built already (skipped when VOICECALL_BIN is not set):
//   VOICECALL_BIN=$PWD/../target/release/voicecall node test/browser/isolated.js test/browser/native.test.js
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, sleep } from '../helpers.js';
import { launchChromium } from './chromium.js';
import { requireLoopbackOnly } from './isolated.js';
import { asset, exitWithin, spawnNative, voicecallBin, writeWavAfterSilence, writeWavExcerpt } from './native.js';
import { openPage as openWebClient, outputDir, screenshot, visibleText, waitState } from './pages.js';

const SKIP = process.env.VOICECALL_BIN
  ? false
  : 'VOICECALL_BIN is not set: run `cargo test --test browser_interop`, or build `cargo build --release --bin voicecall` and set VOICECALL_BIN to it';

// Chromium's fake microphone plays its file in a loop from getUserMedia on,
// so the native side hears it from an arbitrary point; the cargo test compares
// one period from where the recording has settled, which a call of 9 s holds
// whole. The period is 0.3 s of silence, the first 4.1 s of speech-a.wav
// (which ends in a pause): the loop's seam, where chromium's file reader may
// skip or insert a few ms, falls in silence, which the comparison does not score.
const BROWSER_LEAD_SECONDS = 0.3;
const BROWSER_SPEECH_SECONDS = 4.1;
// The native side plays its file once from the start of media: 1.5 s of
// silence (the browser's jitter buffer settles in it: it time-stretches the
// first few hundred ms) and then speech (5.6 s), which its recording must hold.
const NATIVE_SPEECH = asset('speech-b.wav');
const NATIVE_LEAD_SECONDS = 1.5;
const CALL_SECONDS = 9;
// BROWSER_AUDIO_PROCESSING=1 keeps chromium's echo cancellation, noise
// suppression and gain control on the microphone (they reshape the waveform
// the comparison looks at, so by default they are off).
const BROWSER_AUDIO_PROCESSING = process.env.BROWSER_AUDIO_PROCESSING === '1';

let server;
let url;
let chromium;
let dir;
let bin;
let browserSpeech;
let nativeInput;
// What the cargo test compares: { label, reference, recording } per direction and call.
const recordings = [];

let shots;

before(async () => {
  if (SKIP) return;
  requireLoopbackOnly();
  bin = voicecallBin();
  // The cargo test names the folder it reads recordings.json from.
  dir = process.env.VOICECALL_INTEROP_DIR || outputDir('native-interop');
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  shots = join(dir, 'screens');
  mkdirSync(shots, { recursive: true });
  browserSpeech = join(dir, 'browser-speech.wav');
  const excerpt = join(dir, 'browser-speech-excerpt.wav');
  writeWavExcerpt(asset('speech-a.wav'), excerpt, BROWSER_SPEECH_SECONDS);
  writeWavAfterSilence(excerpt, browserSpeech, BROWSER_LEAD_SECONDS);
  nativeInput = join(dir, 'native-input.wav');
  writeWavAfterSilence(NATIVE_SPEECH, nativeInput, NATIVE_LEAD_SECONDS);
  ({ server, url } = await startServer());
  chromium = await launchChromium({ wav: browserSpeech });
});

after(async () => {
  await chromium?.close();
  await server?.close();
  // Written even after a failure, so the cargo test can tell a call that
  // failed from one that was never recorded.
  if (dir) writeFileSync(join(dir, 'recordings.json'), JSON.stringify(recordings, null, 2));
});

async function openPage(name) {
  const c = await openWebClient(chromium, url, { name });
  await c.page.evaluate((on) => (window.voicecallTest.audioProcessing = on), BROWSER_AUDIO_PROCESSING);
  return c;
}

/**
 * The security code: the native client's `verification` event and the code
 * the page shows must be the same six digits (both derive it from the two
 * DTLS fingerprints; a difference means a different derivation or a
 * different certificate on the way).
 */
async function assertSameSecurityCode(web, native, shotName) {
  const { code } = await native.waitFor((e) => e.event === 'verification', 10_000);
  assert.match(code, /^\d{3} \d{3}$/);
  await web.page.waitForFunction(() => window.voicecallTest.securityCode !== null, { timeout: 10_000 });
  const shown = await visibleText(web.page, '#sas');
  await screenshot(web.page, shots, shotName);
  console.error(`security code: native ${code}, page "${shown}"`);
  assert.equal(shown, `Security code ${code} — check it matches your peer’s`);
}

const waitPhase = (c, want, timeout = 15_000) => waitState(c, want, timeout);

/** Starts the page's recorder as soon as the remote stream exists (before audio flows). */
const startRecording = (c) =>
  c.page.waitForFunction(
    () => {
      try {
        window.voicecallTest.startRecording();
        return true;
      } catch {
        return false;
      }
    },
    { polling: 10, timeout: 15_000 },
  );

async function stopRecording(c, file) {
  const rec = await c.page.evaluate(() => window.voicecallTest.stopRecording());
  writeFileSync(file, Buffer.from(rec.wavBase64, 'base64'));
  return rec;
}

/** On failure: what each side saw. */
async function diagnose(web, native) {
  const page = web && (await web.page.evaluate(() => ({ state: window.voicecallTest.state, log: window.voicecallTest.log, lastError: window.voicecallTest.lastError })).catch((e) => String(e)));
  console.error(`page: ${JSON.stringify(page)}\nnative events: ${JSON.stringify(native.events)}\nnative stderr: ${native.stderr()}\npage errors: ${web?.errors}`);
}

/** Only Opus goes either way: the native client speaks nothing else. */
async function assertOpus(c) {
  const s = await c.page.evaluate(() => window.voicecallTest.stats());
  console.error(`${c.id}: negotiated ${JSON.stringify(s.negotiated)}; receiving ${s.codec}, sending ${s.outboundCodec}`);
  assert.equal(s.connectionState, 'connected');
  assert.equal(s.codec?.toLowerCase(), 'audio/opus', JSON.stringify(s));
  assert.equal(s.outboundCodec?.toLowerCase(), 'audio/opus', JSON.stringify(s));
  assert.ok(s.inbound.packetsReceived > 0 && s.outbound.packetsSent > 0, JSON.stringify(s));
  assert.match(s.negotiated[0] ?? '', /^audio\/opus\/48000\/2/i, JSON.stringify(s.negotiated));
}

/**
 * Lists both recordings with what the other side played, for the cargo test to
 * compare; the native client's media counters go with what it heard (the cargo
 * test checks its jitter buffer's whole-frame skips).
 */
function recorded(label, nativeHeard, browserHeard, nativeMedia) {
  // Chromium's fake microphone plays its file in a loop.
  recordings.push({ label: `${label}: the native client heard the browser`, reference: browserSpeech, recording: nativeHeard, looped: true, receiver: nativeMedia });
  recordings.push({ label: `${label}: the browser heard the native client`, reference: NATIVE_SPEECH, recording: browserHeard, looped: false });
}

test('a browser calls the native client; both hear each other and show the same security code; the browser hangs up', { skip: SKIP }, async () => {
  const configDir = mkdtempSync(join(dir, 'native-'));
  const nativeHeard = join(dir, 'native-heard-1.wav');
  const browserHeard = join(dir, 'browser-heard-1.wav');
  const native = spawnNative(bin, ['listen', '--server', url, '--bind', '127.0.0.1', '--auto-accept', '--once', '--input', nativeInput, '--output', nativeHeard], { configDir });
  let web;
  try {
    const nativeId = await native.id;
    web = await openPage('caller');
    await web.page.evaluate((id) => window.voicecallTest.call(id), nativeId);
    await startRecording(web);
    await Promise.all([waitPhase(web, 'in-call'), native.waitFor((e) => e.event === 'media_started')]);
    await assertSameSecurityCode(web, native, 'browser-calls-native');
    await sleep(1000);
    await assertOpus(web);
    await sleep((CALL_SECONDS - 1) * 1000);
    await stopRecording(web, browserHeard);
    await web.page.evaluate(() => window.voicecallTest.hangup());

    const { code } = await exitWithin(native, 10_000);
    assert.equal(code, 0, native.stderr());
    const ended = native.events.find((e) => e.event === 'ended');
    console.error(`native media: ${JSON.stringify(ended?.media)}`);
    assert.equal(ended?.reason, 'remote_hangup', JSON.stringify(native.events));
    assert.ok(ended.media.packets_received > 300, JSON.stringify(ended));
    assert.deepEqual(web.errors, []);
    await web.context.close();
    recorded('browser calls native', nativeHeard, browserHeard, ended.media);
  } catch (err) {
    await diagnose(web, native);
    throw err;
  } finally {
    native.kill();
  }
});

test('the native client calls a browser, which accepts; both hear each other and show the same security code; the native client hangs up', { skip: SKIP }, async () => {
  const configDir = mkdtempSync(join(dir, 'native-'));
  const nativeHeard = join(dir, 'native-heard-2.wav');
  const browserHeard = join(dir, 'browser-heard-2.wav');
  const web = await openPage('callee');
  const native = spawnNative(
    bin,
    ['call', web.id, '--server', url, '--bind', '127.0.0.1', '--duration', `${CALL_SECONDS}s`, '--input', nativeInput, '--output', nativeHeard],
    { configDir },
  );
  try {
    await waitPhase(web, 'ringing');
    assert.equal(await web.page.evaluate(() => window.voicecallTest.peerId), await native.id);
    await web.page.evaluate(() => window.voicecallTest.accept());
    await startRecording(web);
    await Promise.all([waitPhase(web, 'in-call'), native.waitFor((e) => e.event === 'media_started')]);
    await assertSameSecurityCode(web, native, 'native-calls-browser');
    await sleep(1000);
    await assertOpus(web);

    // The native client hangs up after CALL_SECONDS; the page is told.
    const { code } = await exitWithin(native, (CALL_SECONDS + 10) * 1000);
    assert.equal(code, 0, native.stderr());
    await waitPhase(web, 'ended', 5000);
    assert.equal(await visibleText(web.page, '#ended-reason'), 'Hung up by peer');
    await stopRecording(web, browserHeard);
    const ended = native.events.find((e) => e.event === 'ended');
    console.error(`native media: ${JSON.stringify(ended?.media)}`);
    assert.equal(ended?.reason, 'hangup', JSON.stringify(native.events));
    assert.ok(ended.media.packets_received > 300, JSON.stringify(ended));
    assert.deepEqual(web.errors, []);
    await web.context.close();
    recorded('native calls browser', nativeHeard, browserHeard, ended.media);
  } catch (err) {
    await diagnose(web, native);
    throw err;
  } finally {
    native.kill();
  }
});

test('the browser declines the native client’s call: the native client reports “declined”', { skip: SKIP }, async () => {
  const configDir = mkdtempSync(join(dir, 'native-'));
  const web = await openPage('decliner');
  const native = spawnNative(bin, ['call', web.id, '--server', url, '--bind', '127.0.0.1', '--duration', '5s', '--input', asset('speech-b.wav')], { configDir });
  try {
    await waitPhase(web, 'ringing');
    assert.equal(await visibleText(web.page, '#caller'), await native.id);
    await web.page.keyboard.press('Escape');
    const ended = await native.waitFor((e) => e.event === 'ended', 10_000);
    assert.equal(ended.reason, 'declined', JSON.stringify(native.events));
    assert.equal(await visibleText(web.page, '#ended-reason'), 'Declined by you');
    await exitWithin(native, 10_000);
    assert.deepEqual(web.errors, []);
    await web.context.close();
  } catch (err) {
    await diagnose(web, native);
    throw err;
  } finally {
    native.kill();
  }
});
