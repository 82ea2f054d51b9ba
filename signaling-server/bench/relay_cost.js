#!/usr/bin/env node
// node bench/relay_cost.js [--messages 20000] [--rounds 3] [--tree OTHER/signaling-server]
//   [--format seed|object]
//   [--cpu-prof [--cpu-prof-interval 100]]
//
// CPU time per relayed message, with as little else measured as possible:
// one process holds a server and two socket.io clients on loopback, and
// feeds seed-format `offer_sdp` frames (~1.3 KB, a JSON string payload)
// to the server's side of client A's WebSocket as ws hands them over
// (a 'message' event with the frame's Buffer: everything after ws's own
// frame parsing runs, this server's frame gate included), 100 at a time,
// while client B receives the relays. No load generator, no network reads
// on the server side, no other process's share of the machine in the
// figure: what bench/throughput.js cannot resolve on a busy machine (a few
// µs per message) shows here. Both servers in the same run, each in a fresh
// child process, alternating (bare, ours, ours, bare, …); the median of each.
//
// "ours" is this server with every check running but budgets too large to
// refuse anything (test/helpers.js's RELAXED_LIMITS): a refused frame would
// not be relayed and would cost less. The clients' side (receiving and
// decoding the relays) is in both figures alike, so the difference is the
// servers'.
//
// --format object sends the payload as the native client does, an object
// with the SDP as {type, sdp}, instead of the seed's JSON string.
//
// --tree measures another build of this server as well (e.g. main's
// `git archive` with a node_modules), in the same rounds: bare, ours,
// other, then the reverse order, and so on.

import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    tree: { type: 'string' },
    format: { type: 'string', default: 'seed' },
    child: { type: 'string' },
    'child-tree': { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    // µs between samples (V8's default, 1000, gives too few for µs-sized costs)
    'cpu-prof-interval': { type: 'string', default: '100' },
  },
});
const HERE = fileURLToPath(new URL('..', import.meta.url));
const MESSAGES = Number(args.messages);
const BATCH = 100;
// --cpu-prof: one profile per child (per round and server) of the measured
// messages only (not the start-up or the warm-up), for bench/profile_summary.js
// (--per N prints µs per message).
const PROFILE_DIR = join(tmpdir(), 'relay-cost-profiles');

/** Profile `fn` with V8's sampler; writes PROFILE_DIR/<name>.cpuprofile. */
async function profiled(name, fn) {
  if (!args['cpu-prof']) return fn();
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: Number(args['cpu-prof-interval']) });
  await session.post('Profiler.start');
  const result = await fn();
  const { profile } = await session.post('Profiler.stop');
  mkdirSync(PROFILE_DIR, { recursive: true });
  writeFileSync(join(PROFILE_DIR, `${name}.cpuprofile`), JSON.stringify(profile));
  session.disconnect();
  return result;
}

