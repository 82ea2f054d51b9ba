#!/usr/bin/env node
// node bench/abuse.js [--seconds 10] [--before SECONDS] [--pairs 4]
//                     [--only "slow reader,reflection"]
//                     [--server-args=--cpu-prof,--cpu-prof-dir=/tmp/prof]
//                     [--tree OTHER/signaling-server [--rounds 1]]
//
// --tree: every attack also against another build of this server (e.g. a
// clean checkout of main), in the same run: this tree and the other
// alternate (other first in odd rounds), --rounds times each.
//
// Every attack of issue 11 against a fresh server process with the default
// limits (started like deploy/systemd: node --max-semi-space-size=64,
// LOG_LEVEL=info, logs to a file), on loopback only, while two legit users
// (bench/legit_pair.js, 127.0.0.1) stay in a call and keep renegotiating it,
// beside --pairs − 1 more legit pairs (bystanders, 127.0.200.x) whose
// latencies add samples: about 80 a second per pair.
// Each attack is bounded in time (--seconds) and in count (see
// bench/abuse_attacks.js) and runs from its own loopback addresses.
//
// Per attack it prints: legit relay latency p50/p99 before the attack (the
// baseline: as long as the attack unless --before says otherwise, on the
// same server, same run) and during it, with the number of samples and a
// 95 % interval for each p99 (order statistics: a p99 from 300 samples is
// its 3rd-largest value and says little; the interval shows how little), server RSS before and during (peak), attacker messages the server
// relayed (from its metrics, minus the legit users' own), what else the
// attacker got, and whether the targets hold: legit p99 ≤ 100 ms, RSS
// ≤ +100 MB, no legit client disconnected or refused anything.

import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { ENTRY, startServerProcess } from '../test/support/server_process.js';
import { ATTACKS } from './abuse_attacks.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    before: { type: 'string' },
    pairs: { type: 'string', default: '4' },
    only: { type: 'string' },
    'server-args': { type: 'string', default: '' },
    tree: { type: 'string' },
    rounds: { type: 'string', default: '1' },
  },
});
const SECONDS = Number(args.seconds);
const SERVER_ARGS = args['server-args'] ? args['server-args'].split(',') : [];
const BEFORE = Number(args.before ?? args.seconds);
const PAIRS = Number(args.pairs);
// The builds measured: this tree, and with --tree another. Attacks that send
// large payloads send the largest each build accepts (its MAX_PAYLOAD_BYTES).
const HERE = resolve(dirname(ENTRY), '..');
const buildOf = async (dir, name) => ({
  name,
  entry: join(dir, 'src/index.js'),
  maxPayload: (await import(pathToFileURL(join(dir, 'src/config.js')).href)).DEFAULTS.maxPayloadBytes,
});
const BUILDS = [await buildOf(HERE, 'this tree')];
if (args.tree) BUILDS.push(await buildOf(resolve(args.tree), basename(resolve(args.tree, '..')) || args.tree));
const ROUNDS = args.tree ? Number(args.rounds) : 1;
const P99_LIMIT_MS = 100;
const RSS_LIMIT_MB = 100;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Extra settings some attacks need (TURN credentials to mint).
const ENV = {
  'TURN minting': { TURN_SECRET: 'abuse-bench-secret', TURN_URLS: 'turn:127.0.0.1:3478?transport=udp' },
};

function rssMb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return NaN;
  }
}

// utime + stime of a process, in clock ticks (USER_HZ = 100).
function cpuTicks(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return NaN;
  }
}

function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// A distribution-free 95 % interval for the p-th percentile: the order
// statistics whose ranks bracket n·q ± 1.96·√(n·q·(1−q)) (normal
// approximation of the binomial count of samples below the percentile).
function percentileInterval(values, p) {
  const n = values.length;
  if (n === 0) return [NaN, NaN];
  const sorted = Float64Array.from(values).sort();
  const q = p / 100;
  const half = 1.96 * Math.sqrt(n * q * (1 - q));
  const at = (rank) => sorted[Math.min(n - 1, Math.max(0, Math.round(rank)))];
  return [at(n * q - half - 1), at(n * q + half)];
}

