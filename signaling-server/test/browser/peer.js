// A headless chromium running the web client at `/` as one end of a call,
// for the Rust tests and benchmarks (crates/lab/src/support/browser.rs). It
// speaks like `voicecall listen|call --json`: the first stdout line is its ID,
// every later line one JSON event, so the Rust side reads both the same way.
//
//   node test/browser/peer.js --server URL --listen [--input WAV] [--output WAV]
//   node test/browser/peer.js --server URL --call ID --duration SECONDS [...]
//
//   --input WAV         the fake microphone, played once from getUserMedia on
//   --output WAV        what the page hears (WebAudio), 16-bit mono 48 kHz
//   --duration S        the caller hangs up S seconds after the call connects
//   --relay-only        iceTransportPolicy "relay" (TURN from the server)
//   --ask-dtx           say usedtx=1 in the page's Opus fmtp: the peer sends DTX
//   --audio-processing  keep chromium's echo cancellation, noise suppression and
//                       gain control on the microphone (the web client's default;
//                       off here unless asked, as on the native side's WAV input)
//   --timeout S         give up after S seconds (default 120)
//
// Events: {"event":"phase","phase":…}, {"event":"media_started"} (connected),
// {"event":"first_audio","setup_ms":…} (first audio out of NetEq, ms after
// Call/Accept), {"event":"stats",…} (inbound-rtp/outbound-rtp, every second)
// and {"event":"ended","reason":…,"stats":…,"recording":…}. Exit 0 when the
// call happened and ended; 1 with a message on stderr otherwise.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium, writeToneWav } from './chromium.js';
import { instrumentPage } from './harness_page.js';

const { values: opts } = parseArgs({
  options: {
    server: { type: 'string' },
    listen: { type: 'boolean', default: false },
    call: { type: 'string' },
    input: { type: 'string' },
    output: { type: 'string' },
    duration: { type: 'string', default: '10' },
    'relay-only': { type: 'boolean', default: false },
    'ask-dtx': { type: 'boolean', default: false },
    'audio-processing': { type: 'boolean', default: false },
    timeout: { type: 'string', default: '120' },
  },
  strict: true,
});

const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const fail = (message) => {
  process.stderr.write(`peer.js: ${message}\n`);
  process.exitCode = 1;
};

const STATS_INTERVAL_MS = 1000;

