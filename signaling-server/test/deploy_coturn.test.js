// The shipped deploy/coturn/turnserver.conf, rendered by the shipped
// render-turnserver-conf.sh, runs in a real coturn and accepts the
// credentials this server issues.
//
// Test overrides (the minimum to run on loopback, as an unprivileged test):
//   listening-ip/relay-ip=127.0.0.1, free listening/TLS/relay ports,
//   cert/pkey → a throwaway self-signed certificate (the shipped paths point
//   at Let's Encrypt files that do not exist here), log to stdout, pidfile
//   and userdb in the temp dir, and allow-loopback-peers +
//   allowed-peer-ip=127.0.0.1 so one loopback peer can receive relayed data
//   (coturn refuses loopback peers before it even looks at the allow/deny
//   lists). Everything else — auth, TLS
//   versions and ciphers, quotas, the denied-peer-ip list — is as shipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { startCoturn } from './support/coturn.js';
import { allocate, connectTurn, createPermission, sendIndication } from './support/turn_client.js';
import { connectRegistered, startServer } from './helpers.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/coturn/', import.meta.url));
const SHIPPED_CONF = join(DEPLOY, 'turnserver.conf');
const RENDER = join(DEPLOY, 'render-turnserver-conf.sh');

// Keys the test replaces (all their lines are dropped, then the test values
// appended). Multi-valued keys such as denied-peer-ip are left alone.
const OVERRIDDEN = new Set(['listening-port', 'tls-listening-port', 'min-port', 'max-port', 'cert', 'pkey', 'log-file', 'no-stdout-log', 'pidfile']);

function withOverrides(text, overrides) {
  const kept = text.split('\n').filter((line) => {
    const key = line.trim().split('=')[0];
    return !OVERRIDDEN.has(key);
  });
  return `${kept.join('\n')}\n# ---- test overrides ----\n${overrides.join('\n')}\n`;
}