async function relayedTotal(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith('voicecall_messages_relayed_total{')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

function startPair(port, i) {
  const workerData = { port, pauseMs: 100, roundTimeoutMs: 5000 };
  if (i > 0) Object.assign(workerData, { ids: { a: `legit-a${i}`, b: `legit-b${i}` }, localAddress: `127.0.200.${i}` });
  const worker = new Worker(new URL('./legit_pair.js', import.meta.url), { workerData });
  const waiters = [];
  worker.on('message', (m) => {
    const type = m === 'ready' ? 'ready' : m.type;
    const i = waiters.findIndex((w) => w.type === type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
  });
  const next = (type) => new Promise((resolve) => waiters.push({ type, resolve }));
  const ready = next('ready');
  return {
    ready,
    window: () => {
      const w = next('window');
      worker.postMessage('window');
      return w;
    },
    stop: async () => {
      const done = next('done');
      worker.postMessage('stop');
      const result = await done;
      await worker.terminate();
      return result;
    },
  };
}

// Every pair's figures of a window (or the totals), merged.
function merge(parts) {
  return {
    latencies: parts.flatMap((w) => w.latencies),
    rounds: parts.reduce((n, w) => n + w.rounds, 0),
    busySent: parts.reduce((n, w) => n + w.busySent, 0),
    errors: parts.flatMap((w) => w.errors),
    failures: parts.flatMap((w) => w.failures),
    disconnects: parts.reduce((n, w) => n + w.disconnects, 0),
  };
}

function startLegit(port) {
  const pairs = Array.from({ length: PAIRS }, (_, i) => startPair(port, i));
  return {
    ready: Promise.all(pairs.map((p) => p.ready)),
    window: async () => merge(await Promise.all(pairs.map((p) => p.window()))),
    stop: async () => merge(await Promise.all(pairs.map((p) => p.stop()))),
  };
}

function runAttack(attack, port, maxPayload) {
  const child = fork(new URL('./abuse_worker.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let lastTicks = 0;
  const ticker = setInterval(() => {
    const t = cpuTicks(child.pid);
    if (Number.isFinite(t)) lastTicks = t;
  }, 200);
  const result = new Promise((resolve) => {
    child.once('message', (m) => {
      clearInterval(ticker);
      resolve({ ...m, attackerTicks: Math.max(lastTicks, cpuTicks(child.pid) || 0) });
    });
    child.once('exit', (code) => {
      clearInterval(ticker);
      resolve({ type: 'failed', error: `attacker exited ${code}`, attackerTicks: lastTicks });
    });
  });
  child.send({ attack, port, seconds: SECONDS, legit: { a: 'legit-a', b: 'legit-b' }, maxPayload });
  return result;
}

async function measure(attack, build) {
  const logDir = mkdtempSync(join(tmpdir(), 'vc-abuse-'));
  const server = await startServerProcess({ LOG_LEVEL: 'info', NODE_ID: 'abuse', ...(ENV[attack] ?? {}) }, { logFile: join(logDir, 'server.log'), nodeArgs: ['--max-semi-space-size=64', ...SERVER_ARGS], entry: build.entry });
  const pid = server.child.pid;
  const legit = startLegit(server.port);
  await legit.ready;
  await sleep(1000);
  await legit.window(); // warm-up, discarded
  await sleep(BEFORE * 1000);
  const before = await legit.window();
  const rssBefore = rssMb(pid);
  const relayed0 = await relayedTotal(server.url);
  const w0 = await legit.window();

  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(pid))), 100);
  const ticks0 = cpuTicks(pid);
  const t0 = performance.now();
  const outcome = await runAttack(attack, server.port, build.maxPayload);
  const attackSeconds = (performance.now() - t0) / 1000;
  const serverCpu = (cpuTicks(pid) - ticks0) / attackSeconds;
  clearInterval(sampler);
  const during = await legit.window();
  await sleep(1100); // past the metrics render cache
  const after = await legit.window();
  const relayed1 = await relayedTotal(server.url);
  const totals = await legit.stop();
  const alive = server.child.exitCode === null;
  await server.kill('SIGTERM');
  rmSync(logDir, { recursive: true, force: true });

  const legitRelayed = [w0, during, after].reduce((n, w) => n + w.latencies.length + w.busySent, 0);
  const legitProblems = [...before.errors, ...during.errors, ...after.errors];
  return {
    attack: BUILDS.length > 1 ? `${attack} (${build.name})` : attack,
    p50Before: percentile(before.latencies, 50),
    p99Before: percentile(before.latencies, 99),
    ciBefore: percentileInterval(before.latencies, 99),
    nBefore: before.latencies.length,
    p50During: percentile(during.latencies, 50),
    p99During: percentile(during.latencies, 99),
    ciDuring: percentileInterval(during.latencies, 99),
    nDuring: during.latencies.length,
    roundsDuring: during.rounds,
    rssBefore,
    rssDuring: rssPeak,
    delivered: Math.max(0, relayed1 - relayed0 - legitRelayed),
    serverCpu,
    attackerCpu: outcome.attackerTicks / attackSeconds,
    outcome,
    legitDisconnects: totals.disconnects,
    legitFailures: totals.failures.length,
    legitErrors: legitProblems.map((e) => e.code).filter((c, i, all) => all.indexOf(c) === i),
    alive,
  };
}

const fmt = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '–');
const names = args.only ? args.only.split(',').map((s) => s.trim()) : Object.keys(ATTACKS);
for (const n of names) if (!ATTACKS[n]) throw new Error(`unknown attack "${n}"; known: ${Object.keys(ATTACKS).join(', ')}`);

