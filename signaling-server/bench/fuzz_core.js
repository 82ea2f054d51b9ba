// The fuzzing harness behind `npm run fuzz` (bench/fuzz.js) and the small
// version in `npm test` (test/fuzz.test.js).
//
// A real server process (src/index.js, default abuse limits) gets malformed
// traffic from many raw WebSocket clients while two legit socket.io-client
// users stay in a call and keep renegotiating it (offer → answer → ICE both
// ways, one round at a time, at a pace a human-driven client could reach).
// The attackers come from loopback addresses of their own (127.0.1.x,
// 127.0.2.x) and the legit pair from 127.0.0.1, as on the internet.
// Checked: the server stays up, every legit round completes and the legit
// users never see an error, server RSS stays bounded.

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { startServerProcess } from '../test/support/server_process.js';
import { rawConnect } from './raw_client.js';

const EVENTS = ['offer_sdp', 'answer_sdp', 'send_ice', 'ringing', 'call_decline', 'call_hangup', 'busy'];
const pick = (arr) => arr[Math.floor(Math.random() * arr.length)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nest = (depth, leaf = 1, open = '[', close = ']') => open.repeat(depth) + JSON.stringify(leaf) + close.repeat(depth);

// Each generator returns a frame to send (string or [string, Buffer] for a
// binary event) and whether the server will close the connection for it.
const CATEGORIES = {
  'wrong types': () => `42${JSON.stringify([pick(EVENTS), pick([42, true, null, [1, 2], 'not json', '{"a":', '42', 'null', '[]', { targetClientId: 7 }, { targetClientId: 'zz-zz-zz', sdp: 5 }, { targetClientId: 'zz-zz-zz', candidate: {} }, { targetClientId: 'zz-zz-zz', candidate: 'c', mLineIndex: -1 }, { targetClientId: 'BAD ID', sdp: 'x' }, { targetClientId: 'zz-zz-zz', callId: 'bad call id!', sdp: 'x' }])])}`,
  'missing fields': () => `42${JSON.stringify([pick(EVENTS), pick([{}, { sdp: 'x' }, { candidate: 'c' }, { targetClientId: null }, '{}'])])}`,
  'huge strings': () => `42${JSON.stringify([pick(EVENTS), pick([{ targetClientId: 'a'.repeat(70_000) }, { targetClientId: 'zz-zz-zz', sdp: 'v'.repeat(70_000) }, 'x'.repeat(66_000), { targetClientId: 'zz-zz-zz', reason: 'r'.repeat(5000) }])])}`,
  'deep nesting (string)': () => `42${JSON.stringify([pick(EVENTS), `{"targetClientId":"zz-zz-zz","sdp":${nest(2000 + Math.floor(Math.random() * 20_000))}}`])}`,
  'deep nesting (frame)': () => ({ frame: `42["offer_sdp",${nest(1000 + Math.floor(Math.random() * 60_000), 1, '{"a":', '}')}]`, closes: true }),
  'huge arrays': () => `42${JSON.stringify(['offer_sdp', { targetClientId: 'zz-zz-zz', sdp: { type: 'offer', sdp: 'v', a: new Array(10_000 + Math.floor(Math.random() * 50_000)).fill(0) } }])}`,
  'unknown events': () => `42${JSON.stringify([pick(['hello', '__proto__', 'constructor', 'toString', 'x'.repeat(3000), 'your_id', 'registered', 'error', 'server_error', '', 'OFFER_SDP']), {}])}`,
  binary: () => ({ frame: [`451-${JSON.stringify([pick(EVENTS), { _placeholder: true, num: 0 }])}`, Buffer.from('{"targetClientId":"zz-zz-zz"}')] }),
  'broken packets': () => ({ frame: pick(['42[', '4x', '99', '42"str"', '42{}', '42[1,2]', '43', '4', '42[null]']), closes: true }),
  'unknown peers': () => `42${JSON.stringify([pick(EVENTS), { targetClientId: `nobody-${Math.floor(Math.random() * 1e6)}`, sdp: 'x', candidate: 'c', callId: 'fz' }])}`,
};

// Auth payloads after "40"; every one must be refused (or get a fresh ID).
const BAD_AUTH = ['{"id":"BAD ID!"}', '{"id":1}', '{"token":"short"}', '{"id":"legit-a"}', '{"id":"legit-a","token":"tok_wrongwrongwrongwrong"}', '{"token":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}', '[1,2]', '"str"', '{"id":"' + 'a'.repeat(5000) + '"}', '{"id":{"$gt":""}}', '{"token":' + nest(3000) + '}'];
// Source addresses: attacker sockets one each, garbage-auth connections
// rotating over many (each address may only open so many connections and
// register so many IDs).
const attackerAddress = (i) => `127.0.1.${1 + (i % 250)}`;
const authAddress = (i) => `127.0.${2 + Math.floor(i / 250) % 50}.${1 + (i % 250)}`;

function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * @param {object} opts
 * @param {number} opts.messages malformed messages to send in total (at least)
 * @param {number} opts.maxSeconds hard time limit
 * @param {number} [opts.attackers] paced attacker sockets
 * @param {number} [opts.floodSockets] sockets that flood as fast as possible
 * @param {number} [opts.floodPerSocket]
 * @param {(line: string) => void} [opts.progress]
 */
export async function runFuzz({ messages, maxSeconds, attackers = 64, floodSockets = 3, floodPerSocket = 5000, progress = () => {}, env = {}, nodeArgs = [] }) {
  // Production log level: every refused message costs a warn record, as it
  // would in a real deployment.
  const logDir = mkdtempSync(join(tmpdir(), 'vc-fuzz-'));
  const server = await startServerProcess({ LOG_LEVEL: 'info', ...env }, { logFile: join(logDir, 'server.log'), nodeArgs });
  const { port } = server;
  const pid = server.child.pid;
  const rss = { start: rssMb(pid), peak: 0, end: NaN };
  const rssTimer = setInterval(() => (rss.peak = Math.max(rss.peak, rssMb(pid))), 100);
  const started = Date.now();
  const deadline = started + maxSeconds * 1000;
  let stop = false;

  const stats = new Map(); // category → { sent, closes, errors: {code: n} }
  const stat = (cat) => {
    if (!stats.has(cat)) stats.set(cat, { sent: 0, closes: 0, errors: {} });
    return stats.get(cat);
  };
  let totalSent = 0;
  const count = (cat, n = 1) => {
    stat(cat).sent += n;
    totalSent += n;
  };

  // ---- the legit pair (own thread, see legit_pair.js) -------------------------
  const legitWorker = new Worker(new URL('./legit_pair.js', import.meta.url), { workerData: { port } });
  const legitDone = new Promise((resolve, reject) => {
    legitWorker.on('message', (m) => m?.type === 'done' && resolve(m));
    legitWorker.once('error', reject);
  });
  await new Promise((resolve, reject) => {
    legitWorker.once('message', resolve);
    legitWorker.once('error', reject);
  });

  // ---- attackers ---------------------------------------------------------------
  // One category per attacker socket, so every error it gets back is
  // attributed exactly. Categories whose frames close the connection send
  // far fewer messages (one per reconnect), which keeps most traffic on the
  // validation path.
  const names = Object.keys(CATEGORIES);
  // Generated once: building 70 KB strings and 60k-element arrays for every
  // message would make the harness, not the server, the bottleneck.
  const pools = Object.fromEntries(names.map((n) => [n, Array.from({ length: 32 }, () => CATEGORIES[n]())]));

  async function attacker(index) {
    const cat = names[index % names.length];
    let conn = null;
    const connect = async () => {
      conn = rawConnect(port, '', (event, arg) => {
        if (event === 'server_error' && arg?.code) {
          const s = stat(cat);
          s.errors[arg.code] = (s.errors[arg.code] ?? 0) + 1;
        }
      }, { localAddress: attackerAddress(index) });
      if (!(await conn.ready)) throw new Error('attacker could not connect');
    };
    await connect();
    while (!stop && totalSent < messages && Date.now() < deadline) {
      // 9 messages per 200 ms = 45/s: just under the default limit, so the
      // messages reach validation instead of the rate limiter.
      for (let i = 0; i < 9 && !stop; i++) {
        if (conn.ws.readyState !== conn.ws.OPEN) {
          // Closed by the server for something other than a frame we knew
          // would close it: count it and come back.
          stat(cat).closes++;
          await connect();
        }
        let out = pools[cat][(index + totalSent) % 32];
        if (typeof out === 'string') out = { frame: out };
        if (Array.isArray(out.frame)) for (const f of out.frame) conn.send(f);
        else conn.send(out.frame);
        count(cat);
        if (out.closes) {
          await Promise.race([conn.closed, sleep(2000)]);
          if (conn.ws.readyState !== conn.ws.CLOSED) conn.ws.terminate();
          else stat(cat).closes++;
          await connect();
          break;
        }
      }
      await sleep(200);
    }
    conn.ws.terminate();
  }

  async function flooder() {
    const cat = 'flood (one socket)';
    let cut = false;
    const conn = rawConnect(port, '', (event, arg) => {
      if (event === 'server_error') {
        const s = stat(cat);
        s.errors[arg.code] = (s.errors[arg.code] ?? 0) + 1;
      }
      if (event === 'disconnect') cut = true;
    }, { localAddress: '127.0.1.251' });
    await conn.ready;
    for (let i = 0; i < floodPerSocket && conn.ws.readyState === conn.ws.OPEN; i++) {
      conn.send('42["ringing",{"targetClientId":"zz-zz-zz"}]');
      count(cat);
      if (i % 500 === 499) await sleep(1); // let replies in
    }
    await Promise.race([conn.closed, sleep(3000)]);
    if (cut || conn.ws.readyState === conn.ws.CLOSED) stat(cat).closes++;
    conn.ws.terminate();
  }

  // Connections whose auth is refused (or, for non-object auth, ignored:
  // those get a fresh ID). Eight loops in parallel, each closing as soon as
  // the server has answered.
  async function badAuthLoop(loop) {
    const cat = 'garbage auth';
    const perLoop = Math.max(25, Math.ceil(messages / 800));
    for (let i = 0; i < perLoop && !stop && totalSent < messages && Date.now() < deadline; i++) {
      const auth = BAD_AUTH[(loop + i * 8) % BAD_AUTH.length];
      let answered;
      const answer = new Promise((r) => (answered = r));
      const conn = rawConnect(port, auth, (event, arg) => {
        if (event === 'server_error') {
          const s = stat(cat);
          s.errors[arg.code] = (s.errors[arg.code] ?? 0) + 1;
          answered();
        }
        if (event === 'ice_servers') {
          stat(cat).errors.accepted = (stat(cat).errors.accepted ?? 0) + 1;
          answered();
        }
      }, { localAddress: authAddress(loop * perLoop + i) });
      count(cat);
      await Promise.race([answer, conn.closed, sleep(1000)]);
      await Promise.race([conn.closed, sleep(50)]);
      if (conn.ws.readyState === conn.ws.CLOSED) stat(cat).closes++;
      conn.ws.terminate();
    }
  }

  const progressTimer = setInterval(() => {
    progress(`  ${((Date.now() - started) / 1000).toFixed(0)} s: ${totalSent} malformed sent, server RSS ${rssMb(pid).toFixed(0)} MB`);
  }, 5000);

  let attackError = null;
  try {
    await Promise.all([
      ...Array.from({ length: attackers }, (_, i) => attacker(i)),
      ...Array.from({ length: floodSockets }, () => flooder()),
      ...Array.from({ length: 8 }, (_, i) => badAuthLoop(i)),
    ]);
  } catch (err) {
    attackError = err;
  }
  stop = true;
  legitWorker.postMessage('stop');
  const legit = await legitDone;
  // Its message listener would keep the worker (and this process) alive.
  await legitWorker.terminate();
  clearInterval(progressTimer);

  // The server must still answer and accept new clients.
  const health = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);
  const alive = server.child.exitCode === null;
  await sleep(300);
  rss.end = rssMb(pid);
  clearInterval(rssTimer);
  await server.kill('SIGTERM');
  const logBytes = statSync(join(logDir, 'server.log')).size;
  rmSync(logDir, { recursive: true, force: true });

  return {
    seconds: (Date.now() - started) / 1000,
    totalSent,
    categories: [...stats.entries()].map(([name, s]) => ({ name, ...s })),
    legit,
    rss,
    health,
    alive,
    attackError: attackError?.message ?? null,
    logBytes,
  };
}

