// The web client's call state machine (public/controller.js) with a fake
// microphone, fake peer connections and mocked timers: the desktop's phases,
// timeouts, wire reasons, glare rule and ICE restarts, without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createController } from '../public/controller.js';

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

function fakeStream() {
  const track = { stopped: false, stop() { this.stopped = true; } };
  return { track, getTracks: () => [track], getAudioTracks: () => [track] };
}

function fakeHandle(opts) {
  const h = {
    opts,
    answers: [],
    acceptedAnswers: [],
    candidates: [],
    restarts: 0,
    muted: null,
    closed: false,
    stats: [],
    pc: { getStats: async () => new Map(h.stats.map((s) => [s.id, s])) },
    async start() {
      opts.send('offer_sdp', { targetClientId: opts.peerId, callId: opts.callId, sdp: 'offer' });
    },
    async answer(sdp) {
      h.answers.push(sdp);
      opts.send('answer_sdp', { targetClientId: opts.peerId, callId: opts.callId, sdp: 'answer' });
    },
    async restartIce() {
      h.restarts += 1;
    },
    async acceptAnswer(sdp) {
      h.acceptedAnswers.push(sdp);
    },
    addCandidate: (c) => h.candidates.push(c),
    descriptions: () => ({ localSdp: 'local', remoteSdp: 'remote' }),
    setMuted(m) {
      h.muted = m;
    },
    close() {
      h.closed = true;
    },
  };
  return h;
}

/** A registered, online controller; `t` mocks setTimeout. */
function harness(t, { myId = 'mmm-mmm-mmm', micError = null } = {}) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let clock = 1_000_000;
  let n = 0;
  const sent = [];
  const handles = [];
  const streams = [];
  const media = {
    openMicrophone: async () => {
      if (h.micError) throw h.micError;
      const s = fakeStream();
      streams.push(s);
      return s;
    },
    createCall: (opts) => {
      const handle = fakeHandle(opts);
      handles.push(handle);
      return handle;
    },
    newCallId: () => `c${++n}`,
  };
  const verified = [];
  const controller = createController({
    send: (event, payload) => sent.push([event, payload]),
    media,
    verify: async (d) => {
      verified.push(d);
      return { status: 'ready', code: '123 456' };
    },
    now: () => clock,
    timers: { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (id) => clearTimeout(id) },
  });
  controller.onStatus({ server: 'online', detail: null, attempt: 0, canReclaim: false });
  controller.onRegistered({ id: myId, reclaimed: false, previousId: null });
  controller.onIceServers({ iceServers: [], ttl: 0 });
  const h = {
    controller,
    m: controller.model,
    sent,
    handles,
    streams,
    verified,
    micError,
    advance(ms) {
      clock += ms;
      t.mock.timers.tick(ms);
    },
    /** Events sent since the last call, as [event, reason?]. */
    drain() {
      const out = sent.splice(0).map(([event, p]) => (p.reason ? [event, p.reason] : [event]));
      return out;
    },
    from: (peer, event, payload = {}) => controller.onMessage(event, { from: peer, ...payload }),
  };
  return h;
}

/** Caller: placed, offered, answered and connected. */
async function connectedCall(h, peer = 'ppp-ppp-ppp') {
  assert.equal(h.controller.placeCall(peer), null);
  await flush();
  const callId = h.controller.call.callId;
  h.from(peer, 'ringing', { callId });
  h.from(peer, 'answer_sdp', { callId, sdp: 'answer' });
  await flush();
  h.handles.at(-1).opts.onConnectionState('connected');
  await flush();
  return callId;
}

