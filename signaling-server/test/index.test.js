// The real entry point as a child process, the way the Rust client's tests
// will run it: PORT=0, parse the "listening" line, probe, SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once as onceEvent } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { client, once } from './helpers.js';

const ENTRY = fileURLToPath(new URL('../src/index.js', import.meta.url));

function start(env) {
  const child = spawn(process.execPath, [ENTRY], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const records = [];
  const lines = createInterface({ input: child.stdout });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const listening = new Promise((resolve, reject) => {
    lines.on('line', (line) => {
      const rec = JSON.parse(line); // every stdout line must be JSON
      records.push(rec);
      if (rec.msg === 'listening') resolve(rec);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before listening: ${stderr}`)));
  });
  const exited = onceEvent(child, 'exit');
  return { child, records, listening, exited, stderr: () => stderr };
}

test('node src/index.js with PORT=0: listening line, /healthz, SIGTERM exits 0', async () => {
  const proc = start({ PORT: '0', HOST: '127.0.0.1' });
  const rec = await proc.listening;
  assert.equal(rec.host, '127.0.0.1');
  assert.equal(typeof rec.port, 'number');
  assert.ok(rec.port > 0 && rec.port < 65536);
  const url = `http://${rec.host}:${rec.port}`;

  const res = await fetch(`${url}/healthz`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  const health = await res.json();
  assert.equal(health.status, 'ok');
  assert.equal(health.clients, 0);

  // A connected client does not block shutdown.
  const c = client(url);
  await once(c, 'registered');

  proc.child.kill('SIGTERM');
  const [code, signal] = await proc.exited;
  c.close();
  assert.equal(signal, null);
  assert.equal(code, 0);
  assert.ok(proc.records.some((r) => r.msg === 'shutting down' && r.signal === 'SIGTERM'));
  assert.ok(proc.records.some((r) => r.msg === 'connect'));
});

test('SIGINT also shuts down cleanly', async () => {
  const proc = start({ PORT: '0' });
  await proc.listening;
  proc.child.kill('SIGINT');
  const [code, signal] = await proc.exited;
  assert.deepEqual([code, signal], [0, null]);
});

test('invalid env → clear message on stderr and exit code 1', async () => {
  const proc = start({ PORT: 'not-a-port', OFFLINE_QUEUE_MS: '-5' });
  proc.listening.catch(() => {});
  const [code] = await proc.exited;
  assert.equal(code, 1);
  assert.match(proc.stderr(), /PORT \(the listening port\) must be an integer between 0 and 65535/);
  assert.match(proc.stderr(), /OFFLINE_QUEUE_MS/);
  assert.ok(proc.records.some((r) => r.level === 'error' && r.msg === 'invalid configuration'));
});

test('port already in use → exit code 1 with an error record', async () => {
  const first = start({ PORT: '0' });
  const { port } = await first.listening;
  const second = start({ PORT: String(port) });
  second.listening.catch(() => {});
  const [code] = await second.exited;
  assert.equal(code, 1);
  assert.ok(second.records.some((r) => r.msg === 'failed to listen'));
  first.child.kill('SIGTERM');
  await first.exited;
});
