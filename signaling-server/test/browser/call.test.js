// Two chromium pages call each other through the server with the web client
// in public/: ring, accept by click, connected, audio flows (RTP stats and a
// recording of the received tone), hang up; and a declined call.
//
// npm run test:browser (runs it in a loopback-only network namespace, ~10 s).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../helpers.js';
import { launchChromium, writeToneWav } from './chromium.js';
import { requireLoopbackOnly } from './isolated.js';
import { openPage, visibleText, waitState } from './pages.js';

const TONE_HZ = 440;

let server;
let url;
let chromium;
let dir;
const opened = [];

before(async () => {
  requireLoopbackOnly();
  dir = mkdtempSync(join(tmpdir(), 'vc-browser-'));
  const wav = join(dir, 'tone.wav');
  writeToneWav(wav, { frequency: TONE_HZ, seconds: 3 });
  ({ server, url } = await startServer());
  chromium = await launchChromium({ wav });
});

after(async () => {
  await chromium?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A page in its own browser context (own localStorage = own identity). */
async function openClient(name) {
  const c = await openPage(chromium, url, { name });
  assert.equal(await c.page.$eval('#my-id', (el) => el.textContent), c.id);
  opened.push(c);
  return c;
}

const phase = (c) => c.page.evaluate(() => window.voicecallTest.state);
const waitPhase = waitState;

/** Goertzel power of `freq` in the samples, relative to total power. */
function toneShare(samples, sampleRate, freq) {
  const k = (2 * Math.PI * freq) / sampleRate;
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (const x of samples) {
    const s0 = x + 2 * Math.cos(k) * s1 - s2;
    s2 = s1;
    s1 = s0;
    energy += x * x;
  }
  const power = s1 * s1 + s2 * s2 - 2 * Math.cos(k) * s1 * s2;
  return power / (energy * samples.length / 2 || 1);
}

function decodeWav(base64) {
  const buf = Buffer.from(base64, 'base64');
  assert.equal(buf.toString('ascii', 0, 4), 'RIFF');
  const sampleRate = buf.readUInt32LE(24);
  const samples = new Float32Array((buf.length - 44) / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = buf.readInt16LE(44 + i * 2) / 32768;
  return { sampleRate, samples, buf };
}

test('A calls B: ringing, accept by click, connected, audio flows both ways, End shows both why the call ended', async () => {
  const a = await openClient('A');
  const b = await openClient('B');
  assert.notEqual(a.id, b.id);

  await a.page.type('#peer-id', b.id);
  await a.page.click('#call');
  await waitPhase(b, 'ringing');
  assert.equal(await b.page.$eval('#caller', (el) => el.textContent), a.id);
  assert.equal(await visibleText(b.page, '#caller'), a.id);
  // No auto-answer: B keeps ringing until someone clicks.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await phase(b), 'ringing');
  await a.page.waitForFunction(() => document.getElementById('calling-progress').textContent === 'Ringing…', { timeout: 5000 });

  await b.page.click('#accept');
  await Promise.all([waitPhase(a, 'in-call'), waitPhase(b, 'in-call')]);
  for (const c of [a, b]) {
    assert.equal(await c.page.evaluate(async () => (await window.voicecallTest.stats()).connectionState), 'connected');
  }

  // RTP arrives on both sides, as Opus.
  for (const c of [a, b]) {
    await c.page.waitForFunction(async () => ((await window.voicecallTest.stats()).inbound?.packetsReceived ?? 0) > 0, { timeout: 10_000, polling: 200 });
    const s = await c.page.evaluate(() => window.voicecallTest.stats());
    assert.ok(s.inbound.packetsReceived > 0);
    assert.ok(s.outbound.packetsSent > 0);
    assert.equal(s.codec?.toLowerCase(), 'audio/opus');
  }

  // What B hears is A's microphone: the 440 Hz test tone.
  await b.page.evaluate(() => window.voicecallTest.startRecording());
  await new Promise((r) => setTimeout(r, 1500));
  const rec = await b.page.evaluate(() => window.voicecallTest.stopRecording());
  assert.ok(rec.seconds > 1, `recorded ${rec.seconds} s`);
  assert.ok(rec.rms > 0.02, `received audio rms ${rec.rms}`);
  const { sampleRate, samples, buf } = decodeWav(rec.wavBase64);
  assert.equal(sampleRate, rec.sampleRate);
  writeFileSync(join(dir, 'b-received.wav'), buf);
  // The sender's noise suppression/AGC reshape a steady tone, so compare
  // the tone's share with other frequencies instead of expecting a pure sine.
  const atTone = toneShare(samples, sampleRate, TONE_HZ);
  for (const other of [250, 330, 600, 1000, 2000]) {
    const share = toneShare(samples, sampleRate, other);
    assert.ok(atTone > 50 * share, `share at ${TONE_HZ} Hz ${atTone} vs ${other} Hz ${share}`);
  }

  await a.page.click('#end');
  await Promise.all([waitPhase(a, 'ended'), waitPhase(b, 'ended')]);
  assert.equal(await visibleText(b.page, '#ended-reason'), 'Hung up by peer');
  assert.equal(await b.page.evaluate(() => window.voicecallTest.stats().then((s) => s.connectionState)), null);

  assert.deepEqual([...a.errors, ...b.errors], []);
  await a.context.close();
  await b.context.close();
});

test('B declines: A is told; identity survives a reload', async () => {
  const a = await openClient('A2');
  const b = await openClient('B2');
  await a.page.evaluate((id) => window.voicecallTest.call(id), b.id);
  await waitPhase(b, 'ringing');
  await b.page.click('#decline');
  await Promise.all([waitPhase(a, 'ended'), waitPhase(b, 'ended')]);
  assert.equal(await visibleText(a.page, '#ended-reason'), 'Declined');

  // localStorage + socket.io auth: same ID after a reload.
  await a.page.reload({ waitUntil: 'load' });
  await waitPhase(a, 'idle');
  assert.equal(await a.page.evaluate(() => window.voicecallTest.id), a.id);
  assert.deepEqual([...a.errors, ...b.errors], []);
  await a.context.close();
  await b.context.close();
});

test('the pages contacted nothing but the loopback server', () => {
  assert.deepEqual(opened.flatMap((c) => c.foreign), []);
});
