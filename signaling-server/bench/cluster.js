#!/usr/bin/env node
// node bench/cluster.js [--nodes 2,4,8] [--modes classic,sharded] [--pairs 48]
//                       [--warmup 2] [--measure 5] [--ids 2000] [--base-port P] [--no-write]
//
// What a relayed message costs Redis as the number of signaling nodes
// grows, classic pub/sub vs sharded pub/sub, on a real Redis Cluster:
// 3 masters (Debian's redis-server in cluster mode, test/support/
// redis_cluster.js) on loopback ports of their own, and 2, 4, 8 signaling
// nodes (src/index.js, REDIS_CLUSTER_NODES, REDIS_PUBSUB=classic|sharded).
//
// Load: the same closed loop for every configuration — `pairs` caller/callee
// pairs, caller on node p mod N and callee on node p+1 mod N (so every
// message crosses nodes), each pair ping-ponging send_ice: one message in
// flight per pair. Bounded: warm-up + measure seconds per configuration.
//
// Per configuration it prints relayed msgs/s and, per relayed message:
//   publishes      PUBLISH/SPUBLISH calls (INFO commandstats, all masters)
//   deliveries     pub/sub messages Redis delivered to signaling nodes
//                  (counted by the nodes' subscriber connections,
//                  voicecall_redis_deliveries_total), the fan-out
//   bus msgs       PUBLISH copies sent between Redis nodes over the cluster
//                  bus (CLUSTER INFO cluster_stats_messages_publish*_sent)
//   out bytes      bytes Redis wrote to its clients (INFO stats
//                  total_net_output_bytes, all masters)
//   node cmds      commands the signaling nodes sent to Redis
//                  (voicecall_redis_commands_total; a script is one)
//   Redis calls    commands Redis executed, those inside scripts included
//                  (INFO stats total_commands_processed)
// and the CPU each group used (signaling nodes, Redis, load generator, other
// processes), from /proc.
//
// Then, per mode with the smallest node count, `ids` clients connect, idle
// for a measured window (PING_INTERVAL_MS=1000: one heartbeat per client per
// second), and disconnect: Redis memory and commands per online and per
// offline ID, and node CPU per heartbeat.
//
// Writes the tables into bench/RESULTS.md between the cluster.js markers
// (--no-write: print only).

