// The web client's recorder (public/recorder.js, the test hook that every
// browser test and tests/browser_interop.rs judge received audio by) must
// record what reached the page even while the page's main thread is busy, as
// it is on a loaded machine. A ScriptProcessorNode fails this: its callback
// runs on the main thread, and chromium drops or repeats the blocks it could
// not deliver in time (measured: 40–74 breaks in a 440 Hz tone recorded for
// 4–7 s with the main thread blocked 300 ms out of every 400, against 4–6 at
// idle and with an AudioWorklet), which tests/browser_interop.rs then read as
// audio the call lost.
//
// npm run test:browser (runs it in a loopback-only network namespace, ~5 s).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../helpers.js';
import { launchChromium, writeToneWav } from './chromium.js';
import { requireLoopbackOnly } from './isolated.js';
import { openPage } from './pages.js';

const TONE_HZ = 440;
// Breaks in the sine's continuity that a recording may show: where the
// oscillator starts and the recorder's first and last blocks (4–6 at idle).
const MAX_BREAKS = 20;

let server;
let url;
let chromium;
let dir;

before(async () => {
  requireLoopbackOnly();
  dir = mkdtempSync(join(tmpdir(), 'vc-recorder-'));
  const wav = join(dir, 'silence.wav');
  writeToneWav(wav, { amplitude: 0, seconds: 1 });
  ({ server, url } = await startServer());
  chromium = await launchChromium({ wav });
});

after(async () => {
  await chromium?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the recorder keeps every sample of a tone while the page’s main thread is busy', async () => {
  const c = await openPage(chromium, url, { name: 'recorder' });
  const result = await c.page.evaluate(async (hz) => {
    const { createRecorder } = await import('/recorder.js');
    // A steady tone as a MediaStream, as a remote track arrives.
    const source = new AudioContext();
    const osc = source.createOscillator();
    osc.frequency.value = hz;
    const dest = source.createMediaStreamDestination();
    osc.connect(dest);
    osc.start();
    const rec = createRecorder(dest.stream);
    // Loading the worklet takes the main thread too; the load below is for
    // the recording, not for the module's start (a busy loader cost CI 1 s).
    await rec.ready;
    // The load: the main thread blocked 300 ms out of every 400, ten times.
    const pause = () => new Promise((r) => setTimeout(r, 100));
    for (let k = 0; k < 10; k++) {
      const until = performance.now() + 300;
      while (performance.now() < until) {
        // busy
      }
      await pause();
    }
    const { samples, sampleRate } = await rec.stop();
    await source.close();
    // A sine obeys x[n] = 2 cos(w) x[n-1] - x[n-2]; a dropped, repeated or
    // zeroed block breaks it.
    const k = 2 * Math.cos((2 * Math.PI * hz) / sampleRate);
    let breaks = 0;
    for (let n = 2; n < samples.length; n++) {
      if (Math.abs(samples[n] - (k * samples[n - 1] - samples[n - 2])) > 0.05) breaks++;
    }
    return { breaks, seconds: samples.length / sampleRate };
  }, TONE_HZ);
  console.error(`recorder under a busy main thread: ${JSON.stringify(result)}`);
  assert.ok(result.seconds > 3, `recorded only ${result.seconds} s`);
  assert.ok(result.breaks <= MAX_BREAKS, `${result.breaks} breaks in the recorded tone (at most ${MAX_BREAKS})`);
  assert.deepEqual(c.errors, []);
  await c.context.close();
});