test('caller: calling → ringing → connecting → in call with the security code; hang up tells the peer', async (t) => {
  const h = harness(t);
  h.controller.placeCall('  PPP-ppp-ppp ');
  assert.equal(h.m.phase, 'calling');
  assert.equal(h.m.peer, 'ppp-ppp-ppp');
  await flush();
  assert.deepEqual(h.drain(), [['offer_sdp']]);
  const callId = h.controller.call.callId;
  h.from('ppp-ppp-ppp', 'ringing', { callId });
  assert.equal(h.m.ringing, true);
  h.from('ppp-ppp-ppp', 'ringing', { callId: 'other-call' });
  h.from('ppp-ppp-ppp', 'answer_sdp', { callId, sdp: 'answer' });
  assert.equal(h.m.phase, 'connecting');
  await flush();
  assert.deepEqual(h.handles[0].acceptedAnswers, ['answer']);
  h.from('ppp-ppp-ppp', 'send_ice', { callId, candidate: 'c1', mid: '0' });
  assert.equal(h.handles[0].candidates.length, 1);
  h.advance(3000);
  h.handles[0].opts.onConnectionState('connected');
  assert.equal(h.m.phase, 'in-call');
  assert.equal(h.m.since, 1_003_000);
  await flush();
  assert.deepEqual(h.m.verification, { status: 'ready', code: '123 456' });
  assert.deepEqual(h.verified, [{ localSdp: 'local', remoteSdp: 'remote' }]);

  h.controller.setMuted(true);
  assert.equal(h.handles[0].muted, true);
  assert.equal(h.m.muted, true);

  h.advance(65_000);
  h.controller.hangup();
  assert.equal(h.m.phase, 'ended');
  assert.equal(h.m.endReason.code, 'hangup');
  assert.equal(h.m.lasted, 65_000);
  assert.deepEqual(h.drain(), [['call_hangup', 'hangup']]);
  assert.equal(h.handles[0].closed, true);
  assert.equal(h.m.muted, false);
  h.controller.dismiss();
  assert.equal(h.m.phase, 'idle');
  assert.equal(h.m.peer, null);
});

test('IDs that cannot be called get a notice and no call', (t) => {
  const h = harness(t);
  assert.match(h.controller.placeCall('mmm-mmm-mmm'), /your own ID/);
  assert.match(h.controller.placeCall('no spaces'), /not an ID/);
  assert.match(h.controller.placeCall(''), /Type the ID/);
  h.controller.onStatus({ server: 'reconnecting', detail: 'x', attempt: 1, canReclaim: false });
  assert.match(h.controller.placeCall('ppp-ppp-ppp'), /Not connected/);
  assert.equal(h.m.phase, 'idle');
  assert.deepEqual(h.sent, []);
});

test('nobody answers in 45 s: no answer, and the callee is told', async (t) => {
  const h = harness(t);
  h.controller.placeCall('ppp-ppp-ppp');
  await flush();
  h.drain();
  h.advance(44_999);
  assert.equal(h.m.phase, 'calling');
  h.advance(1);
  assert.equal(h.m.endReason.code, 'no_answer');
  assert.deepEqual(h.drain(), [['call_hangup', 'no_answer']]);
});

test('the peer declines, is busy, or is not online', async (t) => {
  const h = harness(t);
  for (const [event, payload, code] of [
    ['call_decline', { reason: 'declined' }, 'declined'],
    ['call_decline', { reason: 'busy' }, 'busy'],
    ['busy', {}, 'busy'],
    ['call_hangup', { reason: 'no_answer' }, 'no_answer'],
  ]) {
    h.controller.placeCall('ppp-ppp-ppp');
    await flush();
    h.from('ppp-ppp-ppp', event, { callId: h.controller.call.callId, ...payload });
    assert.equal(h.m.endReason?.code, code, event);
    h.controller.dismiss();
  }
  h.controller.placeCall('ppp-ppp-ppp');
  await flush();
  h.controller.onServerError({ code: 'PEER_NOT_FOUND', message: 'peer ppp-ppp-ppp is not online', event: 'offer_sdp', targetClientId: 'ppp-ppp-ppp', callId: h.controller.call.callId });
  assert.equal(h.m.endReason.code, 'peer_not_found');
  h.drain();
});

test('cancel before the answer: cancel goes out (the callee shows a missed call)', async (t) => {
  const h = harness(t);
  h.controller.placeCall('ppp-ppp-ppp');
  await flush();
  h.drain();
  h.controller.hangup();
  assert.equal(h.m.endReason.code, 'cancelled');
  assert.deepEqual(h.drain(), [['call_hangup', 'cancel']]);
});

test('callee: rings and says so, candidates wait for the accept, accept answers', async (t) => {
  const h = harness(t);
  h.from('ccc-ccc-ccc', 'offer_sdp', { callId: 'k1', sdp: 'offer' });
  assert.equal(h.m.phase, 'ringing');
  assert.equal(h.m.peer, 'ccc-ccc-ccc');
  assert.deepEqual(h.sent, [['ringing', { targetClientId: 'ccc-ccc-ccc', callId: 'k1' }]]);
  h.drain();
  h.from('ccc-ccc-ccc', 'send_ice', { callId: 'k1', candidate: 'c1' });
  h.from('ccc-ccc-ccc', 'send_ice', { callId: 'k0', candidate: 'stale' });
  h.controller.accept();
  assert.equal(h.m.phase, 'connecting');
  await flush();
  const handle = h.handles[0];
  assert.deepEqual(handle.answers, ['offer']);
  assert.deepEqual(handle.candidates.map((c) => c.candidate), ['c1']);
  assert.deepEqual(h.drain(), [['answer_sdp']]);
  // Connecting longer than 20 s: could not connect, and the caller is told.
  h.advance(20_000);
  assert.equal(h.m.endReason.code, 'connect_failed');
  assert.deepEqual(h.drain(), [['call_hangup', 'connect_failed']]);
});

