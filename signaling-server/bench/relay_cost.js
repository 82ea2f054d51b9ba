#!/usr/bin/env node
// node bench/relay_cost.js [--messages 20000] [--rounds 3] [--cpu-prof]
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

import { fork } from 'node:child_process';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    child: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
  },
});
const MESSAGES = Number(args.messages);
const BATCH = 100;
// --cpu-prof: one profile per child (per round and server), for bench/profile_summary.js.
const PROFILE_DIR = join(tmpdir(), 'relay-cost-profiles');

async function measureHere(target) {
  const { io: ioc } = await import('socket.io-client');
  const { SEED_SDP } = await import('./seed_sdp.js');
  let io;
  let port;
  if (target === 'ours') {
    const { createSignalingServer } = await import('../src/server.js');
    const { silentLogger } = await import('../src/log.js');
    const { RELAXED_LIMITS } = await import('../test/helpers.js');
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
  const payload = JSON.stringify({ targetClientId: b.id, sdp: JSON.stringify({ type: 'offer', sdp: SEED_SDP }) });
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
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await feed(MESSAGES);
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  a.socket.close();
  b.socket.close();
  return { target, cpuUs: (cpu.user + cpu.system) / MESSAGES, userUs: cpu.user / MESSAGES, wallUs: (wallMs * 1000) / MESSAGES };
}

function measureInChild(target) {
  const execArgv = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const child = fork(new URL(import.meta.url), ['--child', target, '--messages', String(MESSAGES)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`${target} exited ${code}`)));
  });
}

if (args.child) {
  const result = await measureHere(args.child);
  process.send(result);
  process.exit(0);
}

const NAMES = { bare: 'bare socket.io relay (seed-like)', ours: 'voicecall signaling-server, every check, budgets relaxed' };
console.log(`relay cost: ${MESSAGES} seed-format offer_sdp frames fed to the server's WebSocket, per round; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const results = [];
for (let round = 0; round < Number(args.rounds); round++) {
  for (const target of round % 2 === 0 ? ['bare', 'ours'] : ['ours', 'bare']) {
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
console.log(`\n| server | CPU per message (server + both clients) | difference |\n|---|---|---|`);
for (const t of ['bare', 'ours']) console.log(`| ${NAMES[t]} | ${of(t).toFixed(2)} µs | ${t === 'bare' ? '—' : `+${(of('ours') - of('bare')).toFixed(2)} µs`} |`);
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
if (args['cpu-prof']) console.log(`CPU profiles in ${PROFILE_DIR}`);
