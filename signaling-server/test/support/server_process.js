// Run `node src/index.js` as a child process the way a deployment (or the
// Rust client's tests) does: PORT=0, read the "listening" record from
// stdout, stop with a signal.

import { spawn } from 'node:child_process';
import { once as onceEvent } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ENTRY = fileURLToPath(new URL('../../src/index.js', import.meta.url));

/**
 * @param {Record<string, string>} env merged over PATH only
 * @returns {Promise<{url: string, port: number, child: import('node:child_process').ChildProcess,
 *   records: object[], stderr: () => string, exited: Promise<[number|null, string|null]>,
 *   kill: (signal?: string) => Promise<[number|null, string|null]>}>}
 */
// 30 s: a cold node start took over 10 s at load 11 on this 2-core machine.
// `entry`: another build's src/index.js (benchmarks' baselines).
export async function startServerProcess(env, { timeoutMs = 30_000, keepRecords = true, logFile = null, nodeArgs = [], entry = ENTRY } = {}) {
  if (logFile) return startWithLogFile(env, logFile, timeoutMs, nodeArgs, entry);
  const child = spawn(process.execPath, [...nodeArgs, entry], {
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const records = [];
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = onceEvent(child, 'exit');
  let started = false;
  const listening = new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      // keepRecords=false (benchmarks): only the startup records are parsed;
      // the rest is drained so the pipe never blocks the server.
      if (started && !keepRecords) return;
      const rec = JSON.parse(line);
      records.push(rec);
      if (rec.msg === 'listening') {
        started = true;
        resolve(rec);
      }
    });
    exited.then(([code]) => reject(new Error(`server exited with ${code} before listening: ${stderr}\n${JSON.stringify(records)}`)));
    setTimeout(() => {
      if (started) return;
      child.kill('SIGKILL');
      reject(new Error(`server did not start in time: ${stderr}\n${JSON.stringify(records)}`));
    }, timeoutMs).unref();
  });
  const rec = await listening;
  return {
    port: rec.port,
    url: `http://127.0.0.1:${rec.port}`,
    child,
    records,
    stderr: () => stderr,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Start several servers at once. If any fails to start, the ones that did
 * are killed before the error is thrown: a live child left behind keeps the
 * test file's process (and so CI) running forever.
 * @param {Record<string, string>[]} envs
 */
export async function startServerProcesses(envs, opts) {
  const settled = await Promise.allSettled(envs.map((env) => startServerProcess(env, opts)));
  const failed = settled.find((s) => s.status === 'rejected');
  if (!failed) return settled.map((s) => s.value);
  await Promise.all(settled.filter((s) => s.status === 'fulfilled').map((s) => s.value.kill('SIGKILL')));
  throw failed.reason;
}

// Benchmarks: stdout goes to a file, as to journald in production. Log
// writes to a pipe are synchronous, so a harness that is too busy to read
// its end would stall the server it is measuring.
async function startWithLogFile(env, logFile, timeoutMs, nodeArgs, entry) {
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, [...nodeArgs, entry], {
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', fd, 'pipe'],
  });
  closeSync(fd);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = onceEvent(child, 'exit');
  const deadline = Date.now() + timeoutMs;
  let rec = null;
  while (!rec) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
    rec = readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((r) => r.msg === 'listening');
  }
  return {
    port: rec.port,
    url: `http://127.0.0.1:${rec.port}`,
    child,
    records: [rec],
    stderr: () => stderr,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
