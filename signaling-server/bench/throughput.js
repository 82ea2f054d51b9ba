#!/usr/bin/env node
// node bench/throughput.js [--clients 1000] [--seconds 10] [--rounds 3]
//                          [--server-args=--cpu-prof,--cpu-prof-dir=/tmp/prof]
//                          [--ours-env PING_INTERVAL_MS=25000,PING_TIMEOUT_MS=20000]
//                          [--ours-entry OTHER/src/index.js] [--bare-heartbeat default]
//                          [--same-node-args]
//
// Relay throughput as a new user would try it: 1,000 socket.io clients in
// pairs, each pair ping-ponging a seed-format offer_sdp (JSON string payload,
// ~1.2 KB SDP inside) in a closed loop, for 10 s, on loopback. Measured
// against (a) a bare socket.io relay like the seed's (bench/bare_relay.js)
// and (b) this server with every limit at its default, in the same run,
// alternating, so both see the same machine. Prints msgs/s of each and the
// ratio (target: ≥ 0.9).
//
// The machine is shared, and what the other processes on it take changes
// from one 10 s window to the next. So the two servers are measured in
// several rounds, in the order bare, ours, ours, bare, bare, … (each round
// reverses the last), and the result is the median of each server's rounds.
// A steady rise or fall of the load then costs both the same.
//
// Like with like: the bare relay runs with this server's heartbeat
// (PING_INTERVAL_MS / PING_TIMEOUT_MS: 5 s / 5 s by default, or what
// --ours-env sets), not socket.io's default 25 s / 20 s; at 1,000 clients
// that is 200 pings a second instead of 40, each a write and a read. With
// --bare-heartbeat default it keeps socket.io's default, as the seed did.
// --ours-env runs this server with other settings; --ours-entry runs
// another build of it (e.g. an older commit's tree) in its place.
//
// Each server runs as it is started: the bare relay as `node <entry>`, like
// the seed; this server as `npm start` runs it (`node <the flags in
// package.json's start script> src/index.js`: --max-semi-space-size=64, as
// deploy/systemd does too), with default settings (LOG_LEVEL info, logs to a
// file as journald would take them). --same-node-args runs the bare relay
// with those node flags as well. The clients run in two
// worker processes and come from 100 loopback addresses (127.0.0.2…), ten
// per address, as 1,000 users would, rather than all from one address:
// this server limits connections and traffic per address.

import { fork, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULTS } from '../src/config.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    ips: { type: 'string', default: '100' },
    only: { type: 'string' },
    'server-args': { type: 'string', default: '' },
    'keep-logs': { type: 'boolean', default: false },
    'ours-env': { type: 'string', default: '' },
    'ours-entry': { type: 'string' },
    'bare-heartbeat': { type: 'string', default: 'ours' },
    'same-node-args': { type: 'boolean', default: false },
  },
});
const oursEnv = Object.fromEntries(args['ours-env'].split(',').filter(Boolean).map((kv) => kv.split('=')));
if (!['ours', 'default'].includes(args['bare-heartbeat'])) throw new Error('--bare-heartbeat is "ours" or "default"');
const bareEnv =
  args['bare-heartbeat'] === 'default'
    ? {}
    : { PING_INTERVAL_MS: oursEnv.PING_INTERVAL_MS ?? String(DEFAULTS.pingIntervalMs), PING_TIMEOUT_MS: oursEnv.PING_TIMEOUT_MS ?? String(DEFAULTS.pingTimeoutMs) };