import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient, createCluster } from 'redis';
import { freePort, startRedis } from '../test/support/redis.js';
import { respCommand, startRedisCluster } from '../test/support/redis_cluster.js';
import { ENTRY } from '../test/support/server_process.js';
import { cpuSnapshot, cpuUsage, rssMb } from './proc_stats.js';
import { rawConnect } from './raw_client.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(ROOT, 'bench/RESULTS.md');
const MARK_START = '<!-- bench/cluster.js: start -->';
const MARK_END = '<!-- bench/cluster.js: end -->';

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '2,4,8' },
    // single-classic: today's setup (one Redis, REDIS_URL), as a baseline.
    modes: { type: 'string', default: 'single-classic,classic,sharded' },
    pairs: { type: 'string', default: '48' },
    warmup: { type: 'string', default: '2' },
    measure: { type: 'string', default: '5' },
    ids: { type: 'string', default: '2000' },
    'base-port': { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const nodeCounts = args.nodes.split(',').map(Number);
const modes = args.modes.split(',');
const PAIRS = Number(args.pairs);
const WARMUP_S = Number(args.warmup);
const MEASURE_S = Number(args.measure);
const IDS = Number(args.ids);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MAX_ATTEMPTS = 3;
const CONTENDED_PCT = 25; // % of a core used by processes outside the benchmark
const fmt = (v, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : '–');
// The node flags of deploy/systemd/voicecall-signaling.service.
const NODE_ARGS = ['--max-semi-space-size=64'];

async function waitFor(what, predicate, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await sleep(20);
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

// --- Redis counters ---------------------------------------------------------

function parseInfo(text) {
  return Object.fromEntries(text.split('\r\n').filter((l) => l.includes(':')).map((l) => l.split(/:(.*)/s).slice(0, 2)));
}
const calls = (stats, cmd) => Number(/calls=(\d+)/.exec(stats[`cmdstat_${cmd}`] ?? 'calls=0')[1]);

// Commands this script itself sends to Redis, so they can be left out.
let ownCommands = 0;

async function redisCounters(redis) {
  const own = ownCommands;
  ownCommands += 4 * redis.nodes.filter((n) => n.alive && n.role === 'master').length;
  const out = { own, publish: 0, spublish: 0, commands: 0, outBytes: 0, busPublish: 0, busPublishShard: 0, usedMemory: 0, numpat: 0, shardChannels: 0 };
  for (const m of redis.nodes.filter((n) => n.alive && n.role === 'master')) {
    const [cmd, stats, mem, cinfo] = await Promise.all([
      redis.command(m.port, ['INFO', 'commandstats']).then(parseInfo),
      redis.command(m.port, ['INFO', 'stats']).then(parseInfo),
      redis.command(m.port, ['INFO', 'memory']).then(parseInfo),
      redis.isCluster ? redis.command(m.port, ['CLUSTER', 'INFO']).then(parseInfo) : {},
    ]);
    out.publish += calls(cmd, 'publish');
    out.spublish += calls(cmd, 'spublish');
    out.commands += Number(stats.total_commands_processed);
    out.outBytes += Number(stats.total_net_output_bytes);
    out.busPublish += Number(cinfo.cluster_stats_messages_publish_sent ?? 0);
    out.busPublishShard += Number(cinfo.cluster_stats_messages_publishshard_sent ?? 0);
    // Without the client buffers (query/output buffers come and go with
    // traffic): what stays is keys, expiry entries and subscriptions.
    out.usedMemory += Number(mem.used_memory) - Number(mem.mem_clients_normal ?? 0) - Number(mem.mem_clients_slaves ?? 0);
    out.numpat += Number(stats.pubsub_patterns ?? 0);
    out.shardChannels += Number(stats.pubsubshard_channels ?? 0);
  }
  return out;
}
/** Redis commands between two snapshots that were not this script's. */
const commandsBetween = (a, b) => b.commands - a.commands - (b.own - a.own);

// /metrics renders are shared for 1 s (src/metrics.js): a reading within a
// second of the last one would repeat it. Every reading waits past that
// first (pastRenderCache), before the Redis counters it goes with are read.
let lastNodeRead = 0;
async function pastRenderCache() {
  const wait = lastNodeRead + 1100 - Date.now();
  if (wait > 0) await sleep(wait);
}
async function nodeCounters(nodes) {
  lastNodeRead = Date.now();
  const out = { commands: 0, published: 0, delivered: 0 };
  await Promise.all(
    nodes.map(async (n) => {
      const text = await (await fetch(`${n.url}/metrics`)).text();
      const read = (name) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
      out.commands += read('voicecall_redis_commands_total');
      out.published += read('voicecall_redis_published_total');
      out.delivered += read('voicecall_redis_deliveries_total');
    }),
  );
  return out;
}

// --- clients ----------------------------------------------------------------

// Clients come from loopback addresses of their own (127.0.10.1 …
// 127.0.25.250, in turn), as users would: the server limits connections,
// new IDs and messages per address, and thousands of clients from
// 127.0.0.1 alone would be refused long before Redis is measured.
let clientCount = 0;
const nextAddress = () => {
  const k = clientCount++ % 4000;
  return `127.0.${10 + Math.floor(k / 250)}.${1 + (k % 250)}`;
};

/** A raw socket.io client that resolves once it has its ID. */
function client(node, onEvent) {
  return new Promise((resolve, reject) => {
    let c;
    const timer = setTimeout(() => reject(new Error(`no your_id from ${node.url}`)), 10_000);
    c = rawConnect(node.port, '', (event, arg) => {
      if (event === 'your_id') {
        clearTimeout(timer);
        c.id = arg;
        resolve(c);
      } else onEvent(event, arg);
    }, { localAddress: nextAddress() });
  });
}

// LOG_LEVEL=warn (one info record per relayed message would measure the
// logger) hides the 'listening' record: wait for /healthz instead.
async function startNode(env, logFile) {
  const port = await freePort();
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, [...NODE_ARGS, ENTRY], { env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', ...env }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await waitFor(`${env.NODE_ID} listening`, async () => {
    if (child.exitCode !== null) throw new Error(`${env.NODE_ID} exited: ${readFileSync(logFile, 'utf8')}`);
    return fetch(`${url}/healthz`).then((r) => r.ok, () => false);
  }, 10_000);
  return {
    port,
    url,
    child,
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

async function startNodes(n, mode, redis, logDir) {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      startNode(
        {
          ...(redis.isCluster ? { REDIS_CLUSTER_NODES: redis.seeds } : { REDIS_URL: redis.url }),
          REDIS_PUBSUB: mode.replace('single-', ''),
          NODE_ID: `${mode}-${n}-${i}`,
          LOG_LEVEL: 'warn',
          // The bench measures relay cost, not the per-client limits: each
          // client of the closed loop relays ~100+ messages a second.
          RATE_LIMIT_PER_SEC: '100000',
          RATE_LIMIT_BURST: '100000',
          PING_INTERVAL_MS: '1000',
          PING_TIMEOUT_MS: '5000',
        },
        join(logDir, `${mode}-${n}-${i}.log`),
      ),
    ),
  );
}

async function stopNodes(nodes) {
  await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
}

// --- relay phase --------------------------------------------------------------

async function relayRun(mode, n, redis, logDir) {
  const nodes = await startNodes(n, mode, redis, logDir);
  let relayed = 0;
  let errors = 0;
  const pairs = [];
  let offered = 0;
  for (let p = 0; p < PAIRS; p++) {
    const ends = {};
    const bounce = (self) => (event, arg) => {
      if (event === 'server_error') errors++;
      if (event === 'offer_sdp') offered++;
      if (event !== 'send_ice') return;
      relayed++;
      ends[self].emit('send_ice', { targetClientId: arg.from, callId: 'bench', candidate: 'c' });
    };
    [ends.a, ends.b] = await Promise.all([client(nodes[p % n], bounce('a')), client(nodes[(p + 1) % n], bounce('b'))]);
    pairs.push(ends);
  }
  // The server relays call messages only inside a call: each pair opens one
  // (an offer) before the loop starts, which also means every client's
  // subscription is in place.
  for (const { a, b } of pairs) a.emit('offer_sdp', { targetClientId: b.id, callId: 'bench', sdp: 'v=0' });
  await waitFor('every offer delivered', async () => offered === PAIRS, 10_000);
  for (const { a, b } of pairs) a.emit('send_ice', { targetClientId: b.id, callId: 'bench', candidate: 'c' });
  await sleep(WARMUP_S * 1000);

  const groups = { nodes: nodes.map((x) => x.child.pid), redis: redis.nodes.filter((x) => x.alive).map((x) => x.pid), loadgen: [process.pid] };
  // The machine is shared: while other processes take a noticeable share,
  // measure again and keep the least disturbed window (as bench/load.js).
  let w = null;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    await pastRenderCache();
    const [r0, n0] = await Promise.all([redisCounters(redis), nodeCounters(nodes)]);
    const c0 = cpuSnapshot(groups);
    const before = relayed;
    const t0 = performance.now();
    await sleep(MEASURE_S * 1000);
    const count = relayed - before;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuUsage(c0, cpuSnapshot(groups));
    await pastRenderCache();
    const [r1, n1] = await Promise.all([redisCounters(redis), nodeCounters(nodes)]);
    if (!w || cpu.other < w.cpu.other) w = { r0, n0, r1, n1, count, seconds, cpu };
    if (w.cpu.other <= CONTENDED_PCT) break;
  }
  const { r0, n0, r1, n1, seconds, cpu } = w;
  const msgs = w.count;
  const rss = nodes.reduce((s, x) => s + rssMb(x.child.pid), 0);

  for (const { a, b } of pairs) {
    a.ws.terminate();
    b.ws.terminate();
  }
  await stopNodes(nodes);
  const per = (d) => d / msgs;
  const row = {
    mode,
    nodes: n,
    msgsPerSec: msgs / seconds,
    // Little's law: PAIRS messages in flight.
    hopMs: (PAIRS / (msgs / seconds)) * 1000,
    publishes: per(r1.publish + r1.spublish - r0.publish - r0.spublish),
    deliveries: per(n1.delivered - n0.delivered),
    nodePublishes: per(n1.published - n0.published),
    bus: per(r1.busPublish + r1.busPublishShard - r0.busPublish - r0.busPublishShard),
    outBytes: per(r1.outBytes - r0.outBytes),
    commands: per(commandsBetween(r0, r1)),
    nodeCommands: per(n1.commands - n0.commands),
    cpu,
    perNodeCore: msgs / seconds / (cpu.nodes / 100),
    contended: cpu.other > CONTENDED_PCT,
    errors,
    rssMb: rss,
  };
  console.log(
    `  ${mode.padEnd(14)} ${String(n).padStart(2)} nodes: ${fmt(row.msgsPerSec)} msgs/s; per message: ${fmt(row.publishes, 2)} publishes, ${fmt(row.deliveries, 2)} deliveries, ${fmt(row.bus, 2)} bus msgs, ${fmt(row.outBytes)} B out, ${fmt(row.nodeCommands, 2)} node cmds, ${fmt(row.commands, 2)} Redis calls; CPU % of a core: nodes ${fmt(cpu.nodes)}, Redis ${fmt(cpu.redis)}, load gen ${fmt(cpu.loadgen)}, other ${fmt(cpu.other)}; errors ${errors}`,
  );
  return row;
}