test('callee: decline, ring timeout, the caller giving up', async (t) => {
  const h = harness(t);
  h.from('ccc-ccc-ccc', 'offer_sdp', { callId: 'k1', sdp: 'offer' });
  h.drain();
  h.controller.decline();
  assert.equal(h.m.endReason.code, 'declined_locally');
  assert.deepEqual(h.drain(), [['call_decline', 'declined']]);

  // A new caller rings while the ended screen shows.
  h.from('ccc-ccc-ccc', 'offer_sdp', { callId: 'k2', sdp: 'offer' });
  assert.equal(h.m.phase, 'ringing');
  h.drain();
  h.advance(45_000);
  assert.equal(h.m.endReason.code, 'missed');
  assert.deepEqual(h.drain(), [['call_decline', 'no_answer']]);

  h.from('ccc-ccc-ccc', 'offer_sdp', { callId: 'k3', sdp: 'offer' });
  h.from('ccc-ccc-ccc', 'call_hangup', { callId: 'k3', reason: 'cancel' });
  assert.equal(h.m.endReason.code, 'missed');
});

test('a second caller while in a call gets busy; the same caller dialling again rings anew', async (t) => {
  const h = harness(t);
  h.from('ccc-ccc-ccc', 'offer_sdp', { callId: 'k1', sdp: 'offer' });
  h.drain();
  h.from('ddd-ddd-ddd', 'offer_sdp', { callId: 'z1', sdp: 'offer' });
  assert.deepEqual(h.sent.splice(0), [['busy', { targetClientId: 'ddd-ddd-ddd', callId: 'z1' }]]);
  h.from('ccc-ccc-ccc', 'offer_sdp', { callId: 'k1', sdp: 'offer' });
  assert.deepEqual(h.sent, [], 'a duplicate offer is ignored');
  h.from('ccc-ccc-ccc', 'offer_sdp', { callId: 'k2', sdp: 'offer2' });
  assert.deepEqual(h.sent.splice(0), [['ringing', { targetClientId: 'ccc-ccc-ccc', callId: 'k2' }]]);
  h.controller.accept();
  await flush();
  assert.deepEqual(h.handles[0].answers, ['offer2']);
});

test('glare: the greater ID answers the other’s offer without ringing; the smaller keeps its own', async (t) => {
  const big = harness(t, { myId: 'zzz-zzz-zzz' });
  big.controller.placeCall('aaa-aaa-aaa');
  await flush();
  big.drain();
  big.from('aaa-aaa-aaa', 'offer_sdp', { callId: 'theirs', sdp: 'their-offer' });
  assert.equal(big.m.phase, 'connecting');
  await flush();
  assert.equal(big.handles[0].closed, true);
  assert.deepEqual(big.handles[1].answers, ['their-offer']);
  assert.equal(big.controller.call.callId, 'theirs');
  assert.deepEqual(big.drain(), [['answer_sdp']]);
  t.mock.timers.reset();

  const small = harness(t, { myId: 'aaa-aaa-aaa' });
  small.controller.placeCall('zzz-zzz-zzz');
  await flush();
  small.drain();
  small.from('zzz-zzz-zzz', 'offer_sdp', { callId: 'theirs', sdp: 'their-offer' });
  assert.equal(small.m.phase, 'calling');
  assert.deepEqual(small.drain(), []);
});

test('media path down: the caller restarts ICE at once and every 1.5 s; back within 6 s the call goes on, else connection lost', async (t) => {
  const h = harness(t);
  const callId = await connectedCall(h);
  const handle = h.handles[0];
  h.drain();
  handle.opts.onConnectionState('disconnected');
  assert.equal(h.m.mediaDown, true);
  assert.equal(handle.restarts, 1);
  h.advance(1500);
  assert.equal(handle.restarts, 2);
  // The answer to a restart is applied in the call.
  h.from('ppp-ppp-ppp', 'answer_sdp', { callId, sdp: 'answer-2' });
  await flush();
  assert.deepEqual(handle.acceptedAnswers, ['answer', 'answer-2']);
  handle.opts.onConnectionState('connected');
  assert.equal(h.m.mediaDown, false);
  h.advance(10_000);
  assert.equal(h.m.phase, 'in-call');
  assert.equal(handle.restarts, 2);

  handle.opts.onConnectionState('disconnected');
  h.advance(5_999);
  assert.equal(h.m.phase, 'in-call');
  h.advance(1);
  assert.equal(h.m.endReason.code, 'connection_lost');
  assert.deepEqual(h.drain(), [['call_hangup', 'connection_lost']]);
});