async function measureHere(target, tree) {
  const { io: ioc } = await import('socket.io-client');
  const { SEED_SDP } = await import('./seed_sdp.js');
  const load = (path) => import(pathToFileURL(resolve(tree, path)).href);
  let io;
  let port;
  if (target !== 'bare') {
    const { createSignalingServer } = await load('src/server.js');
    const { silentLogger } = await load('src/log.js');
    const { RELAXED_LIMITS } = await load('test/helpers.js');
    const server = createSignalingServer({ port: 0, host: '127.0.0.1', ...RELAXED_LIMITS }, { logger: silentLogger });
    ({ port } = await server.listen());
    io = server.io;
  } else {
    const { createBareRelay } = await import('./bare_relay.js');
    const relay = createBareRelay({ pingInterval: 5000, pingTimeout: 5000 });
    await new Promise((resolve) => relay.httpServer.listen(0, '127.0.0.1', resolve));
    port = relay.httpServer.address().port;
    io = relay.io;
  }
  const connect = () =>
    new Promise((resolve, reject) => {
      const socket = ioc(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
      socket.once('your_id', (id) => resolve({ socket, id }));
      socket.once('connect_error', reject);
    });
  const a = await connect();
  const fromA = [...io.of('/').sockets.values()][0];
  const b = await connect();
  let received = 0;
  b.socket.on('offer_sdp', () => received++);
  const payload =
    args.format === 'object'
      ? { targetClientId: b.id, sdp: { type: 'offer', sdp: SEED_SDP } }
      : JSON.stringify({ targetClientId: b.id, sdp: JSON.stringify({ type: 'offer', sdp: SEED_SDP }) });
  // An Engine.IO message holding a Socket.IO EVENT packet, as ws delivers a
  // text frame (a Buffer, isBinary false).
  const frame = Buffer.from(`42${JSON.stringify(['offer_sdp', payload])}`);
  const ws = fromA.conn.transport.socket;
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  async function feed(n) {
    received = 0;
    for (let sent = 0; sent < n; sent += BATCH) {
      for (let i = 0; i < BATCH; i++) ws.emit('message', frame, false);
      // Let the relays go out and B read them before the next batch.
      await turn();
      await turn();
    }
    while (received < n) await turn();
  }
  await feed(Math.min(5000, MESSAGES)); // warm-up: JIT, buffers
  const { cpu, wallMs } = await profiled(`${target}-${process.pid}`, async () => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await feed(MESSAGES);
    return { cpu: process.cpuUsage(cpu0), wallMs: performance.now() - t0 };
  });
  a.socket.close();
  b.socket.close();
  return { target, cpuUs: (cpu.user + cpu.system) / MESSAGES, userUs: cpu.user / MESSAGES, wallUs: (wallMs * 1000) / MESSAGES };
}

function measureInChild(target) {
  const tree = target === 'other' ? resolve(args.tree) : HERE;
  const child = fork(new URL(import.meta.url), ['--child', target, '--child-tree', tree, '--format', args.format, '--messages', String(MESSAGES), ...(args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-interval', args['cpu-prof-interval']] : [])], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`${target} exited ${code}`)));
  });
}

if (args.child) {
  const result = await measureHere(args.child, args['child-tree']);
  process.send(result);
  process.exit(0);
}

const NAMES = { bare: 'bare socket.io relay (seed-like)', ours: 'voicecall signaling-server, every check, budgets relaxed', other: `the same, from ${args.tree}` };
const TARGETS = args.tree ? ['bare', 'ours', 'other'] : ['bare', 'ours'];
console.log(`relay cost: ${MESSAGES} ${args.format}-format offer_sdp frames fed to the server's WebSocket, per round; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const results = [];
for (let round = 0; round < Number(args.rounds); round++) {
  for (const target of round % 2 === 0 ? TARGETS : [...TARGETS].reverse()) {
    const r = await measureInChild(target);
    results.push(r);
    console.log(`  round ${round + 1}, ${NAMES[target]}: ${r.cpuUs.toFixed(2)} µs CPU per message (user ${r.userUs.toFixed(2)}), ${r.wallUs.toFixed(2)} µs wall`);
  }
}
const median = (values) => {
  const v = [...values].sort((x, y) => x - y);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const of = (t) => median(results.filter((r) => r.target === t).map((r) => r.cpuUs));
console.log(`\n| server | CPU per message (server + both clients), median | difference | bare / this (as throughput) |\n|---|---|---|---|`);
for (const t of TARGETS) {
  const vs = t === 'bare' ? '— | —' : `${of(t) >= of('bare') ? '+' : '−'}${Math.abs(of(t) - of('bare')).toFixed(2)} µs | ${(of('bare') / of(t)).toFixed(2)}×`;
  console.log(`| ${NAMES[t]} | ${of(t).toFixed(2)} µs | ${vs} |`);
}
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
if (args['cpu-prof']) console.log(`CPU profiles in ${PROFILE_DIR}`);
