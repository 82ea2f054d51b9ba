// The web client checked as a person sees it, at a phone's width (360 px) and
// a desktop's (1280 px): every state (idle, calling, ringing, in call, ended
// with its reason, disconnected from the server, microphone denied) is
// reached through the page's own controls and keyboard, photographed
// (target/test-output/web/screens/*.png) and asserted on what is visible: the
// panels the browser actually renders, button labels, the caller's ID, the
// security code (equal on both ends and to the one computed here from the two
// SDPs), the call timer, the quality line, mute (the peer hears silence), and
// reconnecting with the same ID after the server goes away or kicks the page.
//
//   npm run test:browser   (in a loopback-only network namespace; ~40 s)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../helpers.js';
import { verify } from '../../public/sas.js';
import { launchChromium, writeToneWav } from './chromium.js';
import { requireLoopbackOnly } from './isolated.js';
import { hiddenYetRendered, layoutProblems, openPage, outputDir, screenshot, visibleButtons, visiblePanels, visibleText, waitServer, waitState } from './pages.js';

const WIDTHS = [360, 1280];

let server;
let port;
let url;
let chromium;
// Asks for the microphone as for a person; each context then grants or denies it.
let prompting;
let tmp;
let shots;

before(async () => {
  requireLoopbackOnly();
  tmp = mkdtempSync(join(tmpdir(), 'vc-screens-'));
  const wav = join(tmp, 'tone.wav');
  // Loud and steady, so "the peer hears it" and "the peer hears silence" are far apart.
  writeToneWav(wav, { frequency: 440, seconds: 3, amplitude: 0.5 });
  ({ server, port, url } = await startServer());
  chromium = await launchChromium({ wav });
  prompting = await launchChromium({ wav, permissionPrompts: true });
  shots = outputDir('screens');
});