const CLIENTS = Number(args.clients);
const SECONDS = Number(args.seconds);
const WARMUP = Number(args.warmup);
const WORKERS = 2;
const serverArgs = args['server-args'] ? args['server-args'].split(',') : [];
// The node flags of `npm start`.
const startScript = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start;
const oursNodeArgs = startScript.split(/\s+/).filter((w) => w.startsWith('--'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const TARGETS = {
  bare: { name: 'bare socket.io relay (seed-like)', entry: join(ROOT, 'bench/bare_relay.js'), env: bareEnv, nodeArgs: args['same-node-args'] ? oursNodeArgs : [] },
  ours: { name: 'voicecall signaling-server, default limits', entry: args['ours-entry'] ?? join(ROOT, 'src/index.js'), env: { NODE_ID: 'bench', ...oursEnv }, nodeArgs: oursNodeArgs },
};

function procStat(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    // The JS thread alone (the rest is V8's GC helpers, libuv's pool).
    const main = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return {
      rssMb: Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024,
      ticks: Number(fields[11]) + Number(fields[12]),
      mainTicks: Number(main[11]) + Number(main[12]),
      writes: Number(/syscw:\s+(\d+)/.exec(io)[1]),
      reads: Number(/syscr:\s+(\d+)/.exec(io)[1]),
    };
  } catch {
    return { rssMb: NaN, ticks: NaN, writes: NaN, reads: NaN };
  }
}

async function startServer(target, logDir) {
  const logFile = join(logDir, `${target}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, [...TARGETS[target].nodeArgs, ...serverArgs, TARGETS[target].entry], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...TARGETS[target].env },
    stdio: ['ignore', 'pipe', fd],
  });
  closeSync(fd);
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      for (const line of buf.split('\n')) {
        try {
          const rec = JSON.parse(line);
          if (rec.msg === 'listening') return resolve(rec.port);
        } catch {
          // partial line
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`${target} exited ${code}: ${readFileSync(logFile, 'utf8')}`)));
  });
  // From here on the server's records go nowhere we read; drain them.
  child.stdout.resume();
  return { child, url: `http://127.0.0.1:${port}` };
}

function startWorker() {
  const child = fork(join(ROOT, 'bench/pingpong_worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters = [];
  child.on('message', (m) => {
    const i = waiters.findIndex((w) => w.types.includes(m.type));
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
  });
  const next = (...types) => new Promise((resolve) => waiters.push({ types, resolve }));
  return { child, next };
}

async function measure(target, logDir) {
  const server = await startServer(target, logDir);
  const workers = Array.from({ length: WORKERS }, startWorker);
  const pairsPerWorker = Math.round(CLIENTS / 2 / WORKERS);
  const ipsPerWorker = Math.round(Number(args.ips) / WORKERS);
  const ready = workers.map((w) => w.next('ready', 'failed'));
  workers.forEach((w, i) => w.child.send({ cmd: 'start', url: server.url, pairs: pairsPerWorker, firstIp: i * ipsPerWorker, ips: ipsPerWorker }));
  for (const r of await Promise.all(ready)) if (r.type === 'failed') throw new Error(`${target}: a worker failed to connect: ${r.error}`);
  await sleep(WARMUP * 1000);
  const before = procStat(server.child.pid);
  const gen0 = workers.reduce((n, w) => n + procStat(w.child.pid).ticks, 0);
  for (const w of workers) w.child.send({ cmd: 'measure' });
  await sleep(SECONDS * 1000);
  const reports = await Promise.all(
    workers.map((w) => {
      const r = w.next('report');
      w.child.send({ cmd: 'report' });
      return r;
    }),
  );
  const after = procStat(server.child.pid);
  const gen1 = workers.reduce((n, w) => n + procStat(w.child.pid).ticks, 0);
  const seconds = Math.max(...reports.map((r) => r.seconds));
  const result = {
    target,
    clients: pairsPerWorker * 2 * WORKERS,
    msgsPerSec: reports.reduce((n, r) => n + r.messages, 0) / seconds,
    serverCpuPct: ((after.ticks - before.ticks) / 100 / seconds) * 100,
    loadGenCpuPct: ((gen1 - gen0) / 100 / seconds) * 100,
    // CPU time and system calls per relayed message: less sensitive to a
    // busy machine than msgs/s.
    cpuUsPerMsg: ((after.ticks - before.ticks) * 10_000) / reports.reduce((n, r) => n + r.messages, 0),
    mainUsPerMsg: ((after.mainTicks - before.mainTicks) * 10_000) / reports.reduce((n, r) => n + r.messages, 0),
    writesPerMsg: (after.writes - before.writes) / reports.reduce((n, r) => n + r.messages, 0),
    readsPerMsg: (after.reads - before.reads) / reports.reduce((n, r) => n + r.messages, 0),
    rssMb: after.rssMb,
    disconnects: reports.reduce((n, r) => n + r.disconnects, 0),
    errors: reports.reduce((n, r) => n + r.errors, 0),
  };
  for (const w of workers) w.child.send({ cmd: 'stop' });
  await Promise.all(workers.map((w) => new Promise((r) => (w.child.exitCode !== null ? r() : w.child.once('exit', r)))));
  await new Promise((resolve) => {
    server.child.once('exit', resolve);
    server.child.kill('SIGTERM');
    setTimeout(() => server.child.kill('SIGKILL'), 8000).unref();
  });
  return result;
}

const fmt = (v, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : '–');
const logDir = mkdtempSync(join(tmpdir(), 'vc-throughput-'));
const bareHeartbeat = bareEnv.PING_INTERVAL_MS ? `${bareEnv.PING_INTERVAL_MS} / ${bareEnv.PING_TIMEOUT_MS} ms, as this server's` : "socket.io's default 25000 / 20000 ms";
console.log(`throughput: ${CLIENTS} clients in pairs, seed-format offer_sdp ping-pong, ${SECONDS} s measured after ${WARMUP} s; ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}${args['ours-env'] ? `; this server with ${args['ours-env']}` : ''}; bare relay heartbeat ${bareHeartbeat}; node flags: this server ${oursNodeArgs.join(' ') || 'none'} (npm start), bare relay ${TARGETS.bare.nodeArgs.join(' ') || 'none'}`);
const results = [];
for (let round = 0; round < Number(args.rounds); round++) {
  const order = args.only ? [args.only] : round % 2 === 0 ? ['bare', 'ours'] : ['ours', 'bare'];
  for (const target of order) {
    const r = await measure(target, logDir);
    r.round = round + 1;
    results.push(r);
    console.log(`  round ${r.round}, ${TARGETS[target].name}: ${fmt(r.msgsPerSec)} msgs/s, server CPU ${fmt(r.serverCpuPct)} % of a core (${fmt(r.cpuUsPerMsg)} µs, of which ${fmt(r.mainUsPerMsg)} on the JS thread, ${r.writesPerMsg.toFixed(2)} writes, ${r.readsPerMsg.toFixed(2)} reads per message), load generator ${fmt(r.loadGenCpuPct)} %, RSS ${fmt(r.rssMb)} MB, disconnects ${r.disconnects}, errors ${r.errors}, load ${loadavg()[0].toFixed(2)}`);
  }
}
const median = (values) => {
  const v = [...values].sort((x, y) => x - y);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const of = (t, key) => median(results.filter((r) => r.target === t).map((r) => r[key]));
if (!args.only) {
  const rounds = Number(args.rounds);
  const perRound = Array.from({ length: rounds }, (_, i) => {
    const [b, o] = ['bare', 'ours'].map((t) => results.find((r) => r.target === t && r.round === i + 1));
    return (o.msgsPerSec / b.msgsPerSec).toFixed(2);
  });
  console.log(`\nmedian of ${rounds} rounds (ratio per round: ${perRound.join(', ')})`);
  console.log(`| server | msgs/s | ratio | server CPU per message | server CPU | load generator CPU |\n|---|---|---|---|---|---|`);
  for (const t of ['bare', 'ours']) {
    console.log(`| ${TARGETS[t].name} | ${fmt(of(t, 'msgsPerSec'))} | ${(of(t, 'msgsPerSec') / of('bare', 'msgsPerSec')).toFixed(2)} | ${fmt(of(t, 'cpuUsPerMsg'))} µs (${fmt(of(t, 'mainUsPerMsg'))} on the JS thread) | ${fmt(of(t, 'serverCpuPct'))} % | ${fmt(of(t, 'loadGenCpuPct'))} % |`);
  }
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}
if (args['keep-logs']) console.log(`server logs in ${logDir}`);
else rmSync(logDir, { recursive: true, force: true });
