// Start a throwaway redis-server for a test: free port on 127.0.0.1 (redis
// has no "--port 0"), no persistence, working dir in a temp dir.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_SERVER = '/usr/bin/redis-server';

/** A TCP port that was free a moment ago (listen on 0, read, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const ping = (port) =>
  new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port }, () => sock.write('PING\r\n'));
    sock.once('data', (d) => {
      sock.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    sock.once('error', () => resolve(false));
  });

/** @returns {Promise<{url: string, port: number, pid: number, stop: () => Promise<void>}>} */
export async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'vc-redis-'));
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn(
      REDIS_SERVER,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', (err) => (output += String(err)));
    let exited = false;
    const exit = new Promise((resolve) => child.once('exit', () => resolve((exited = true))));
    const deadline = Date.now() + 5000;
    while (!exited && Date.now() < deadline && !(await ping(port))) await new Promise((r) => setTimeout(r, 20));
    if (!exited && (await ping(port))) {
      return {
        port,
        pid: child.pid,
        url: `redis://127.0.0.1:${port}`,
        async stop() {
          if (!exited) {
            child.kill('SIGKILL');
            await exit;
          }
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    await exit;
    // Port taken between freePort() and redis binding it: try another.
    if (!/in use/i.test(output)) throw new Error(`redis-server did not start: ${output}`);
  }
  throw new Error('redis-server: no free port after 5 attempts');
}