after(async () => {
  await chromium?.close();
  await prompting?.close();
  await server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** B's received audio level as chromium measures it (0…1). */
const receivedLevel = (c) => c.page.evaluate(async () => (await window.voicecallTest.stats()).inbound?.audioLevel ?? 0);
const waitLevel = (c, above, below, timeout = 10_000) =>
  c.page.waitForFunction(
    async (lo, hi) => {
      const level = (await window.voicecallTest.stats()).inbound?.audioLevel ?? 0;
      return level > lo && level < hi;
    },
    { timeout, polling: 100 },
    above,
    below,
  );

async function kick(id) {
  const entry = await server.registry.lookup(id);
  assert.ok(entry?.online, `${id} is online`);
  server.io.of('/').sockets.get(entry.socketId).disconnect(true);
  return entry.socketId;
}

for (const width of WIDTHS) {
  describe(`at ${width} px`, () => {
    const viewport = { width, height: width < 600 ? 740 : 800 };
    // Every photographed state is also checked for elements that are hidden yet shown.
    const shot = async (c, name) => {
      await screenshot(c.page, shots, `${width}-${name}`);
      assert.deepEqual(await hiddenYetRendered(c.page), [], `${c.name}: ${name}`);
    };
    let a;
    let b;

    async function assertLayout(c) {
      assert.deepEqual(await layoutProblems(c.page), [], `${c.name} at ${width} px`);
    }

    before(async () => {
      a = await openPage(chromium, url, { name: 'A', viewport });
      b = await openPage(chromium, url, { name: 'B', viewport });
      for (const c of [a, b]) await c.page.evaluate(() => (window.voicecallTest.audioProcessing = false));
    });

    after(async () => {
      const problems = [...(a?.errors ?? []), ...(b?.errors ?? [])];
      const foreign = [...(a?.foreign ?? []), ...(b?.foreign ?? [])];
      await a?.context.close();
      await b?.context.close();
      assert.deepEqual(problems, [], 'page errors');
      assert.deepEqual(foreign, [], 'requests to anything but the server');
    });

    test('idle: Home with the own ID and the dial field; no incoming call, no offline notice', async () => {
      await shot(a, 'idle');
      assert.deepEqual(await visiblePanels(a.page), ['home']);
      assert.equal(await visibleText(a.page, '#my-id'), a.id);
      assert.equal(await visibleText(a.page, '#incoming'), null);
      assert.equal(await visibleText(a.page, '#caller'), null);
      assert.deepEqual(await visibleButtons(a.page), ['Copy', 'Call']);
      assert.equal(await visibleText(a.page, '#connection-text'), 'Connected to the server');
      assert.equal(await visibleText(a.page, '#keys'), 'Enter calls');
      await assertLayout(a);
    });

    test('A calls B with the keyboard; B rings with A’s ID; A sees Ringing…', async () => {
      await a.page.type('#peer-id', b.id);
      await a.page.keyboard.press('Enter');
      await waitState(b, 'ringing');
      await a.page.waitForFunction(() => document.getElementById('calling-progress').textContent === 'Ringing…', { timeout: 5000 });
      await shot(a, 'calling');
      await shot(b, 'ringing');

      assert.deepEqual(await visiblePanels(a.page), ['outgoing']);
      assert.equal(await visibleText(a.page, '#calling-title'), `Calling ${b.id}…`);
      assert.deepEqual(await visibleButtons(a.page), ['Copy', 'Cancel']);
      assert.equal(await visibleText(a.page, '#keys'), 'Esc cancels');

      assert.deepEqual(await visiblePanels(b.page), ['incoming']);
      assert.equal(await visibleText(b.page, '#caller'), a.id);
      assert.equal(await visibleText(b.page, '#incoming'), `Incoming call ${a.id} is calling you Accept Decline`);
      assert.deepEqual(await visibleButtons(b.page), ['Copy', 'Accept', 'Decline']);
      assert.equal(await b.page.title(), `Incoming call from ${a.id}`);
      assert.equal(await b.page.evaluate(() => window.voicecallTest.tone), 'ringtone');
      assert.equal(await a.page.evaluate(() => window.voicecallTest.tone), 'ringback');
      for (const c of [a, b]) await assertLayout(c);
    });

    test('B accepts: both in call with a running timer, the quality line and the same security code', async () => {
      await b.page.click('#accept');
      await Promise.all([waitState(a, 'in-call'), waitState(b, 'in-call')]);
      for (const c of [a, b]) {
        await c.page.waitForFunction(() => /^Good connection RTT (<1|\d+) ms · loss \d+\.\d % · jitter \d+ ms · \d+↑ \d+↓ kbit\/s$/.test(document.querySelector('.quality').textContent.trim().replace(/\s+/g, ' ')), { timeout: 10_000 });
        // The timer runs: it shows a later second than when first read.
        const first = await visibleText(c.page, '#call-status');
        assert.match(first, /^\d\d:\d\d$/);
        await c.page.waitForFunction((f) => document.getElementById('call-status').textContent > f, { timeout: 5000 }, first);
      }

      // The same code on both screens, and the one the desktop's formula gives for these two SDPs.
      const codes = [];
      for (const c of [a, b]) {
        await c.page.waitForFunction(() => window.voicecallTest.securityCode !== null, { timeout: 5000 });
        const sas = await visibleText(c.page, '#sas');
        const match = /^Security code (\d{3} \d{3}) — check it matches your peer’s$/.exec(sas);
        assert.ok(match, `${c.name}: ${sas}`);
        codes.push(match[1]);
      }
      assert.equal(codes[0], codes[1]);
      const da = await a.page.evaluate(() => window.voicecallTest.descriptions());
      const db = await b.page.evaluate(() => window.voicecallTest.descriptions());
      const expected = await verify({ localSdp: da.localSdp, remoteSdp: db.localSdp });
      assert.equal(expected.status, 'ready');
      assert.equal(codes[0], expected.code);

      await shot(a, 'in-call-caller');
      await shot(b, 'in-call-callee');
      for (const c of [a, b]) {
        assert.deepEqual(await visiblePanels(c.page), ['in-call']);
        assert.deepEqual(await visibleButtons(c.page), ['Copy', 'Mute', 'End call']);
        assert.equal(await visibleText(c.page, '#keys'), 'M mutes · Esc ends the call');
        await assertLayout(c);
      }
      assert.equal(await visibleText(a.page, '#in-call-peer'), b.id);
      assert.equal(await visibleText(b.page, '#in-call-peer'), a.id);
      for (const c of [a, b]) assert.equal(await c.page.evaluate(() => window.voicecallTest.tone), null);
    });

    test('M mutes A: B hears silence; M again and B hears A', async () => {
      await waitLevel(b, 0.05, 2);
      await a.page.keyboard.press('m');
      assert.equal(await visibleText(a.page, '#mute'), 'Unmute');
      assert.equal(await a.page.$eval('#mute', (el) => el.getAttribute('aria-pressed')), 'true');
      assert.equal(await visibleText(a.page, '#mic-state'), 'Microphone muted');
      await waitLevel(b, -1, 0.001);
      await shot(a, 'in-call-muted');
      await a.page.keyboard.press('m');
      assert.equal(await visibleText(a.page, '#mute'), 'Mute');
      await waitLevel(b, 0.05, 2);
      assert.ok((await receivedLevel(b)) > 0.05);
    });

    test('the server kicks A mid-call (io server disconnect): the call goes on, A is back with the same ID', async () => {
      const before = await kick(a.id);
      await a.page.waitForFunction(() => window.voicecallTest.log.some((e) => e.server === 'reconnecting'), { timeout: 5000 });
      await waitServer(a, 'online', 10_000);
      const entry = await server.registry.lookup(a.id);
      assert.ok(entry.online);
      assert.notEqual(entry.socketId, before);
      assert.equal(await a.page.evaluate(() => window.voicecallTest.id), a.id);
      assert.equal(await a.page.evaluate(() => window.voicecallTest.state), 'in-call');
      assert.equal(await b.page.evaluate(() => window.voicecallTest.state), 'in-call');
    });

    test('Esc ends the call: A sees “Hung up”, B “Hung up by peer”; Enter on OK returns Home', async () => {
      await a.page.keyboard.press('Escape');
      await Promise.all([waitState(a, 'ended'), waitState(b, 'ended')]);
      await shot(a, 'ended-hung-up');
      await shot(b, 'ended-hung-up-by-peer');
      for (const [c, peer, reason] of [
        [a, b.id, 'Hung up'],
        [b, a.id, 'Hung up by peer'],
      ]) {
        assert.deepEqual(await visiblePanels(c.page), ['ended']);
        assert.equal(await visibleText(c.page, '#ended-title'), `Call with ${peer} ended`);
        assert.equal(await visibleText(c.page, '#ended-reason'), reason);
        assert.match(await visibleText(c.page, '#ended-lasted'), /^Lasted \d\d:\d\d$/);
        assert.deepEqual(await visibleButtons(c.page), ['Copy', 'Call again', 'OK']);
        await assertLayout(c);
      }
      // Focus is on OK: Enter presses it.
      await a.page.keyboard.press('Enter');
      await b.page.keyboard.press('Escape');
      await Promise.all([waitState(a, 'idle'), waitState(b, 'idle')]);
      assert.deepEqual(await visiblePanels(a.page), ['home']);
      assert.deepEqual(await visiblePanels(b.page), ['home']);
    });

    test('Esc declines: B sees “Declined by you”, A “Declined”', async () => {
      await a.page.focus('#peer-id');
      await a.page.keyboard.press('Enter'); // the field still holds B's ID
      await waitState(b, 'ringing');
      await b.page.keyboard.press('Escape');
      await Promise.all([waitState(a, 'ended'), waitState(b, 'ended')]);
      assert.equal(await visibleText(a.page, '#ended-reason'), 'Declined');
      assert.equal(await visibleText(a.page, '#ended-lasted'), null);
      assert.equal(await visibleText(b.page, '#ended-reason'), 'Declined by you');
      await shot(a, 'ended-declined');
      for (const c of [a, b]) await c.page.evaluate(() => window.voicecallTest.dismiss());
    });

    test('Esc cancels a call before it is answered: B sees “Missed call”', async () => {
      await a.page.evaluate((id) => window.voicecallTest.call(id), b.id);
      await waitState(b, 'ringing');
      await a.page.keyboard.press('Escape');
      await Promise.all([waitState(a, 'ended'), waitState(b, 'ended')]);
      assert.equal(await visibleText(a.page, '#ended-reason'), 'Cancelled');
      assert.equal(await visibleText(b.page, '#ended-reason'), 'Missed call');
      await shot(b, 'ended-missed');
      for (const c of [a, b]) await c.page.evaluate(() => window.voicecallTest.dismiss());
    });

    test('the server goes away: Home says so and cannot call; the same IDs come back with it', async () => {
      await server.close();
      await Promise.all([waitServer(a, 'reconnecting'), waitServer(b, 'reconnecting')]);
      await shot(a, 'disconnected');
      assert.deepEqual(await visiblePanels(a.page), ['home', 'offline']);
      assert.match(await visibleText(a.page, '#connection-text'), /^Disconnected from the server; reconnecting/);
      assert.match(await visibleText(a.page, '#offline-text'), /^Disconnected from the server\. Reconnecting with your ID/);
      assert.deepEqual(await visibleButtons(a.page), ['Copy', 'Call (disabled)']);
      assert.equal(await visibleText(a.page, '#my-id'), a.id);
      await assertLayout(a);

      ({ server, url } = await startServer({ port }));
      await Promise.all([waitServer(a, 'online', 20_000), waitServer(b, 'online', 20_000)]);
      for (const c of [a, b]) {
        assert.equal(await c.page.evaluate(() => window.voicecallTest.id), c.id);
        assert.ok((await server.registry.lookup(c.id))?.online, `${c.name} registered again as ${c.id}`);
        assert.deepEqual(await visiblePanels(c.page), ['home']);
      }
      // Chromium reports the refused WebSocket connections as console errors.
      for (const c of [a, b]) c.errors.splice(0, c.errors.length, ...c.errors.filter((e) => !/WebSocket connection to|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)));
    });

    test('microphone denied: the call ends with a clear message, and the callee never rang', async () => {
      const c = await openPage(prompting, url, { name: 'C', viewport, microphone: 'denied' });
      try {
        await c.page.type('#peer-id', b.id);
        await c.page.keyboard.press('Enter');
        await waitState(c, 'ended');
        await shot(c, 'microphone-denied');
        assert.deepEqual(await visiblePanels(c.page), ['ended']);
        assert.equal(await visibleText(c.page, '#ended-reason'), 'Failed: microphone access was denied');
        assert.match(await visibleText(c.page, '#ended-hint'), /^Allow this site to use your microphone/);
        await assertLayout(c);
        assert.equal(await b.page.evaluate(() => window.voicecallTest.state), 'idle');
        assert.deepEqual(c.errors, []);
      } finally {
        await c.context.close();
      }
    });
  });
}
