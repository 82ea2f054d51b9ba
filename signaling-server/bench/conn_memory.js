#!/usr/bin/env node
// node bench/conn_memory.js [--clients 1000] [--rounds 2] [--tree OTHER/signaling-server]
//                           [--heap-snapshot DIR]
//
// Memory per idle connection: a server in a child process (started with
// --expose-gc), 1,000 socket.io clients (WebSocket, from this process,
// spread over 100 loopback addresses as in bench/throughput.js) connect and
// get their ID; the server's heap after a full GC and its RSS are read
// before and after, and the difference is divided by the clients. The bare
// relay (bench/bare_relay.js) and this server (every limit at its default
// except connections per address; log level warn) in the same run,
// alternating; --tree adds another build of this server. The clients'
// own memory is in neither figure. --heap-snapshot writes each server's
// heap before the clients connect and with them connected to DIR, for
// Chrome DevTools' comparison view.

import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '2' },
    ips: { type: 'string', default: '100' },
    tree: { type: 'string' },
    child: { type: 'string' },
    'child-tree': { type: 'string' },
    'heap-snapshot': { type: 'string' },
  },
});
const HERE = fileURLToPath(new URL('..', import.meta.url));
const CLIENTS = Number(args.clients);

async function serveHere(target, tree) {
  let port;
  if (target === 'bare') {
    const { createBareRelay } = await import('./bare_relay.js');
    const relay = createBareRelay({ pingInterval: 5000, pingTimeout: 5000 });
    await new Promise((r) => relay.httpServer.listen(0, '127.0.0.1', r));
    port = relay.httpServer.address().port;
  } else {
    const load = (path) => import(pathToFileURL(resolve(tree, path)).href);
    const { createSignalingServer } = await load('src/server.js');
    const { silentLogger } = await load('src/log.js');
    const server = createSignalingServer({ port: 0, host: '127.0.0.1', maxConnectionsPerIp: 1e6, ipConnectsPerMin: 1e8, ipConnectBurst: 1e6, ipRegistrationsPerHour: 1e8, ipRegistrationBurst: 1e6 }, { logger: silentLogger });
    ({ port } = await server.listen());
  }
  const measure = () => {
    globalThis.gc();
    globalThis.gc();
    const m = process.memoryUsage();
    return { heapUsed: m.heapUsed, external: m.external, rss: m.rss };
  };
  process.on('message', (msg) => {
    if (msg === 'measure') process.send({ memory: measure() });
    else if (msg.snapshot) process.send({ file: writeHeapSnapshot(join(msg.snapshot, `${target}-${process.pid}-${msg.label}.heapsnapshot`)) });
  });
  process.send({ port });
}

if (args.child) {
  await serveHere(args.child, args['child-tree']);
} else {
  const { io: ioc } = await import('socket.io-client');
  const ask = (child, what) =>
    new Promise((r) => {
      child.once('message', r);
      if (what) child.send(what);
    });
  async function measure(target) {
    const tree = target === 'other' ? resolve(args.tree) : HERE;
    const child = fork(fileURLToPath(import.meta.url), ['--child', target, '--child-tree', tree], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const { port } = await ask(child);
    const before = (await ask(child, 'measure')).memory;
    const snapshot = async (label) => {
      if (!args['heap-snapshot']) return;
      mkdirSync(args['heap-snapshot'], { recursive: true });
      console.log(`  heap snapshot: ${(await ask(child, { snapshot: resolve(args['heap-snapshot']), label })).file}`);
    };
    await snapshot('before');
    const sockets = [];
    for (let i = 0; i < CLIENTS; i += 50) {
      const batch = [];
      for (let j = i; j < Math.min(CLIENTS, i + 50); j++) {
        const localAddress = `127.0.${Math.floor((j % Number(args.ips)) / 250)}.${2 + ((j % Number(args.ips)) % 250)}`;
        const socket = ioc(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false, localAddress });
        sockets.push(socket);
        batch.push(new Promise((r, reject) => {
          socket.once('your_id', r);
          socket.once('connect_error', reject);
        }));
      }
      await Promise.all(batch);
    }
    // Let the handshakes' leftovers (timers, buffers) settle.
    await new Promise((r) => setTimeout(r, 1000));
    const after = (await ask(child, 'measure')).memory;
    await snapshot('connected');
    for (const s of sockets) s.close();
    child.kill();
    const per = (k) => (after[k] - before[k]) / CLIENTS / 1024;
    return { target, heapKb: per('heapUsed'), externalKb: per('external'), rssKb: per('rss'), baseHeapMb: before.heapUsed / 2 ** 20, baseRssMb: before.rss / 2 ** 20 };
  }
  const NAMES = { bare: 'bare socket.io relay (seed-like)', ours: 'voicecall signaling-server', other: `the same, from ${args.tree}` };
  const TARGETS = args.tree ? ['bare', 'ours', 'other'] : ['bare', 'ours'];
  console.log(`memory per connection: ${CLIENTS} idle clients; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const results = [];
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const target of round % 2 === 0 ? TARGETS : [...TARGETS].reverse()) {
      const r = await measure(target);
      results.push(r);
      console.log(`  round ${round + 1}, ${NAMES[target]}: heap ${r.heapKb.toFixed(1)} KB, external ${r.externalKb.toFixed(1)} KB, RSS ${r.rssKb.toFixed(1)} KB per connection (with no client: heap ${r.baseHeapMb.toFixed(1)} MB, RSS ${r.baseRssMb.toFixed(1)} MB)`);
    }
  }
  const median = (v) => {
    const s = [...v].sort((x, y) => x - y);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  console.log(`\n| server | heap KB per connection (after GC) | external KB | RSS KB |\n|---|---|---|---|`);
  for (const t of TARGETS) {
    const of = (k) => median(results.filter((r) => r.target === t).map((r) => r[k])).toFixed(1);
    console.log(`| ${NAMES[t]} | ${of('heapKb')} | ${of('externalKb')} | ${of('rssKb')} |`);
  }
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  process.exit(0);
}
