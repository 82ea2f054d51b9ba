// The web client's state → view mapping (public/view.js), without a browser:
// exactly one screen per state, what each shows, the call timer, the keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCREENS, formatClock, initialModel, keyAction, screenFor, view } from '../public/view.js';
import { reason } from '../public/reasons.js';
import { toneFor } from '../public/tones.js';

const model = (over = {}) => ({ ...initialModel(), server: 'online', myId: 'me1-abc-def', ...over });
const shown = (v) => Object.entries(v.panels).filter(([, on]) => on).map(([name]) => name);

test('every phase × server state shows exactly one screen; the offline panel only on Home', () => {
  for (const phase of ['idle', 'calling', 'ringing', 'connecting', 'in-call', 'ended']) {
    for (const server of ['connecting', 'online', 'reconnecting', 'offline']) {
      for (const myId of [null, 'me1-abc-def']) {
        const v = view(model({ phase, server, myId, peer: phase === 'idle' ? null : 'pe1-abc-def' }), 0);
        const screens = shown(v).filter((p) => SCREENS.includes(p));
        assert.equal(screens.length, 1, `${phase}/${server}/${myId}: ${screens}`);
        assert.equal(v.panels.offline, v.screen === 'home' && !(server === 'online' && myId), `${phase}/${server}/${myId}`);
      }
    }
  }
});

test('idle: Home only (no incoming panel), can call when online', () => {
  const v = view(model(), 0);
  assert.equal(v.screen, 'home');
  assert.deepEqual(shown(v), ['home']);
  assert.equal(v.panels.ringing, false);
  assert.equal(v.home.callEnabled, true);
  assert.equal(v.myId, 'me1-abc-def');
  assert.deepEqual(v.connection, { tone: 'ok', text: 'Connected to the server' });
  assert.equal(v.keys, 'Enter calls');
});

test('before the first ID: the starting screen; after it, a lost server shows Home with the offline panel', () => {
  assert.equal(screenFor(initialModel()), 'starting');
  const v = view(model({ server: 'reconnecting', reconnectAttempt: 3 }), 0);
  assert.deepEqual(shown(v), ['home', 'offline']);
  assert.equal(v.home.callEnabled, false);
  assert.equal(v.home.inputEnabled, true);
  assert.equal(v.connection.text, 'Disconnected from the server; reconnecting (attempt 3)…');
  assert.equal(v.keys, '');
  const replaced = view(model({ server: 'offline', serverDetail: 'this ID is now open in another tab or window', canReclaim: true }), 0);
  assert.deepEqual(replaced.connection, { tone: 'bad', text: 'Offline: this ID is now open in another tab or window' });
  assert.equal(replaced.offline.reclaim, true);
  assert.match(replaced.offline.text, /another tab/);
});

test('calling: who, and whether it rings; waiting for the microphone says so', () => {
  const v = view(model({ phase: 'calling', peer: 'pe1-abc-def' }), 0);
  assert.deepEqual(shown(v), ['calling']);
  assert.equal(v.calling.title, 'Calling pe1-abc-def…');
  assert.equal(v.calling.progress, 'Reaching them…');
  assert.equal(view(model({ phase: 'calling', peer: 'x', ringing: true }), 0).calling.progress, 'Ringing…');
  assert.match(view(model({ phase: 'calling', peer: 'x', waitingForMicrophone: true }), 0).calling.progress, /^Waiting for the microphone/);
  assert.equal(v.keys, 'Esc cancels');
});

test('ringing: the caller’s ID, Accept and Decline, the tab title', () => {
  const v = view(model({ phase: 'ringing', peer: 'ca1-abc-def' }), 0);
  assert.deepEqual(shown(v), ['ringing']);
  assert.deepEqual(v.ringing, { caller: 'ca1-abc-def', accept: 'Accept', decline: 'Decline' });
  assert.equal(v.title, 'Incoming call from ca1-abc-def');
  assert.equal(v.keys, 'Enter accepts · Esc declines');
});

