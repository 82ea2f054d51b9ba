#!/usr/bin/env node
// node bench/refuse_cost.js [--frames 20000] [--rounds 2] [--tree OTHER/signaling-server]
//
// CPU time per 64 KiB frame refused by the budgets, in one process: a server
// whose byte budget admits one payload and then nothing (its message budget
// so large that the flood guard never cuts the client), one socket.io
// client, and 64 KiB `offer_sdp` frames handed to the server's side of the
// client's WebSocket as ws delivers them (a 'message' event with the
// frame's Buffer), 100 per event-loop turn. What ws itself does with a frame
// (reading, unmasking, UTF-8 validation) is not in the figure; everything
// after it is. --tree measures another build of this server (e.g. an older
// commit's `git archive`, with a node_modules) in the same run, alternating
// with this one.

import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

const { values: args } = parseArgs({
  options: {
    frames: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '2' },
    tree: { type: 'string' },
    child: { type: 'string' },
  },
});
const FRAMES = Number(args.frames);
const HERE = fileURLToPath(new URL('..', import.meta.url));

async function measureHere(tree) {
  const load = (path) => import(pathToFileURL(resolve(tree, path)).href);
  const { createSignalingServer } = await load('src/server.js');
  const { silentLogger } = await load('src/log.js');
  const { RELAXED_LIMITS } = await load('test/helpers.js');
  const { io: ioc } = await import('socket.io-client');
  const server = createSignalingServer(
    { port: 0, host: '127.0.0.1', ...RELAXED_LIMITS, byteBurst: 65536, byteRatePerSec: 1, rateLimitBurst: 1e12, rateLimitPerSec: 50, ipByteBurst: 1e12, ipByteRatePerSec: 1e12 },
    { logger: silentLogger },
  );
  const { port } = await server.listen();
  const client = ioc(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
  await new Promise((r) => client.once('your_id', r));
  const socket = [...server.io.of('/').sockets.values()][0];
  const ws = socket.conn.transport.socket;
  const frame = Buffer.from(`42${JSON.stringify(['offer_sdp', { targetClientId: 'nobody-here', sdp: 'f'.repeat(64 * 1024 - 200) }])}`);
  const feed = async (n) => {
    for (let i = 0; i < n; i += 100) {
      for (let j = 0; j < 100; j++) ws.emit('message', frame, false);
      await new Promise((r) => setImmediate(r));
    }
  };
  await feed(2000); // warm-up; the first frame is the one admitted
  const cpu0 = process.cpuUsage();
  await feed(FRAMES);
  const cpu = process.cpuUsage(cpu0);
  const connected = socket.connected;
  client.close();
  await server.close();
  return { tree, cpuUs: (cpu.user + cpu.system) / FRAMES, connected };
}

if (args.child) {
  process.send(await measureHere(args.child));
  process.exit(0);
}

const measure = (tree) =>
  new Promise((resolveResult, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--child', tree, '--frames', String(FRAMES)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', resolveResult);
    child.once('exit', (code) => reject(new Error(`${tree} exited ${code}`)));
  });

const trees = args.tree ? [HERE, resolve(args.tree)] : [HERE];
console.log(`refuse cost: ${FRAMES} refused 64 KiB frames per round; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (let round = 0; round < Number(args.rounds); round++) {
  for (const tree of round % 2 === 0 ? trees : [...trees].reverse()) {
    const r = await measure(tree);
    if (!r.connected) throw new Error(`${tree}: the client was disconnected; the figure would not be of refused frames`);
    console.log(`  round ${round + 1}, ${tree === HERE ? 'this tree' : tree}: ${r.cpuUs.toFixed(2)} µs CPU per refused frame`);
  }
}
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