/** The summary as an aligned text table. */
export function formatSummary(r) {
  const codes = [...new Set(r.categories.flatMap((c) => Object.keys(c.errors)))].sort();
  const header = ['category', 'sent', 'conn closed', ...codes];
  const rows = r.categories.map((c) => [c.name, String(c.sent), String(c.closes), ...codes.map((k) => String(c.errors[k] ?? 0))]);
  rows.push(['TOTAL', String(r.totalSent), '', ...codes.map((k) => String(r.categories.reduce((n, c) => n + (c.errors[k] ?? 0), 0)))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    '',
    `legit rounds completed: ${r.legit.rounds} (failed: ${r.legit.failures.length}, errors seen by legit clients: ${r.legit.errors.length}; round time median ${r.legit.p50RoundMs.toFixed(0)} ms, slowest ${r.legit.maxRoundMs.toFixed(0)} ms)`,
    `server RSS MB: start ${r.rss.start.toFixed(1)}, peak ${r.rss.peak.toFixed(1)}, end ${r.rss.end.toFixed(1)}`,
    `server alive: ${r.alive}, /healthz: ${r.health}, duration ${r.seconds.toFixed(1)} s, server log ${(r.logBytes / 1e6).toFixed(1)} MB (LOG_LEVEL=info)`,
  ].join('\n');
}

/** Problems that make the run a failure (empty = pass). */
export function judge(r, { minMessages, maxPeakRssMb }) {
  const problems = [];
  if (!r.alive || r.health !== 200) problems.push('server is not healthy after the run');
  if (r.attackError) problems.push(`harness error: ${r.attackError}`);
  if (r.totalSent < minMessages) problems.push(`only ${r.totalSent} malformed messages sent (< ${minMessages})`);
  if (r.legit.rounds < 1) problems.push('no legit round completed');
  if (r.legit.failures.length) problems.push(`legit rounds failed: ${r.legit.failures.slice(0, 3).join('; ')}`);
  if (r.legit.errors.length) problems.push(`legit clients got errors: ${JSON.stringify(r.legit.errors.slice(0, 3))}`);
  if (!(r.rss.peak < maxPeakRssMb)) problems.push(`server RSS peaked at ${r.rss.peak.toFixed(0)} MB (limit ${maxPeakRssMb})`);
  const flood = r.categories.find((c) => c.name === 'flood (one socket)');
  if (flood && flood.closes === 0) problems.push('flooding sockets were not disconnected');
  return problems;
}
