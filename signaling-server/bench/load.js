#!/usr/bin/env node
// npm run bench [-- --quick] [-- --modes single,cluster] [-- --levels 2000,5000]
//               [-- --entry OTHER/src/index.js --no-write]
//
// --entry measures another build of the server (e.g. an older commit's tree,
// `git archive COMMIT signaling-server | tar -x -C DIR`, run with this
// tree's node_modules) as a baseline; --no-write leaves RESULTS.md alone.
//
// Load benchmark: simulated socket.io clients (bench/load_worker.js, two
// worker processes) in caller/callee pairs, each pair running a full
// exchange (offer → answer → 4 ICE each way → hangup) about every 10 s.
// Against (a) one server process and (b) two processes + Redis, the number
// of connected clients is ramped level by level until p99 relay latency
// exceeds 50 ms or errors appear (or the last level passes). Prints a table
// per mode and a side-by-side summary, and writes bench/RESULTS.md.
//
// File descriptors: every connection is one fd in the server and one in a
// worker. Children are started with the soft limit raised to the hard limit
// (`ulimit -n $(ulimit -Hn)`); levels that would not fit are skipped.

import { fork, spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, startRedis } from '../test/support/redis.js';
import { cpuSnapshot, cpuUsage, rssMb } from './proc_stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OWN_ENTRY = join(ROOT, 'src/index.js');
const WORKER = join(ROOT, 'bench/load_worker.js');
const P99_LIMIT_MS = 50;
const WORKERS = 2;
const CONNECT_RATE = 1000; // new clients per second, all workers together

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    modes: { type: 'string', default: 'single,cluster' },
    levels: { type: 'string' },
    measure: { type: 'string' },
    // e.g. --server-args=--cpu-prof,--cpu-prof-dir=/tmp/prof
    'server-args': { type: 'string', default: '' },
    // keep the servers' stdout/stderr (e.g. for --trace-gc) and print where
    'keep-logs': { type: 'boolean', default: false },
    entry: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const ENTRY = args.entry ?? OWN_ENTRY;
const quick = args.quick;
const levels = (args.levels ?? (quick ? '1000,3000' : '2000,5000,10000,15000,18000')).split(',').map(Number);
const measureSeconds = Number(args.measure ?? (quick ? 5 : 10));
const modes = args.modes.split(',');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hardFdLimit = Number(execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()) || 1024;

// The node flags of deploy/systemd/voicecall-signaling.service, so the
// benchmark measures the shipped configuration; --server-args adds more.
const PRODUCTION_NODE_ARGS = ['--max-semi-space-size=64'];
const serverArgs = [...PRODUCTION_NODE_ARGS, ...(args['server-args'] ? args['server-args'].split(',') : [])];

// Start `node [nodeArgs] file` with the fd soft limit raised to the hard limit.
function spawnNode(file, env, stdio, nodeArgs = []) {
  return spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" && exec "$0" "$@"', process.execPath, ...nodeArgs, file], { env: { ...process.env, ...env }, stdio });
}