// --- ID phase ------------------------------------------------------------------

async function idRun(mode, n, redis, logDir) {
  const nodes = await startNodes(n, mode, redis, logDir);
  const rc = redis.isCluster ? createCluster({ rootNodes: [{ url: redis.seeds.split(',')[0] }] }) : createClient({ url: redis.url });
  rc.on('error', () => {});
  await rc.connect();
  const groups = { nodes: nodes.map((x) => x.child.pid), loadgen: [process.pid] };
  const idleWindow = async () => {
    const c0 = cpuSnapshot(groups);
    await sleep(MEASURE_S * 1000);
    return cpuUsage(c0, cpuSnapshot(groups));
  };
  // Node CPU with no clients: the baseline the heartbeats are measured over.
  const emptyCpu = await idleWindow();
  await pastRenderCache();
  const base = await redisCounters(redis);
  const nBase = await nodeCounters(nodes);
  const clients = [];
  for (let i = 0; i < IDS; i += 100) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(100, IDS - i) }, (_, j) => client(nodes[(i + j) % n], () => {})))));
  }
  // Registered ≠ every Redis write done: the subscription may still be in
  // flight. Wait for the shard channels (sharded) to show up.
  if (mode === 'sharded') await waitFor('every client subscribed', async () => (await redisCounters(redis)).shardChannels - base.shardChannels >= IDS, 20_000);
  await pastRenderCache();
  const online = await redisCounters(redis);
  const nOnline = await nodeCounters(nodes);
  const sample = clients.slice(0, 50).map((c) => `voicecall:id:{${c.id}}`);
  const keyBytes = async () => {
    ownCommands += sample.length;
    const usage = (k) => ['MEMORY', 'USAGE', k, 'SAMPLES', '0'];
    const sizes = await Promise.all(sample.map((k) => (redis.isCluster ? rc.sendCommand(k, true, usage(k)) : rc.sendCommand(usage(k)))));
    return sizes.reduce((a, b) => a + b, 0) / sizes.length;
  };
  const onlineRecordBytes = await keyBytes();

  // Idle: heartbeats only (PING_INTERVAL_MS=1000 → IDS pings/s).
  await pastRenderCache();
  const before = await redisCounters(redis);
  const nBefore = await nodeCounters(nodes);
  const idleCpu = await idleWindow();
  await pastRenderCache();
  const afterIdle = await redisCounters(redis);
  const nAfterIdle = await nodeCounters(nodes);
  const rss = nodes.reduce((s, x) => s + rssMb(x.child.pid), 0);

  for (const c of clients) c.ws.close();
  await waitFor('every ID offline', async () => {
    ownCommands += clients.length;
    const socks = await Promise.all(clients.map((c) => rc.hGet(`voicecall:id:{${c.id}}`, 'sock')));
    return socks.every((x) => x === '');
  }, 30_000);
  if (mode === 'sharded') await waitFor('every subscription gone', async () => (await redisCounters(redis)).shardChannels <= base.shardChannels, 20_000);
  await pastRenderCache();
  const offline = await redisCounters(redis);
  const nOffline = await nodeCounters(nodes);
  const offlineRecordBytes = await keyBytes();
  await rc.quit();
  await stopNodes(nodes);
  const row = {
    mode,
    nodes: n,
    onlineBytes: (online.usedMemory - base.usedMemory) / IDS,
    offlineBytes: (offline.usedMemory - base.usedMemory) / IDS,
    onlineRecordBytes,
    offlineRecordBytes,
    connectCommands: (nOnline.commands - nBase.commands) / IDS,
    disconnectCommands: (nOffline.commands - nAfterIdle.commands) / IDS,
    connectCalls: commandsBetween(base, online) / IDS,
    disconnectCalls: commandsBetween(afterIdle, offline) / IDS,
    idleCommandsPerSec: (nAfterIdle.commands - nBefore.commands) / MEASURE_S,
    // µs of node CPU per heartbeat: IDS pings/s over the empty baseline.
    heartbeatUs: (((idleCpu.nodes - emptyCpu.nodes) / 100) * 1e6) / IDS,
    nodeRssMb: rss,
  };
  console.log(
    `  ${mode.padEnd(14)} ${IDS} IDs on ${n} nodes: Redis ${fmt(row.onlineBytes)} B per online ID (record ${fmt(onlineRecordBytes)} B), ${fmt(row.offlineBytes)} B per offline ID (record ${fmt(offlineRecordBytes)} B); ${fmt(row.connectCommands, 1)} node cmds (${fmt(row.connectCalls, 1)} Redis calls) per connect, ${fmt(row.disconnectCommands, 1)} (${fmt(row.disconnectCalls, 1)}) per disconnect; idle: ${fmt(row.idleCommandsPerSec, 1)} node cmds/s, node CPU ${fmt(row.heartbeatUs, 1)} µs per heartbeat`,
  );
  return row;
}