test('shipped turnserver.conf: renders, starts, and works with issued credentials over UDP, TCP and TLS', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vc-deploy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const secret = `deploy-test-${Math.random().toString(36).slice(2)}`;
  const secretFile = join(dir, 'turn-secret');
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });

  // 1. The render step, exactly as the systemd drop-in runs it.
  const rendered = join(dir, 'rendered.conf');
  execFileSync(RENDER, [SHIPPED_CONF, rendered, secretFile]);
  const renderedText = readFileSync(rendered, 'utf8');
  assert.equal(statSync(rendered).mode & 0o777, 0o600, 'rendered config is private');
  assert.ok(!renderedText.includes('__VOICECALL_TURN_SECRET__'));
  assert.equal(renderedText.split('\n').filter((l) => l === `static-auth-secret=${secret}`).length, 1);
  const realm = /^realm=(.*)$/m.exec(renderedText)[1];

  // 2. A throwaway certificate for the TLS listener.
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=turn.test'], { stdio: 'ignore' });

  const turn = await startCoturn(({ port, tlsPort, minPort, maxPort, dir: runDir }) =>
    withOverrides(renderedText, [
      'listening-ip=127.0.0.1',
      'relay-ip=127.0.0.1',
      `listening-port=${port}`,
      `tls-listening-port=${tlsPort}`,
      `min-port=${minPort}`,
      `max-port=${maxPort}`,
      `cert=${cert}`,
      `pkey=${key}`,
      'log-file=stdout',
      `pidfile=${runDir}/turnserver.pid`,
      `userdb=${runDir}/turndb`,
      'allow-loopback-peers',
      'allowed-peer-ip=127.0.0.1',
    ]),
  );
  t.after(() => turn.stop());

  // 3. The signaling server reads the same secret file, as in production.
  const config = loadConfig({
    TURN_SECRET_FILE: secretFile,
    TURN_URLS: `turn:127.0.0.1:${turn.port}?transport=udp,turn:127.0.0.1:${turn.port}?transport=tcp,turns:127.0.0.1:${turn.tlsPort}?transport=tcp`,
  });
  const { server, url } = await startServer({ turnSecret: config.turnSecret, turnUrls: config.turnUrls });
  t.after(() => server.close());
  const c = await connectRegistered(url);
  t.after(() => c.socket.close());
  const { username, credential } = c.iceServers.iceServers.find((s) => s.username);

  const fail = (what, res) => `${what}: ${JSON.stringify(res)}\n--- coturn log ---\n${turn.logs().slice(-3000)}`;

  for (const [transport, port] of [['udp', turn.port], ['tcp', turn.port], ['tls', turn.tlsPort]]) {
    const client = await connectTurn({ port, transport });
    try {
      const res = await allocate(client, { username, password: credential });
      assert.equal(res.ok, true, fail(`allocate over ${transport}`, res));
      assert.equal(res.realm, realm);
      assert.ok(res.relayed.port >= turn.minPort && res.relayed.port <= turn.maxPort);
    } finally {
      client.close();
    }
    const wrong = await connectTurn({ port, transport });
    try {
      const res = await allocate(wrong, { username, password: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' });
      assert.deepEqual([res.ok, res.errorCode], [false, 401], fail(`wrong credential over ${transport}`, res));
    } finally {
      wrong.close();
    }
  }

  // 4. Peer filtering from the shipped denied-peer-ip list is in force:
  // with loopback peers allowed in general, 127.0.0.2 is still denied by the
  // shipped 127.0.0.0-127.255.255.255 entry; only the test's
  // allowed-peer-ip=127.0.0.1 gets through — and data really is relayed.
  const peer = dgram.createSocket('udp4');
  await new Promise((resolve) => peer.bind(0, '127.0.0.1', resolve));
  t.after(() => peer.close());
  const peerAddr = { address: '127.0.0.1', port: peer.address().port };
  const client = await connectTurn({ port: turn.port, transport: 'udp' });
  t.after(() => client.close());
  const alloc = await allocate(client, { username, password: credential });
  assert.equal(alloc.ok, true, fail('allocate for relay', alloc));

  const denied = await createPermission(client, alloc.session, { address: '127.0.0.2', port: 9 });
  assert.deepEqual([denied.ok, denied.errorCode], [false, 403], fail('permission to a denied peer', denied));
  const allowed = await createPermission(client, alloc.session, peerAddr);
  assert.equal(allowed.ok, true, fail('permission to the allowed peer', allowed));

  const received = new Promise((resolve) => peer.once('message', (msg, rinfo) => resolve({ msg, rinfo })));
  sendIndication(client, peerAddr, Buffer.from('hello through the relay'));
  const { msg, rinfo } = await received;
  assert.equal(msg.toString(), 'hello through the relay');
  assert.deepEqual({ address: rinfo.address, port: rinfo.port }, alloc.relayed, 'data came from the relayed address');
});

test('render-turnserver-conf.sh refuses a missing placeholder or a bad secret', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vc-render-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = (template, secret) => {
    writeFileSync(join(dir, 't.conf'), template);
    writeFileSync(join(dir, 's'), secret);
    return spawnSync(RENDER, [join(dir, 't.conf'), join(dir, 'out.conf'), join(dir, 's')], { encoding: 'utf8' });
  };
  const ok = run('realm=x\nstatic-auth-secret=__VOICECALL_TURN_SECRET__\n', '  abc  \n');
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(readFileSync(join(dir, 'out.conf'), 'utf8'), 'realm=x\nstatic-auth-secret=abc\n');

  const none = run('realm=x\n', 'abc\n');
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /exactly once/);
  const twice = run('static-auth-secret=__VOICECALL_TURN_SECRET__\nstatic-auth-secret=__VOICECALL_TURN_SECRET__\n', 'abc\n');
  assert.notEqual(twice.status, 0);
  for (const bad of ['\n', '', 'two words\n']) {
    const r = run('static-auth-secret=__VOICECALL_TURN_SECRET__\n', bad);
    assert.notEqual(r.status, 0, JSON.stringify(bad));
    assert.match(r.stderr, /empty or contains whitespace/);
  }
  const missing = spawnSync(RENDER, [join(dir, 't.conf'), join(dir, 'out2.conf'), join(dir, 'nope')], { encoding: 'utf8' });
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /cannot read the TURN secret file/);
});
