// Two legit socket.io-client users calling each other in a loop, in their
// own worker thread: their timing must reflect the server, not the fuzzer's
// busy event loop. Each round: offer → answer → 4 ICE each way → hangup,
// then a pause (a human-driven client's pace, far inside the rate limit).
//
// workerData: { port, pauseMs, roundTimeoutMs }. Post 'stop' to end; the
// worker answers with { rounds, failures, errors, maxRoundMs, p50RoundMs }.

import { parentPort, workerData } from 'node:worker_threads';
import { io as ioc } from 'socket.io-client';

const { port, pauseMs = 150, roundTimeoutMs = 5000 } = workerData;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let stop = false;
parentPort.on('message', (m) => {
  if (m === 'stop') stop = true;
});

const opts = { transports: ['websocket'], reconnection: false, forceNew: true };
const a = ioc(`http://127.0.0.1:${port}`, { ...opts, auth: { id: 'legit-a', token: 'tok_legit_aaaaaaaaaaaaaaaa' } });
const b = ioc(`http://127.0.0.1:${port}`, { ...opts, auth: { id: 'legit-b', token: 'tok_legit_bbbbbbbbbbbbbbbb' } });
const result = { rounds: 0, failures: [], errors: [], roundMs: [] };
for (const s of [a, b]) s.on('server_error', (e) => result.errors.push(e));
await Promise.all([a, b].map((s) => new Promise((r) => s.once('ice_servers', r))));
parentPort.postMessage('ready');

// B answers every offer and trickles its candidates.
b.on('offer_sdp', (m) => {
  b.emit('answer_sdp', { targetClientId: m.from, callId: m.callId, sdp: { type: 'answer', sdp: 'v=0 answer' } });
  for (let i = 0; i < 4; i++) b.emit('send_ice', { targetClientId: m.from, callId: m.callId, candidate: `b${i}`, mid: '0', mLineIndex: 0 });
});

function round(n) {
  const callId = `round-${n}`;
  const got = { answer: false, aIce: 0, offer: false, bIce: 0, hangup: false, sentHangup: false };
  return new Promise((resolve, reject) => {
    const listeners = [];
    const on = (s, event, fn) => {
      s.on(event, fn);
      listeners.push(() => s.off(event, fn));
    };
    const timer = setTimeout(() => {
      for (const off of listeners) off();
      reject(new Error(`round ${n} timed out: ${JSON.stringify(got)}`));
    }, roundTimeoutMs);
    const check = () => {
      if (got.answer && got.aIce === 4 && !got.sentHangup) {
        got.sentHangup = true;
        a.emit('call_hangup', { targetClientId: 'legit-b', callId });
      }
      if (got.offer && got.bIce === 4 && got.hangup) {
        clearTimeout(timer);
        for (const off of listeners) off();
        resolve();
      }
    };
    const mine = (m, from) => m.callId === callId && m.from === from;
    on(a, 'answer_sdp', (m) => mine(m, 'legit-b') && ((got.answer = true), check()));
    on(a, 'send_ice', (m) => mine(m, 'legit-b') && (got.aIce++, check()));
    on(b, 'offer_sdp', (m) => mine(m, 'legit-a') && ((got.offer = true), check()));
    on(b, 'send_ice', (m) => mine(m, 'legit-a') && (got.bIce++, check()));
    on(b, 'call_hangup', (m) => mine(m, 'legit-a') && ((got.hangup = true), check()));
    a.emit('offer_sdp', { targetClientId: 'legit-b', callId, sdp: { type: 'offer', sdp: 'v=0 offer' } });
    for (let i = 0; i < 4; i++) a.emit('send_ice', { targetClientId: 'legit-b', callId, candidate: `a${i}`, mid: '0', mLineIndex: 0 });
  });
}

for (let n = 0; !stop; n++) {
  const t0 = performance.now();
  try {
    await round(n);
    result.rounds++;
    result.roundMs.push(performance.now() - t0);
  } catch (err) {
    result.failures.push(err.message);
  }
  await sleep(pauseMs);
}
a.close();
b.close();
const sorted = [...result.roundMs].sort((x, y) => x - y);
parentPort.postMessage({
  rounds: result.rounds,
  failures: result.failures,
  errors: result.errors,
  maxRoundMs: sorted.at(-1) ?? 0,
  p50RoundMs: sorted[Math.floor(sorted.length / 2)] ?? 0,
});
