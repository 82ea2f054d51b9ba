// Load-generating child process for bench/load.js: holds many socket.io
// clients as caller/callee pairs and runs full call exchanges between them:
//   offer → answer → 4 ICE each way → hangup   (11 relayed messages)
// Both ends of a pair live in this process, so one clock measures each
// message's relay latency (send → receive). Every relayed message carries
// its send time: in the SDP text, the candidate string or the hangup reason.
//
// Clients come from many loopback addresses (127.<10+worker>.x.y, ten per
// address), as a real population does: the server budgets connections and
// traffic per address.
//
// IPC from the parent:
//   { cmd: 'grow', pairs, urls: [callerUrl, calleeUrl], connectRate, worker }
//   { cmd: 'measure' }            start a measurement window
//   { cmd: 'report' }             → { latencies, messages, exchanges, errors… }
//   { cmd: 'stop' }

import { io as ioc } from 'socket.io-client';

const INTERVAL_MS = Number(process.env.BENCH_EXCHANGE_INTERVAL_MS ?? 10_000);
const ICE_PER_SIDE = 4;
const EXCHANGE_TIMEOUT_MS = 5000;
const now = () => performance.now();

const pairs = [];
let stopped = false;
let window = newWindow();

function newWindow() {
  return { started: now(), latencies: [], messages: 0, exchanges: 0, serverErrors: {}, timeouts: 0, disconnects: 0, connectFailures: 0 };
}

const OPTIONS = {
  transports: ['websocket'], // no long-polling phase
  reconnection: false,
  forceNew: true, // one connection per simulated client
  perMessageDeflate: false, // engine.io-client compresses > 1 KB by default
  timeout: 20_000,
};

const CLIENTS_PER_ADDRESS = 10;
let clientCount = 0;
function nextAddress(worker) {
  const n = 1 + Math.floor(clientCount++ / CLIENTS_PER_ADDRESS);
  return `127.${10 + worker}.${(n >> 8) & 255}.${n & 255 || 1}`;
}

function connectClient(url, worker) {
  return new Promise((resolve) => {
    const socket = ioc(url, { ...OPTIONS, localAddress: nextAddress(worker) });
    const fail = () => {
      window.connectFailures++;
      socket.close();
      resolve(null);
    };
    socket.once('connect_error', fail);
    socket.once('your_id', (id) => (socket.vcId = id));
    socket.once('ice_servers', () => {
      socket.off('connect_error', fail);
      resolve(socket);
    });
    socket.on('server_error', (e) => (window.serverErrors[e.code] = (window.serverErrors[e.code] ?? 0) + 1));
    socket.on('disconnect', (reason) => {
      if (!stopped && reason !== 'io client disconnect') window.disconnects++;
    });
  });
}

// Pull the send time back out of whichever field carried it.
const stamp = (t) => t.toFixed(3);
function record(sentAt) {
  window.latencies.push(now() - Number(sentAt));
  window.messages++;
}

function setupPair(caller, callee) {
  const pair = { caller, callee, calleeId: callee.vcId, current: null };
  // Callee: answer every offer, trickle candidates back.
  callee.on('offer_sdp', (m) => {
    record(m.sdp.sdp.slice(5)); // after "v=0 o" / "v=0 a"
    callee.emit('answer_sdp', { targetClientId: m.from, callId: m.callId, sdp: { type: 'answer', sdp: `v=0 a${stamp(now())}` } });
    for (let i = 0; i < ICE_PER_SIDE; i++) callee.emit('send_ice', { targetClientId: m.from, callId: m.callId, candidate: `c${stamp(now())}`, mid: '0', mLineIndex: 0 });
  });
  callee.on('send_ice', (m) => record(m.candidate.slice(1)));
  callee.on('call_hangup', (m) => {
    record(m.reason.slice(1));
    const ex = pair.current;
    if (ex && ex.callId === m.callId) {
      clearTimeout(ex.timer);
      pair.current = null;
      window.exchanges++;
    }
  });
  caller.on('answer_sdp', (m) => {
    record(m.sdp.sdp.slice(5)); // after "v=0 o" / "v=0 a"
    for (let i = 0; i < ICE_PER_SIDE; i++) caller.emit('send_ice', { targetClientId: pair.calleeId, callId: m.callId, candidate: `c${stamp(now())}`, mid: '0', mLineIndex: 0 });
  });
  // The callee's candidates follow its answer (same sender, in order): once
  // all have arrived the caller hangs up, completing the exchange.
  caller.on('send_ice', (m) => {
    record(m.candidate.slice(1));
    const ex = pair.current;
    if (!ex || ex.callId !== m.callId || ++ex.iceIn < ICE_PER_SIDE) return;
    caller.emit('call_hangup', { targetClientId: pair.calleeId, callId: m.callId, reason: `h${stamp(now())}` });
  });
  return pair;
}

let callSeq = 0;
function startExchange(pair) {
  if (stopped) return;
  if (!pair.current) {
    const callId = `b${process.pid}-${callSeq++}`;
    pair.current = {
      callId,
      iceIn: 0,
      timer: setTimeout(() => {
        window.timeouts++;
        pair.current = null;
      }, EXCHANGE_TIMEOUT_MS),
    };
    pair.caller.emit('offer_sdp', { targetClientId: pair.calleeId, callId, sdp: { type: 'offer', sdp: `v=0 o${stamp(now())}` } });
  }
  // Jitter so the pairs do not synchronize into bursts.
  setTimeout(() => startExchange(pair), INTERVAL_MS * (0.8 + 0.4 * Math.random())).unref();
}

async function grow({ pairs: target, urls, connectRate, worker = 0 }) {
  const batch = 20;
  const pause = (batch / connectRate) * 1000;
  while (pairs.length < target && !stopped) {
    const n = Math.min(batch / 2, target - pairs.length);
    const t0 = now();
    const made = await Promise.all(
      Array.from({ length: n }, async () => {
        const [caller, callee] = await Promise.all([connectClient(urls[0], worker), connectClient(urls[1], worker)]);
        if (!caller || !callee) {
          caller?.close();
          callee?.close();
          return null;
        }
        return { caller, callee };
      }),
    );
    for (const m of made) {
      if (!m) continue;
      const pair = setupPair(m.caller, m.callee);
      pairs.push(pair);
      setTimeout(() => startExchange(pair), Math.random() * INTERVAL_MS).unref();
    }
    const spent = now() - t0;
    if (spent < pause) await new Promise((r) => setTimeout(r, pause - spent));
    if (made.every((m) => !m)) break; // server refuses connections: stop growing
  }
  process.send({ type: 'grown', pairs: pairs.length });
}

process.on('message', async (m) => {
  if (m.cmd === 'grow') await grow(m);
  else if (m.cmd === 'measure') window = newWindow();
  else if (m.cmd === 'report') {
    const w = window;
    process.send({
      type: 'report',
      seconds: (now() - w.started) / 1000,
      latencies: w.latencies,
      messages: w.messages,
      exchanges: w.exchanges,
      serverErrors: w.serverErrors,
      timeouts: w.timeouts,
      disconnects: w.disconnects,
      connectFailures: w.connectFailures,
      clients: pairs.length * 2,
    });
  } else if (m.cmd === 'stop') {
    stopped = true;
    for (const p of pairs) {
      p.caller.close();
      p.callee.close();
    }
    process.exit(0);
  }
});
process.send({ type: 'ready' });