// --- main ---------------------------------------------------------------------

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const started = new Date();
const loadBefore = loadavg();
console.log(`cluster bench: Redis Cluster of 3 masters (and one Redis for single-*); ${nodeCounts.join(', ')} signaling nodes; modes ${modes.join(', ')}; ${PAIRS} closed-loop pairs; ${WARMUP_S} s warm-up + ${MEASURE_S} s measured; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
const logDir = mkdtempSync(join(tmpdir(), 'vc-bench-cluster-'));
const cluster = await startRedisCluster({ masters: 3, replicas: 0, basePort: args['base-port'] ? Number(args['base-port']) : undefined });
cluster.isCluster = true;
// The baseline: one Redis server, counted the same way.
let single = null;
if (modes.some((m) => m.startsWith('single-'))) {
  const r = await startRedis();
  single = { isCluster: false, url: r.url, stop: r.stop, command: respCommand, nodes: [{ port: r.port, pid: r.pid, alive: true, role: 'master' }] };
}
const relayRows = [];
const idRows = [];
try {
  for (const mode of modes) {
    const redis = mode.startsWith('single-') ? single : cluster;
    console.log(`\n${mode}:`);
    for (const n of nodeCounts) relayRows.push(await relayRun(mode, n, redis, logDir));
    idRows.push(await idRun(mode, nodeCounts[0], redis, logDir));
  }
} finally {
  await cluster.stop();
  await single?.stop();
  rmSync(logDir, { recursive: true, force: true });
}
const loadAfter = loadavg();

const relayTable = table(
  ['pub/sub', 'nodes', 'relayed msgs/s', 'ms per hop', 'publishes /msg', 'deliveries /msg', 'bus msgs /msg', 'Redis out B /msg', 'node cmds /msg', 'Redis calls /msg', 'CPU% nodes', 'CPU% Redis', 'CPU% load gen', 'CPU% other', 'msgs/s per node core', 'errors'],
  relayRows.map((r) => [r.mode, r.nodes, fmt(r.msgsPerSec), fmt(r.hopMs, 1), fmt(r.publishes, 2), fmt(r.deliveries, 2), fmt(r.bus, 2), fmt(r.outBytes), fmt(r.nodeCommands, 2), fmt(r.commands, 2), fmt(r.cpu.nodes), fmt(r.cpu.redis), fmt(r.cpu.loadgen), `${fmt(r.cpu.other)}${r.contended ? ' (contended)' : ''}`, fmt(r.perNodeCore), r.errors]),
);
const idTable = table(
  ['pub/sub', 'nodes', 'IDs', 'Redis B per online ID', 'Redis B per offline ID', 'record B online / offline', 'node cmds (Redis calls) per connect', 'node cmds (Redis calls) per disconnect', 'node cmds/s idle (all nodes)', 'node µs CPU per heartbeat', 'node RSS MB (all nodes)'],
  idRows.map((r) => [r.mode, r.nodes, IDS, fmt(r.onlineBytes), fmt(r.offlineBytes), `${fmt(r.onlineRecordBytes)} / ${fmt(r.offlineRecordBytes)}`, `${fmt(r.connectCommands, 1)} (${fmt(r.connectCalls, 1)})`, `${fmt(r.disconnectCommands, 1)} (${fmt(r.disconnectCalls, 1)})`, fmt(r.idleCommandsPerSec, 1), fmt(r.heartbeatUs, 1), fmt(r.nodeRssMb)]),
);
console.log(`\n${relayTable}\n\n${idTable}\n\nload average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`);

if (!args['no-write']) {
  const command = `node bench/cluster.js${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  const section = `${MARK_START}
## Redis Cluster: classic vs sharded pub/sub (bench/cluster.js)

Command: \`${command}\` (in signaling-server/)
Date: ${started.toISOString()}
Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, ${(await import('node:child_process')).execFileSync('/usr/bin/redis-server', ['--version'], { encoding: 'utf8' }).trim().split(' ').slice(0, 3).join(' ')}; load average (1/5/15 min) before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}. Everything below shares these cores: Redis, all signaling nodes and the load generator.

Setup: a Redis Cluster of 3 masters (no replicas) on loopback, signaling nodes with \`REDIS_CLUSTER_NODES\` and \`REDIS_PUBSUB\` (rows *classic*, *sharded*); *single-classic* is today's setup for comparison: one Redis server, \`REDIS_URL\`, classic pub/sub. All with \`LOG_LEVEL=warn\`, \`PING_INTERVAL_MS=1000\`. Load: ${PAIRS} caller/callee pairs in a closed loop (one \`send_ice\` in flight per pair, always to a client on another node), ${WARMUP_S} s warm-up, ${MEASURE_S} s measured, the same for every row. Per relayed message: *publishes* = PUBLISH + SPUBLISH calls (INFO commandstats, all masters); *deliveries* = pub/sub messages Redis delivered to the signaling nodes (counted by each node's subscriber connection, \`voicecall_redis_deliveries_total\`); *bus msgs* = copies of a publish Redis sent to other Redis nodes over the cluster bus (CLUSTER INFO \`cluster_stats_messages_publish*_sent\`); *Redis out B* = INFO stats \`total_net_output_bytes\`; *node cmds* = commands the signaling nodes sent to Redis (\`voicecall_redis_commands_total\`; a script call is one); *Redis calls* = \`total_commands_processed\`, which also counts the commands run inside scripts (the bench's own INFO calls left out); *ms per hop* = pairs ÷ msgs/s (Little's law), the mean time from one client's send to the other's reply being sent. CPU is % of one core over the measured window; a window is measured up to ${MAX_ATTEMPTS} times while other processes on the machine use more than ${CONTENDED_PCT} % of a core, and the least disturbed one is kept ("(contended)": even that one was disturbed); *msgs/s per node core* = relayed msgs/s ÷ the signaling nodes' CPU in cores.

${relayTable}

ID costs: ${IDS} clients connect (spread over the nodes), stay idle for ${MEASURE_S} s (one heartbeat per client per second), then disconnect. Memory is the change of \`used_memory\` less client buffers (\`mem_clients_normal\`), summed over the masters: records, instance-set entries, expiry entries, pub/sub subscriptions; *record B* is \`MEMORY USAGE\` of 50 ID records; commands as above.

${idTable}

What these numbers mean for a deployment, and the capacity plan built on them: [docs/scale.md](../../docs/scale.md).
${MARK_END}`;
  let text = readFileSync(RESULTS, 'utf8');
  const a = text.indexOf(MARK_START);
  const b = text.indexOf(MARK_END);
  text = a >= 0 && b > a ? `${text.slice(0, a)}${section}${text.slice(b + MARK_END.length)}` : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(RESULTS, text);
  console.log('\nwrote the cluster section of bench/RESULTS.md');
}
