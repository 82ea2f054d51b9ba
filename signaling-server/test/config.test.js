import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEFAULTS, loadConfig } from '../src/config.js';

test('defaults when env is empty', () => {
  assert.deepEqual({ ...loadConfig({}) }, { ...DEFAULTS });
  assert.equal(DEFAULTS.port, 3000);
  assert.equal(DEFAULTS.host, '127.0.0.1');
  assert.equal(DEFAULTS.idTtlSeconds, 86400);
  assert.equal(DEFAULTS.maxPayloadBytes, 65536);
  assert.equal(DEFAULTS.offlineQueueMs, 5000);
  assert.equal(DEFAULTS.pingIntervalMs, 5000);
  assert.equal(DEFAULTS.pingTimeoutMs, 5000);
  assert.equal(DEFAULTS.logLevel, 'info');
  assert.equal(DEFAULTS.turnSecret, null);
  assert.deepEqual(DEFAULTS.turnUrls, []);
  assert.deepEqual(DEFAULTS.stunUrls, []);
  assert.equal(DEFAULTS.turnTtlSeconds, 86400);
  assert.equal(DEFAULTS.redisUrl, null);
  assert.match(DEFAULTS.nodeId, /^[A-Za-z0-9._-]{1,64}$/);
  assert.equal(DEFAULTS.rateLimitPerSec, 50);
  assert.equal(DEFAULTS.rateLimitBurst, 100);
});

test('parses every variable', () => {
  const cfg = loadConfig({
    PORT: '0',
    HOST: 'localhost',
    ID_TTL_SECONDS: '60',
    MAX_PAYLOAD_BYTES: '2048',
    OFFLINE_QUEUE_MS: '250',
    PING_INTERVAL_MS: '1000',
    PING_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'DEBUG',
    TURN_SECRET: ' s3cret ',
    TURN_URLS: 'turn:turn.example.org:3478?transport=udp, turns:turn.example.org:5349?transport=tcp',
    STUN_URLS: 'stun:stun.example.org:3478,stun:[2001:db8::1]',
    TURN_TTL_SECONDS: '3600',
    REDIS_URL: 'redis://:pw@127.0.0.1:6379/2',
    NODE_ID: 'node-1',
    RATE_LIMIT_PER_SEC: '20',
    RATE_LIMIT_BURST: '40',
  });
  assert.deepEqual({ ...cfg }, {
    port: 0,
    host: 'localhost',
    idTtlSeconds: 60,
    maxPayloadBytes: 2048,
    offlineQueueMs: 250,
    pingIntervalMs: 1000,
    pingTimeoutMs: 2000,
    logLevel: 'debug',
    turnSecret: 's3cret',
    turnUrls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349?transport=tcp'],
    stunUrls: ['stun:stun.example.org:3478', 'stun:[2001:db8::1]'],
    turnTtlSeconds: 3600,
    redisUrl: 'redis://:pw@127.0.0.1:6379/2',
    redisClusterNodes: [],
    redisPubsub: null,
    nodeId: 'node-1',
    rateLimitPerSec: 20,
    rateLimitBurst: 40,
  });
  assert.ok(Object.isFrozen(cfg));
});

test('empty values mean "use the default"', () => {
  assert.equal(loadConfig({ PORT: '', LOG_LEVEL: ' ' }).port, 3000);
});

for (const [name, value] of [
  ['PORT', 'abc'],
  ['PORT', '-1'],
  ['PORT', '65536'],
  ['PORT', '80.5'],
  ['PORT', '3000x'],
  ['ID_TTL_SECONDS', '0'],
  ['MAX_PAYLOAD_BYTES', '10'],
  ['OFFLINE_QUEUE_MS', '1e3'],
  ['PING_INTERVAL_MS', '5'],
  ['PING_TIMEOUT_MS', 'soon'],
  ['LOG_LEVEL', 'verbose'],
  ['HOST', 'two words'],
  ['TURN_TTL_SECONDS', '59'],
  ['TURN_TTL_SECONDS', '1h'],
  ['RATE_LIMIT_PER_SEC', '0'],
  ['RATE_LIMIT_BURST', 'lots'],
  ['NODE_ID', 'node 1'],
  ['NODE_ID', 'x'.repeat(65)],
  ['STUN_URLS', 'turn:x.example'],
  ['STUN_URLS', 'stun:host:70000'],
]) {
  test(`rejects ${name}=${JSON.stringify(value)} with a message naming the variable`, () => {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (err) => err instanceof ConfigError && err.message.includes(name) && err.message.includes(JSON.stringify(value)),
    );
  });
}

