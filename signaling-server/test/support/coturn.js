// Start a real coturn (`turnserver`) for a test: config in a temp dir,
// listening on 127.0.0.1 with free ports, ready once it answers a STUN
// Binding request. coturn is a hard requirement of these tests
// (deploy/setup-debian.sh installs it), so a missing binary fails loudly.

import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode, decode } from './turn_client.js';

export const TURNSERVER = '/usr/bin/turnserver';

export function assertCoturnInstalled() {
  const r = spawnSync(TURNSERVER, ['--version'], { encoding: 'utf8' });
  if (r.error) throw new Error(`${TURNSERVER} not runnable (${r.error.code}): install coturn (apt-get install coturn, see deploy/setup-debian.sh)`);
}

const canBindTcp = (port) =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
const canBindUdp = (port) =>
  new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

/** A port free for both TCP and UDP on 127.0.0.1 (TURN listens on both). */
export async function freeTcpUdpPort() {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    if ((await canBindTcp(port)) && (await canBindUdp(port))) return port;
  }
  throw new Error('no free port found');
}

async function answersBinding(port) {
  const sock = dgram.createSocket('udp4');
  try {
    await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
    const { msg, txId } = encode(0x0001, []);
    return await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 200);
      sock.on('message', (buf) => {
        if (decode(buf).txId.equals(txId)) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      sock.send(msg, port, '127.0.0.1');
    });
  } finally {
    sock.close();
  }
}

/**
 * @param {(ports: {port: number, tlsPort: number, minPort: number, maxPort: number, dir: string}) => string} makeConfig
 *   returns the config file text
 * @returns {Promise<{port: number, tlsPort: number, dir: string, logs: () => string, stop: () => Promise<void>}>}
 */
export async function startCoturn(makeConfig) {
  assertCoturnInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'vc-coturn-'));
  const port = await freeTcpUdpPort();
  let tlsPort = await freeTcpUdpPort();
  while (tlsPort === port) tlsPort = await freeTcpUdpPort();
  const minPort = 40000 + Math.floor(Math.random() * 200) * 100;
  const ports = { port, tlsPort, minPort, maxPort: minPort + 99, dir };
  const confPath = join(dir, 'turnserver.conf');
  writeFileSync(confPath, makeConfig(ports));

  const child = spawn(TURNSERVER, ['-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  let exited = null;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exited = { code, signal }))));

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 10_000;
  while (!(await answersBinding(port))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`turnserver did not start (${JSON.stringify(exited)}):\n${output.slice(-4000)}`);
    }
  }
  return { ...ports, confPath, logs: () => output, stop };
}
