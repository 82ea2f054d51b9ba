// Two legit socket.io-client users in a call with each other, in their own
// worker thread so their timing reflects the server, not the busy event
// loop of whoever is attacking it. They behave like the real clients:
//   - A calls B once (offer, B rings and answers); then, round after round,
//     A re-offers inside that call as an ICE restart does (offer → answer →
//     4 candidates each way) with a pause between rounds;
//   - an offer from anyone else is answered at once with `busy` (both the
//     desktop and the web client do that while in a call): the reflection
//     attack's victim.
// Every relayed message carries its send time, so each one's relay latency
// (send → receive, one clock) is measured.
//
// workerData: { port, pauseMs, roundTimeoutMs, localAddress, ids: { a, b } }
// (ids default to legit-a / legit-b, the victims the attacks aim at; further
// pairs are bystanders whose latencies add samples).
// Messages to the worker: 'window' → { type: 'window', latencies, rounds,
// failures, errors, disconnects } for the time since the last window (then
// reset); 'stop' → the same, totals, as { type: 'done', … }.

import { parentPort, workerData } from 'node:worker_threads';
import { io as ioc } from 'socket.io-client';

const { port, pauseMs = 150, roundTimeoutMs = 5000, localAddress = '127.0.0.1', ids = { a: 'legit-a', b: 'legit-b' } } = workerData;
const [A, B] = [ids.a, ids.b];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
let stop = false;

const fresh = () => ({ latencies: [], rounds: 0, failures: [], errors: [], disconnects: 0, busySent: 0, roundMs: [] });
let win = fresh();
const total = fresh();
const note = (key, value) => {
  for (const t of [win, total]) {
    if (Array.isArray(t[key])) t[key].push(value);
    else t[key] += value;
  }
};

const opts = { transports: ['websocket'], reconnection: false, forceNew: true, localAddress };
const a = ioc(`http://127.0.0.1:${port}`, { ...opts, auth: { id: A } });
const b = ioc(`http://127.0.0.1:${port}`, { ...opts, auth: { id: B } });
for (const s of [a, b]) {
  s.on('server_error', (e) => note('errors', e));
  s.on('disconnect', (reason) => {
    if (!stop) note('disconnects', 1);
    if (!stop) note('errors', { code: 'DISCONNECTED', reason });
  });
}
await Promise.all([a, b].map((s) => new Promise((r) => s.once('ice_servers', r))));

const CALL = `call-${A}`;
const stamp = () => now().toFixed(3);
const record = (sentAt) => note('latencies', now() - Number(sentAt));

// Strangers' offers: busy, as a client in a call does.
for (const [me, peer] of [[a, B], [b, A]]) {
  me.on('offer_sdp', (m) => {
    if (m.from === peer) return;
    me.emit('busy', { targetClientId: m.from, callId: m.callId });
    note('busySent', 1);
  });
}

// B answers A's (re-)offers and trickles its candidates.
b.on('offer_sdp', (m) => {
  if (m.from !== A) return;
  record(m.sdp.sdp.slice(2));
  b.emit('answer_sdp', { targetClientId: A, callId: CALL, sdp: { type: 'answer', sdp: `a ${stamp()}` } });
  for (let i = 0; i < 4; i++) b.emit('send_ice', { targetClientId: A, callId: CALL, candidate: `c ${stamp()}`, mid: '0', mLineIndex: 0 });
});

// The first offer is the call request; B rings first, as clients do.
b.once('offer_sdp', (m) => {
  if (m.from === A) b.emit('ringing', { targetClientId: A, callId: CALL });
});

function round(n) {
  const got = { answer: false, aIce: 0, bIce: 0 };
  return new Promise((resolve, reject) => {
    const listeners = [];
    const on = (s, event, fn) => {
      s.on(event, fn);
      listeners.push(() => s.off(event, fn));
    };
    const done = (err) => {
      clearTimeout(timer);
      for (const off of listeners) off();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`round ${n} timed out: ${JSON.stringify(got)}`)), roundTimeoutMs);
    const check = () => got.answer && got.aIce === 4 && got.bIce === 4 && done();
    on(a, 'answer_sdp', (m) => m.from === B && (record(m.sdp.sdp.slice(2)), (got.answer = true), check()));
    on(a, 'send_ice', (m) => m.from === B && (record(m.candidate.slice(2)), got.aIce++, check()));
    on(b, 'send_ice', (m) => m.from === A && (record(m.candidate.slice(2)), got.bIce++, check()));
    a.emit('offer_sdp', { targetClientId: B, callId: CALL, sdp: { type: 'offer', sdp: `o ${stamp()}` } });
    for (let i = 0; i < 4; i++) a.emit('send_ice', { targetClientId: B, callId: CALL, candidate: `c ${stamp()}`, mid: '0', mLineIndex: 0 });
  });
}

const summary = (t) => {
  const sorted = [...t.roundMs].sort((x, y) => x - y);
  return {
    latencies: t.latencies,
    rounds: t.rounds,
    failures: t.failures,
    errors: t.errors,
    disconnects: t.disconnects,
    busySent: t.busySent,
    maxRoundMs: sorted.at(-1) ?? 0,
    p50RoundMs: sorted[Math.floor(sorted.length / 2)] ?? 0,
  };
};

parentPort.on('message', (m) => {
  if (m === 'stop') stop = true;
  if (m === 'window') {
    parentPort.postMessage({ type: 'window', ...summary(win) });
    win = fresh();
  }
});
parentPort.postMessage('ready');

for (let n = 0; !stop; n++) {
  const t0 = now();
  try {
    await round(n);
    note('rounds', 1);
    note('roundMs', now() - t0);
  } catch (err) {
    note('failures', err.message);
  }
  await sleep(pauseMs);
}
a.emit('call_hangup', { targetClientId: B, callId: CALL });
await sleep(50);
a.close();
b.close();
parentPort.postMessage({ type: 'done', ...summary(total) });