async function startNode(env, logDir, name) {
  const port = await freePort();
  const fd = openSync(join(logDir, `${name}.log`), 'w');
  // warn: one log record per relayed message (info) would measure the
  // logger; production at this scale runs at warn too (see RESULTS.md).
  const child = spawnNode(ENTRY, { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', NODE_ID: name, ...env }, ['ignore', fd, fd], serverArgs);
  closeSync(fd);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${readFileSync(join(logDir, `${name}.log`), 'utf8')}`);
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) return { child, url, name };
    await sleep(50);
  }
  throw new Error(`${name} did not come up`);
}

function startWorker() {
  // Thousands of socket.io clients per worker: the same GC tuning as the
  // server, or the load generator's own pauses would show up as latency.
  const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--max-semi-space-size=64'] });
  const waiters = [];
  child.on('message', (m) => {
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
  });
  const next = (type) => new Promise((resolve) => waiters.push({ type, resolve }));
  return { child, next, ready: next('ready') };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const MAX_ATTEMPTS = 3;
const CONTENDED_PCT = 25; // % of a core used by processes outside the benchmark

/** One measurement window across all workers. */
async function measureWindow(workers, cpuGroups) {
  const cpuBefore = cpuSnapshot(cpuGroups);
  for (const w of workers) w.child.send({ cmd: 'measure' });
  await sleep(measureSeconds * 1000);
  const cpu = cpuUsage(cpuBefore, cpuSnapshot(cpuGroups));
  const reports = await Promise.all(
    workers.map((w) => {
      const r = w.next('report');
      w.child.send({ cmd: 'report' });
      return r;
    }),
  );
  const seconds = Math.max(...reports.map((r) => r.seconds));
  const latencies = Float64Array.from(reports.flatMap((r) => r.latencies)).sort();
  const serverErrors = {};
  for (const r of reports) for (const [k, v] of Object.entries(r.serverErrors)) serverErrors[k] = (serverErrors[k] ?? 0) + v;
  const sum = (f) => reports.reduce((n, r) => n + f(r), 0);
  const errorDetail = { ...serverErrors, timeouts: sum((r) => r.timeouts), disconnects: sum((r) => r.disconnects), connectFailures: sum((r) => r.connectFailures) };
  return {
    clients: sum((r) => r.clients),
    exchangesPerSec: sum((r) => r.exchanges) / seconds,
    messagesPerSec: sum((r) => r.messages) / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? NaN,
    errors: Object.values(errorDetail).reduce((a, b) => a + b, 0),
    errorDetail,
    cpu,
  };
}

async function runMode(mode) {
  const logDir = mkdtempSync(join(tmpdir(), `vc-bench-${mode}-`));
  let redis = null;
  const nodes = [];
  if (mode === 'cluster') {
    redis = await startRedis();
    nodes.push(await startNode({ REDIS_URL: redis.url }, logDir, 'node1'), await startNode({ REDIS_URL: redis.url }, logDir, 'node2'));
  } else {
    nodes.push(await startNode({}, logDir, 'single'));
  }
  // Callers on the first node, callees on the last: in cluster mode every
  // message crosses nodes through Redis.
  const urls = [nodes[0].url, nodes.at(-1).url];
  const workers = Array.from({ length: WORKERS }, startWorker);
  await Promise.all(workers.map((w) => w.ready));

  const rows = [];
  for (const clients of levels) {
    const perNode = clients / nodes.length;
    if (perNode + 200 > hardFdLimit || clients / WORKERS + 200 > hardFdLimit) {
      console.log(`  ${mode}: skipping ${clients} clients (fd limit ${hardFdLimit})`);
      continue;
    }
    const pairsPerWorker = Math.round(clients / 2 / WORKERS);
    const t0 = Date.now();
    const grown = workers.map((w) => w.next('grown'));
    workers.forEach((w, worker) => w.child.send({ cmd: 'grow', pairs: pairsPerWorker, urls, connectRate: CONNECT_RATE / WORKERS, worker }));
    await Promise.all(grown);
    const rampSeconds = (Date.now() - t0) / 1000;
    await sleep(2000); // let the exchanges started during the ramp settle
    const cpuGroups = {
      server: [...nodes.map((n) => n.child.pid), ...(redis ? [redis.pid] : [])],
      clients: [process.pid, ...workers.map((w) => w.child.pid)],
    };
    // The machine may be shared (other builds/tests): re-measure while
    // other processes took a noticeable share, keep the least disturbed
    // window, and flag the level if even that one was contended.
    let row = null;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const measured = await measureWindow(workers, cpuGroups);
      if (!row || measured.cpu.other < row.cpu.other) row = measured;
      if (row.cpu.other <= CONTENDED_PCT) break;
      if (attempt < MAX_ATTEMPTS) console.log(`  ${mode} ${clients}: other processes used ${fmt(measured.cpu.other)} % of a core, measuring again`);
    }
    Object.assign(row, {
      mode,
      target: clients,
      serverRssMb: nodes.reduce((n, node) => n + rssMb(node.child.pid), 0),
      redisRssMb: redis ? rssMb(redis.pid) : null,
      rampSeconds,
      contended: row.cpu.other > CONTENDED_PCT,
    });
    const { cpu } = row;
    row.pass = row.p99 <= P99_LIMIT_MS && row.errors === 0 && row.clients >= clients * 0.99;
    rows.push(row);
    console.log(`  ${mode} ${String(row.clients).padStart(6)} clients${row.contended ? ' (contended)' : ''}: ${row.exchangesPerSec.toFixed(0)} exchanges/s, ${row.messagesPerSec.toFixed(0)} msgs/s, p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms, errors ${row.errors}${row.errors ? ' ' + JSON.stringify(row.errorDetail) : ''}, server RSS ${row.serverRssMb.toFixed(0)} MB, CPU % of a core: server ${cpu.server.toFixed(0)}, clients ${cpu.clients.toFixed(0)}, other processes ${cpu.other.toFixed(0)} (ramp ${rampSeconds.toFixed(0)} s) ${row.pass ? 'ok' : 'LIMIT'}`);
    if (!row.pass) break;
  }

  for (const w of workers) w.child.send({ cmd: 'stop' });
  await Promise.all(workers.map((w) => new Promise((r) => (w.child.exitCode !== null ? r() : w.child.once('exit', r)))));
  // SIGTERM (graceful) so profilers passed with --server-args can write.
  await Promise.all(nodes.map((n) => new Promise((r) => {
    if (n.child.exitCode !== null) return r();
    n.child.once('exit', r);
    n.child.kill('SIGTERM');
    setTimeout(() => n.child.kill('SIGKILL'), 8000).unref();
  })));
  await redis?.stop();
  if (args['keep-logs']) console.log(`  ${mode}: server logs kept in ${logDir}`);
  else rmSync(logDir, { recursive: true, force: true });
  return rows;
}

const fmt = (v, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : '–');

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const started = new Date();
const loadBefore = loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`load: ${ENTRY}, load average ${loadBefore}`);
console.log(`load benchmark${quick ? ' (quick)' : ''}: levels ${levels.join(', ')} clients, ${measureSeconds} s per level, modes ${modes.join(', ')}; fd hard limit ${hardFdLimit}; ${cpus().length} CPUs`);
const all = {};
for (const mode of modes) {
  console.log(`\n${mode === 'single' ? '(a) one server process' : '(b) two server processes + Redis'}:`);
  all[mode] = await runMode(mode);
}

const detailHeaders = ['mode', 'clients', 'exchanges/s', 'relayed msgs/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'server RSS MB', 'CPU% server', 'CPU% load gen', 'CPU% other procs', 'result'];
const detail = table(
  detailHeaders,
  Object.values(all).flat().map((r) => [r.mode, r.clients, fmt(r.exchangesPerSec), fmt(r.messagesPerSec), fmt(r.p50, 1), fmt(r.p99, 1), fmt(r.max, 1), r.errors, fmt(r.serverRssMb), fmt(r.cpu.server), fmt(r.cpu.clients), fmt(r.cpu.other), (r.pass ? 'ok' : 'limit reached') + (r.contended ? ' (contended)' : '')]),
);
// Side by side: the highest level each mode held within the limits.
const best = (rows) => [...rows].reverse().find((r) => r.pass);
const summaryRows = [
  ['concurrent clients held', ...modes.map((m) => best(all[m])?.clients ?? 'none')],
  ['exchanges/s', ...modes.map((m) => fmt(best(all[m])?.exchangesPerSec))],
  ['relayed msgs/s', ...modes.map((m) => fmt(best(all[m])?.messagesPerSec))],
  ['p50 relay latency ms', ...modes.map((m) => fmt(best(all[m])?.p50, 1))],
  ['p99 relay latency ms', ...modes.map((m) => fmt(best(all[m])?.p99, 1))],
  ['server RSS MB (all nodes)', ...modes.map((m) => fmt(best(all[m])?.serverRssMb))],
  ['stopped because', ...modes.map((m) => {
    const last = all[m].at(-1);
    if (!last) return 'no level ran';
    if (last.pass) return `last level passed (${last.clients})`;
    const why = last.errors ? `errors at ${last.clients}` : `p99 ${fmt(last.p99, 1)} ms at ${last.clients}`;
    return last.contended ? `${why} (machine busy)` : why;
  })],
];
const summary = table(['', ...modes.map((m) => (m === 'single' ? '(a) 1 process' : '(b) 2 processes + Redis'))], summaryRows);
console.log(`\n${summary}\n\n${detail}`);

const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
// This script owns the part of RESULTS.md between its markers; the rest
// (bench/cluster.js's section, notes written by hand) is kept as it is.
const MARK_START = '<!-- bench/load.js: start -->';
const MARK_END = '<!-- bench/load.js: end -->';
const section = `${MARK_START}
# Load benchmark results

Command: \`${command}\` (in signaling-server/)
Date: ${started.toISOString()}
Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}; server(s), Redis and both load workers share these cores. Load average (1/5/15 min) before ${loadBefore}, after ${loadavg().map((l) => l.toFixed(2)).join(' ')}.

Load: caller/callee pairs, each running offer → answer → 4 ICE each way → hangup (11 relayed messages) about every 10 s; latency is send → receive as seen by the clients (both ends of a pair in one worker process, one clock). Servers run as in deploy/systemd (\`node ${serverArgs.join(' ')} src/index.js\`) with LOG_LEVEL=warn and default PING_INTERVAL_MS (5 s: 2,000 heartbeats/s at 10k clients). Levels: ${levels.join(', ')} clients, ${measureSeconds} s measured per level after the ramp. A level passes with p99 ≤ ${P99_LIMIT_MS} ms and no errors (server errors, exchange timeouts, disconnects, failed connects).

CPU columns are % of one core during the measured window (200 % = the whole machine): the server processes (+ Redis in cluster mode), the load generator (this script and its two workers), and every *other* process on the machine. The machine is shared with other work (e.g. Rust builds); a high "other" figure means the server had less than the whole machine. A level is measured up to ${MAX_ATTEMPTS} times while other processes use more than ${CONTENDED_PCT} % of a core, and the least disturbed window is kept; "(contended)" marks a level where even that one was disturbed.

## Summary (highest level within the limits)

${summary}

## Every level

${detail}
${MARK_END}`;
if (args['no-write']) {
  console.log('\nleft bench/RESULTS.md as it was (--no-write)');
  process.exit(0);
}
const previous = readFileSync(join(ROOT, 'bench/RESULTS.md'), 'utf8');
const at = previous.indexOf(MARK_START);
const end = previous.indexOf(MARK_END);
writeFileSync(
  join(ROOT, 'bench/RESULTS.md'),
  at >= 0 && end > at ? `${previous.slice(0, at)}${section}${previous.slice(end + MARK_END.length)}` : `${section}\n\n${previous}`,
);
console.log('\nwrote bench/RESULTS.md');