async function main() {
  if (!opts.server) throw new Error('--server URL is required');
  if (opts.listen === Boolean(opts.call)) throw new Error('give exactly one of --listen and --call ID');
  const timeoutMs = Number(opts.timeout) * 1000;
  const durationMs = Number(opts.duration) * 1000;
  if (!(timeoutMs > 0) || !(durationMs > 0)) throw new Error('--timeout and --duration are seconds > 0');

  // Without --input the microphone plays silence (a short silent file, played once).
  let scratch = null;
  let input = opts.input;
  if (!input) {
    scratch = mkdtempSync(join(tmpdir(), 'vc-peer-'));
    input = join(scratch, 'silence.wav');
    writeToneWav(input, { amplitude: 0, seconds: 1 });
  }
  chromium = await launchChromium({ wav: input, playOnce: true });
  const deadline = setTimeout(() => {
    fail(`no end of call within ${opts.timeout} s`);
    chromium.close().finally(() => process.exit(1));
  }, timeoutMs);
  try {
    const context = await chromium.browser.createBrowserContext();
    const page = await context.newPage();
    page.on('pageerror', (err) => process.stderr.write(`page error: ${err.message}\n`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warn') process.stderr.write(`page console ${msg.type()}: ${msg.text()}\n`);
    });
    await instrumentPage(page, { relayOnly: opts['relay-only'], askDtx: opts['ask-dtx'] });
    await page.goto(opts.server, { waitUntil: 'load' });
    await page.waitForFunction(() => window.voicecallTest?.state === 'idle' && window.voicecallTest.id, { timeout: 15_000 });
    const id = await page.evaluate((processing) => {
      window.voicecallTest.audioProcessing = processing;
      return window.voicecallTest.id;
    }, opts['audio-processing']);
    process.stdout.write(`${id}\n`);

    const state = () => page.evaluate(() => window.voicecallTest.state);
    if (opts.listen) {
      await page.waitForFunction(() => window.voicecallTest.state === 'ringing', { timeout: timeoutMs, polling: 10 });
      emit({ event: 'phase', phase: 'ringing' });
      await page.evaluate(() => {
        window.vcHarness.markStart();
        return window.voicecallTest.accept();
      });
    } else {
      await page.evaluate((peer) => {
        window.vcHarness.markStart();
        return window.voicecallTest.call(peer);
      }, opts.call);
      emit({ event: 'phase', phase: 'calling' });
    }
    await page.waitForFunction(() => window.voicecallTest.state === 'in-call' || window.vcHarness.ended, { timeout: 30_000, polling: 10 });
    if ((await state()) !== 'in-call') throw new Error(`the call did not connect: ${JSON.stringify(await page.evaluate(() => window.voicecallTest.log))}`);
    emit({ event: 'phase', phase: 'in-call' });
    emit({ event: 'media_started', connected_ms: await page.evaluate(() => window.vcHarness.connectedMs) });
    page
      .waitForFunction(() => window.vcHarness.firstAudioMs !== null, { timeout: 30_000, polling: 50 })
      .then(() => page.evaluate(() => window.vcHarness.firstAudioMs))
      .then((ms) => emit({ event: 'first_audio', setup_ms: ms }))
      .catch(() => {});

    // Stats every second while the call lasts; the last one before the end is the call's.
    let last = null;
    const poll = setInterval(async () => {
      try {
        const stats = await page.evaluate(() => window.vcHarness.stats());
        if (stats) {
          last = stats;
          emit({ event: 'stats', ...stats });
        }
      } catch {
        // The page is closing; the last snapshot stands.
      }
    }, STATS_INTERVAL_MS);

    let reason;
    if (opts.listen) {
      await page.waitForFunction(() => window.voicecallTest.state !== 'in-call', { timeout: timeoutMs, polling: 20 });
      reason = 'remote_hangup';
    } else {
      await page
        .waitForFunction(() => window.voicecallTest.state !== 'in-call', { timeout: durationMs, polling: 20 })
        .then(() => {
          reason = 'ended_early';
        })
        .catch(() => {});
      if (!reason) {
        last = (await page.evaluate(() => window.vcHarness.stats())) ?? last;
        reason = 'hangup';
      }
    }
    clearInterval(poll);
    const recording = await page.evaluate(() => window.vcHarness.stopRecording());
    if (!opts.listen && reason === 'hangup') await page.evaluate(() => window.voicecallTest.hangup());
    let saved = null;
    if (recording && opts.output) {
      writeFileSync(opts.output, Buffer.from(recording.wavBase64, 'base64'));
      saved = { path: opts.output, seconds: recording.seconds, sampleRate: recording.sampleRate };
    }
    const setup = await page.evaluate(() => ({ connected_ms: window.vcHarness.connectedMs, first_audio_ms: window.vcHarness.firstAudioMs }));
    emit({ event: 'ended', reason, stats: last, recording: saved, ...setup });
    if (reason === 'ended_early') fail('the call ended before --duration');
    if (opts.output && !saved) fail('nothing was recorded (no remote track)');
  } finally {
    clearTimeout(deadline);
    await chromium.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

let chromium = null;
// Ended by the Rust side (a test that gave up): chromium goes with it.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    fail(`stopped by ${signal}`);
    (chromium?.close() ?? Promise.resolve()).finally(() => process.exit(1));
  });
}

main().catch((err) => {
  fail(err.stack ?? String(err));
  process.exit(1);
});