test('in call: the timer from media start, reconnecting, mute, the security code', () => {
  const m = model({ phase: 'in-call', peer: 'pe1-abc-def', since: 1_000 });
  assert.equal(view(m, 1_000 + 187_000).inCall.status, '03:07');
  assert.equal(view({ ...m, mediaDown: true }, 1_000 + 65_400).inCall.status, '01:05 · reconnecting…');
  assert.equal(view({ ...m, phase: 'connecting', since: null }, 5_000).inCall.status, 'Connecting…');
  assert.equal(view(m, 0).inCall.muteLabel, 'Mute');
  const muted = view({ ...m, muted: true }, 0).inCall;
  assert.deepEqual([muted.muteLabel, muted.muted, muted.micLabel], ['Unmute', true, 'Microphone muted']);
  assert.equal(view(m, 0).inCall.verification.text, 'Security code: waiting for the connection…');
  const ready = view({ ...m, verification: { status: 'ready', code: '042 917' } }, 0).inCall.verification;
  assert.equal(ready.text, 'Security code 042 917 — check it matches your peer’s');
  assert.equal(ready.code, '042 917');
  assert.equal(view({ ...m, verification: { status: 'unavailable', why: 'x' } }, 0).inCall.verification.text, 'No security code: x');
  assert.equal(view(m, 0).inCall.quality.label, 'Measuring…');
});

test('ended: who, the reason as a headline, what to do about it', () => {
  const v = view(model({ phase: 'ended', peer: 'pe1-abc-def', endReason: reason('remote_hangup') }), 0);
  assert.deepEqual(shown(v), ['ended']);
  assert.equal(v.ended.title, 'Call with pe1-abc-def ended');
  assert.equal(v.ended.headline, 'Hung up by peer');
  assert.equal(v.ended.hint, '');
  assert.equal(v.ended.callAgain, true);
  assert.equal(v.ended.lasted, '');
  assert.equal(view(model({ phase: 'ended', peer: 'p', endReason: reason('hangup'), lasted: 133_500 }), 0).ended.lasted, 'Lasted 02:13');
  const mic = view(model({ phase: 'ended', peer: 'p', server: 'reconnecting', endReason: reason('failed', { detail: 'microphone access was denied', hint: 'Allow it.' }) }), 0);
  assert.equal(mic.ended.headline, 'Failed: microphone access was denied');
  assert.equal(mic.ended.hint, 'Allow it.');
  assert.equal(mic.ended.callAgain, false, 'no calling again while offline');
});

test('formatClock: as the desktop timer', () => {
  assert.equal(formatClock(0), '00:00');
  assert.equal(formatClock(187_999), '03:07');
  assert.equal(formatClock(3_723_000), '1:02:03');
  assert.equal(formatClock(-5), '00:00');
});

test('keys: Enter calls or accepts, Esc cancels, declines, ends or returns, M mutes in a call', () => {
  const k = (screen, key, extra = {}) => keyAction(screen, { key, ...extra });
  assert.equal(k('home', 'Enter'), 'call');
  assert.equal(k('home', 'Escape'), null);
  assert.equal(k('calling', 'Escape'), 'hangup');
  assert.equal(k('calling', 'Enter'), null);
  assert.equal(k('ringing', 'Enter'), 'accept');
  assert.equal(k('ringing', 'Escape'), 'decline');
  assert.equal(k('in-call', 'Escape'), 'hangup');
  assert.equal(k('in-call', 'm'), 'toggle-mute');
  assert.equal(k('in-call', 'M'), 'toggle-mute');
  assert.equal(k('in-call', 'm', { typing: true }), null);
  assert.equal(k('in-call', 'm', { ctrlKey: true, typing: true }), 'toggle-mute');
  assert.equal(k('home', 'm'), null);
  assert.equal(k('ended', 'Escape'), 'dismiss');
  assert.equal(k('ended', 'Enter'), 'dismiss');
  assert.equal(k('home', 'Enter', { ctrlKey: true }), null);
  assert.equal(k('ringing', 'Enter', { altKey: true }), null);
});

test('sounds: the ringtone while someone calls us, ringback while their app rings, else silence', () => {
  assert.equal(toneFor(model({ phase: 'ringing', peer: 'x' })), 'ringtone');
  assert.equal(toneFor(model({ phase: 'calling', peer: 'x', ringing: false })), null);
  assert.equal(toneFor(model({ phase: 'calling', peer: 'x', ringing: true })), 'ringback');
  for (const phase of ['idle', 'connecting', 'in-call', 'ended']) assert.equal(toneFor(model({ phase, peer: 'x' })), null, phase);
});