const ci = (r) => `[${fmt(r[0])}–${fmt(r[1])}]`;
console.log(`abuse bench: ${names.length} attacks, ${SECONDS} s each (+${BEFORE} s baseline before), ${PAIRS} legit pairs, default limits, loopback only; ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
if (BUILDS.length > 1) console.log(`builds: ${BUILDS.map((b) => `${b.name} (${b.entry}, MAX_PAYLOAD_BYTES ${b.maxPayload})`).join(', ')}; ${ROUNDS} round(s), alternating`);
const runs = [];
for (const name of names) {
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [...BUILDS].reverse() : BUILDS;
    for (const build of order) runs.push([name, build]);
  }
}
const rows = [];
for (const [name, build] of runs) {
  const r = await measure(name, build);
  const ok =
    r.alive &&
    r.outcome.type === 'done' &&
    r.p99During <= P99_LIMIT_MS &&
    r.rssDuring - r.rssBefore <= RSS_LIMIT_MB &&
    r.legitDisconnects === 0 &&
    r.legitFailures === 0 &&
    r.legitErrors.length === 0 &&
    r.roundsDuring > 0;
  r.verdict = ok ? 'ok' : 'FAIL';
  rows.push(r);
  const got = r.outcome.type === 'done' ? `${r.outcome.got} ${r.outcome.unit}` : `attacker failed: ${r.outcome.error}`;
  console.log(`  ${r.attack}: legit p50/p99 ${fmt(r.p50Before)}/${fmt(r.p99Before)} ${ci(r.ciBefore)} (n=${r.nBefore}) → ${fmt(r.p50During)}/${fmt(r.p99During)} ${ci(r.ciDuring)} (n=${r.nDuring}) ms, RSS ${fmt(r.rssBefore, 0)} → ${fmt(r.rssDuring, 0)} MB, attacker messages relayed ${r.delivered}, attacker got ${got}; legit disconnects ${r.legitDisconnects}, errors [${r.legitErrors.join(', ')}]; CPU % of a core: server ${fmt(r.serverCpu, 0)}, attacker ${fmt(r.attackerCpu, 0)}, load ${loadavg()[0].toFixed(1)} ${r.verdict}`);
}

const header = ['attack', 'legit p50 before ms', 'legit p99 before ms [95 %]', 'n before', 'legit p50 during ms', 'legit p99 during ms [95 %]', 'n during', 'RSS before MB', 'RSS during MB', 'attacker msgs relayed', 'attacker got', 'legit disconnected', 'CPU% server / attacker', 'result'];
const table = rows.map((r) => [
  r.attack,
  fmt(r.p50Before),
  `${fmt(r.p99Before)} ${ci(r.ciBefore)}`,
  String(r.nBefore),
  fmt(r.p50During),
  `${fmt(r.p99During)} ${ci(r.ciDuring)}`,
  String(r.nDuring),
  fmt(r.rssBefore, 0),
  fmt(r.rssDuring, 0),
  String(r.delivered),
  r.outcome.type === 'done' ? `${r.outcome.got} ${r.outcome.unit}` : 'attacker failed',
  String(r.legitDisconnects),
  `${fmt(r.serverCpu, 0)} / ${fmt(r.attackerCpu, 0)}`,
  r.verdict,
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${table.map(line).join('\n')}`);
console.log(`\ntargets: legit p99 ≤ ${P99_LIMIT_MS} ms, RSS ≤ +${RSS_LIMIT_MB} MB, no legit client disconnected or refused; load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
process.exitCode = rows.every((r) => r.verdict === 'ok') ? 0 : 1;