test('reports all problems at once', () => {
  try {
    loadConfig({ PORT: 'x', LOG_LEVEL: 'y' });
    assert.fail('expected ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 2);
  }
});

const TURN_OK = { TURN_SECRET: 'abc', TURN_URLS: 'turn:t.example:3478' };

test('TURN_URLS entries are checked one by one', () => {
  for (const bad of ['http://t.example', 'turn:t.example?transport=sctp', 'turn:', 'turn:t.example:99999', 'turn:t example']) {
    assert.throws(
      () => loadConfig({ ...TURN_OK, TURN_URLS: `turn:ok.example,${bad}` }),
      (err) => err instanceof ConfigError && err.message.includes('TURN_URLS') && err.message.includes(JSON.stringify(bad)),
      bad,
    );
  }
  const cfg = loadConfig({ ...TURN_OK, TURN_URLS: 'turn:[::1]:3478?transport=tcp,,turns:t.example' });
  assert.deepEqual(cfg.turnUrls, ['turn:[::1]:3478?transport=tcp', 'turns:t.example']);
});

test('TURN secret and URLs must come together; the secret is never echoed', () => {
  assert.throws(() => loadConfig({ TURN_SECRET: 'hunter2-secret' }), (err) => {
    assert.match(err.message, /TURN_URLS is empty/);
    assert.ok(!err.message.includes('hunter2-secret'));
    return true;
  });
  assert.throws(() => loadConfig({ TURN_URLS: 'turn:t.example' }), /neither TURN_SECRET nor TURN_SECRET_FILE/);
  // STUN alone needs no secret.
  assert.deepEqual(loadConfig({ STUN_URLS: 'stun:s.example' }).stunUrls, ['stun:s.example']);
});

test('TURN_SECRET_FILE: read and trimmed, wins over TURN_SECRET, errors are clear', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vc-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'turn-secret');
  writeFileSync(file, 'from-file-secret\n');
  assert.equal(loadConfig({ TURN_URLS: 'turn:t.example', TURN_SECRET_FILE: file }).turnSecret, 'from-file-secret');
  assert.equal(loadConfig({ TURN_URLS: 'turn:t.example', TURN_SECRET_FILE: file, TURN_SECRET: 'env-secret' }).turnSecret, 'from-file-secret');

  const missing = join(dir, 'missing');
  assert.throws(() => loadConfig({ TURN_URLS: 'turn:t.example', TURN_SECRET_FILE: missing }), (err) =>
    err.message.includes('TURN_SECRET_FILE') && err.message.includes(missing) && err.message.includes('ENOENT'));
  const empty = join(dir, 'empty');
  writeFileSync(empty, '\n');
  assert.throws(() => loadConfig({ TURN_URLS: 'turn:t.example', TURN_SECRET_FILE: empty }), /TURN_SECRET_FILE .* is empty/);
});

test('REDIS_URL must be redis:// or rediss://, and a password is never echoed', () => {
  assert.equal(loadConfig({ REDIS_URL: 'rediss://user:pw@redis.internal:6380' }).redisUrl, 'rediss://user:pw@redis.internal:6380');
  for (const bad of ['http://127.0.0.1:6379', '127.0.0.1:6379', 'redis://', 'not a url']) {
    assert.throws(() => loadConfig({ REDIS_URL: bad }), /REDIS_URL must be/, bad);
  }
  assert.throws(() => loadConfig({ REDIS_URL: 'http://user:topsecret@host' }), (err) => {
    assert.match(err.message, /REDIS_URL/);
    assert.ok(!err.message.includes('topsecret'));
    return true;
  });
});

test('REDIS_CLUSTER_NODES: host:port or redis:// seeds, one set of credentials, REDIS_PUBSUB', () => {
  const cfg = loadConfig({ REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis://10.0.0.2:7001 ,', REDIS_PUBSUB: 'Sharded' });
  assert.deepEqual(cfg.redisClusterNodes, ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7001']);
  assert.equal(cfg.redisPubsub, 'sharded');
  assert.equal(cfg.redisUrl, null);
  assert.equal(loadConfig({ REDIS_URL: 'redis://r:6379', REDIS_PUBSUB: 'classic' }).redisPubsub, 'classic');

  const problems = (env) => {
    try {
      loadConfig(env);
    } catch (err) {
      return err.message;
    }
    return 'no error';
  };
  assert.match(problems({ REDIS_CLUSTER_NODES: 'a:1,redis://b:2/3' }), /REDIS_CLUSTER_NODES entries must be .*"redis:\/\/b:2\/3"/);
  assert.match(problems({ REDIS_CLUSTER_NODES: 'a' }), /REDIS_CLUSTER_NODES entries must be/, 'a port is required');
  assert.match(problems({ REDIS_CLUSTER_NODES: ',' }), /at least one host:port/);
  assert.match(problems({ REDIS_CLUSTER_NODES: 'redis://:topsecret@a:1,b:2' }), /same scheme .* same user\/password/);
  assert.match(problems({ REDIS_CLUSTER_NODES: 'a:1', REDIS_URL: 'redis://b' }), /either REDIS_URL .* or REDIS_CLUSTER_NODES/);
  assert.match(problems({ REDIS_PUBSUB: 'sharded' }), /REDIS_PUBSUB is set but neither/);
  assert.match(problems({ REDIS_URL: 'redis://b', REDIS_PUBSUB: 'fast' }), /REDIS_PUBSUB must be classic or sharded/);
  const secret = problems({ REDIS_CLUSTER_NODES: 'redis://:topsecret@a:1/5' });
  assert.match(secret, /REDIS_CLUSTER_NODES/);
  assert.ok(!secret.includes('topsecret'));
});