test('callee in a call: a re-offer of the same call is answered (the peer restarts ICE), not called busy', async (t) => {
  const h = harness(t);
  h.from('ccc-ccc-ccc', 'offer_sdp', { callId: 'k1', sdp: 'offer' });
  h.controller.accept();
  await flush();
  h.handles[0].opts.onConnectionState('connected');
  h.drain();
  h.from('ccc-ccc-ccc', 'offer_sdp', { callId: 'k1', sdp: 'restart' });
  await flush();
  assert.deepEqual(h.handles[0].answers, ['offer', 'restart']);
  assert.deepEqual(h.drain(), [['answer_sdp']]);
  // The callee does not restart ICE itself.
  h.handles[0].opts.onConnectionState('disconnected');
  assert.equal(h.handles[0].restarts, 0);
  // The peer's words for why it ended.
  h.from('ccc-ccc-ccc', 'call_hangup', { callId: 'k1', reason: 'connection_lost' });
  assert.equal(h.m.endReason.code, 'connection_lost');
});

test('the quality line from getStats every second in a call', async (t) => {
  const h = harness(t);
  await connectedCall(h);
  const handle = h.handles[0];
  const stats = (received, bytes) => [
    { id: 'I', type: 'inbound-rtp', kind: 'audio', packetsReceived: received, packetsLost: 0, bytesReceived: bytes, jitter: 0.002 },
    { id: 'O', type: 'outbound-rtp', kind: 'audio', bytesSent: bytes },
  ];
  handle.stats = stats(50, 4000);
  h.advance(1000);
  await flush();
  assert.equal(h.m.quality.kbpsIn, null);
  handle.stats = stats(100, 8000);
  h.advance(1000);
  await flush();
  assert.equal(Math.round(h.m.quality.kbpsIn), 32);
  assert.equal(h.m.quality.lossPercent, 0);
});

test('microphone denied: the call ends before any offer, with what to do', async (t) => {
  const h = harness(t);
  h.micError = Object.assign(new Error('microphone: Permission denied'), { name: 'MicrophoneError', cause: { name: 'NotAllowedError', message: 'Permission denied' } });
  h.controller.placeCall('ppp-ppp-ppp');
  await flush();
  assert.equal(h.m.phase, 'ended');
  assert.equal(h.m.endReason.detail, 'microphone access was denied');
  assert.match(h.m.endReason.hint, /Allow this site/);
  assert.equal(h.m.waitingForMicrophone, false);
  assert.deepEqual(h.sent, []);

  // Accepting with the microphone denied tells the caller the call failed.
  h.from('ccc-ccc-ccc', 'offer_sdp', { callId: 'k1', sdp: 'offer' });
  h.drain();
  h.controller.accept();
  await flush();
  assert.equal(h.m.endReason.detail, 'microphone access was denied');
  assert.deepEqual(h.drain(), [['call_hangup', 'failed']]);
});

test('TURN credentials near expiry are refreshed before a call (2 s at most)', async (t) => {
  const h = harness(t);
  h.controller.onIceServers({ iceServers: [{ urls: ['turn:old'] }], ttl: 60 });
  h.controller.placeCall('ppp-ppp-ppp');
  await flush();
  assert.deepEqual(h.drain(), [['get_ice_servers']]);
  h.controller.onIceServers({ iceServers: [{ urls: ['turn:new'] }], ttl: 86_400 });
  await flush();
  assert.deepEqual(h.handles[0].opts.iceServers, [{ urls: ['turn:new'] }]);
  h.controller.hangup();
  h.controller.dismiss();
  h.controller.onIceServers({ iceServers: [{ urls: ['turn:old'] }], ttl: 60 });
  h.controller.placeCall('ppp-ppp-ppp');
  await flush();
  h.advance(2000);
  await flush();
  assert.deepEqual(h.handles[1].opts.iceServers, [{ urls: ['turn:old'] }]);
});
