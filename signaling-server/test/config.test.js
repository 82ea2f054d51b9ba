import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEFAULTS, INTEGER_VARS, loadConfig } from '../src/config.js';

test('defaults when env is empty', () => {
  assert.deepEqual({ ...loadConfig({}) }, { ...DEFAULTS });
  assert.equal(DEFAULTS.port, 3000);
  assert.equal(DEFAULTS.host, '127.0.0.1');
  assert.equal(DEFAULTS.idTtlSeconds, 90 * 86400);
  assert.equal(DEFAULTS.maxIds, 1_000_000);
  assert.equal(DEFAULTS.maxPayloadBytes, 16384);
  assert.equal(DEFAULTS.offlineQueueMs, 5000);
  assert.equal(DEFAULTS.pingIntervalMs, 5000);
  assert.equal(DEFAULTS.pingTimeoutMs, 5000);
  assert.equal(DEFAULTS.logLevel, 'info');
  assert.equal(DEFAULTS.turnSecret, null);
  assert.deepEqual(DEFAULTS.turnUrls, []);
  assert.deepEqual(DEFAULTS.stunUrls, []);
  assert.equal(DEFAULTS.turnTtlSeconds, 3600);
  assert.equal(DEFAULTS.redisUrl, null);
  assert.match(DEFAULTS.nodeId, /^[A-Za-z0-9._-]{1,64}$/);
  assert.equal(DEFAULTS.rateLimitPerSec, 50);
  assert.equal(DEFAULTS.rateLimitBurst, 100);
  // The abuse limits, as PROTOCOL.md documents them.
  assert.deepEqual(
    {
      byte: [DEFAULTS.byteRatePerSec, DEFAULTS.byteBurst],
      ip: [DEFAULTS.ipRateLimitPerSec, DEFAULTS.ipRateLimitBurst, DEFAULTS.ipByteRatePerSec, DEFAULTS.ipByteBurst],
      connections: [DEFAULTS.maxConnectionsPerIp, DEFAULTS.ipConnectsPerMin, DEFAULTS.ipConnectBurst],
      registrations: [DEFAULTS.ipRegistrationsPerHour, DEFAULTS.ipRegistrationBurst],
      offenders: [DEFAULTS.ipCutsPerHour, DEFAULTS.ipCutBurst, DEFAULTS.blockSeconds, DEFAULTS.maxBlockSeconds, DEFAULTS.maxOffenderAddresses],
      sendBuffer: DEFAULTS.maxSendBufferBytes,
      queue: [DEFAULTS.queueMaxBytesPerTarget, DEFAULTS.queueMaxBytes],
      calls: [DEFAULTS.callsPerTargetPerMin, DEFAULTS.callsPerTargetBurst, DEFAULTS.callsPerSenderPerMin, DEFAULTS.callsPerSenderBurst, DEFAULTS.callsPerIpPerMin, DEFAULTS.callsPerIpBurst, DEFAULTS.callRingSeconds, DEFAULTS.callIdleSeconds],
      auth: [DEFAULTS.authFailuresPerIdPerMin, DEFAULTS.authFailuresPerIdBurst, DEFAULTS.authFailuresPerIpPerMin, DEFAULTS.authFailuresPerIpBurst],
      ice: [DEFAULTS.iceRequestsPerMin, DEFAULTS.iceRequestBurst],
      web: [DEFAULTS.allowedOrigins, DEFAULTS.trustedProxies, DEFAULTS.metricsToken, DEFAULTS.metricsPort],
    },
    {
      byte: [16384, 65536],
      ip: [500, 1000, 131072, 262144],
      connections: [100, 600, 100],
      registrations: [120, 30],
      offenders: [20, 3, 30, 900, 100_000],
      sendBuffer: 1048576,
      queue: [262144, 16777216],
      calls: [20, 10, 30, 10, 120, 30, 120, 3600],
      auth: [6, 10, 12, 20],
      ice: [12, 6],
      web: [[], [], null, null],
    },
  );
});

test('every integer variable is documented in PROTOCOL.md and deploy/README.md', async () => {
  const { readFileSync } = await import('node:fs');
  const protocol = readFileSync(new URL('../PROTOCOL.md', import.meta.url), 'utf8');
  const deploy = readFileSync(new URL('../../deploy/README.md', import.meta.url), 'utf8');
  for (const [name] of INTEGER_VARS) {
    if (name === 'PORT') continue;
    assert.ok(protocol.includes(`\`${name}\``), `${name} missing from PROTOCOL.md`);
    assert.ok(deploy.includes(name), `${name} missing from deploy/README.md`);
  }
  for (const name of ['ALLOWED_ORIGINS', 'TRUSTED_PROXIES', 'METRICS_TOKEN', 'METRICS_TOKEN_FILE', 'METRICS_HOST', 'METRICS_PORT']) {
    assert.ok(protocol.includes(`\`${name}\``), `${name} missing from PROTOCOL.md`);
    assert.ok(deploy.includes(name), `${name} missing from deploy/README.md`);
  }
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
    MAX_CONNECTIONS_PER_IP: '7',
    ALLOWED_ORIGINS: 'https://a.example, http://b.example:8080/',
    TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8, ::1',
    METRICS_TOKEN: 'sixteen-chars-ok',
    METRICS_PORT: '9100',
    METRICS_HOST: '0.0.0.0',
  });
  assert.deepEqual({ ...cfg }, {
    ...DEFAULTS,
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
    maxConnectionsPerIp: 7,
    allowedOrigins: ['https://a.example', 'http://b.example:8080'],
    trustedProxies: ['127.0.0.1', '10.0.0.0/8', '::1'],
    metricsToken: 'sixteen-chars-ok',
    metricsPort: 9100,
    metricsHost: '0.0.0.0',
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
  ['MAX_IDS', '10'],
  ['BYTE_RATE_PER_SEC', '100'],
  ['MAX_CONNECTIONS_PER_IP', '0'],
  ['MAX_SEND_BUFFER_BYTES', '1k'],
  ['CALLS_PER_TARGET_PER_MIN', '-3'],
  ['ALLOWED_ORIGINS', 'not an origin'],
  ['ALLOWED_ORIGINS', 'https://a.example/path'],
  ['TRUSTED_PROXIES', '10.0.0.0/33'],
  ['TRUSTED_PROXIES', 'proxy.example'],
]) {
  test(`rejects ${name}=${JSON.stringify(value)} with a message naming the variable`, () => {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (err) => err instanceof ConfigError && err.message.includes(name) && err.message.includes(JSON.stringify(value)),
    );
  });
}

test('every budget is read from a rate and a burst variable; a bad one is named with what it limits', () => {
  for (const [name, key] of INTEGER_VARS) assert.ok(key in DEFAULTS, `${name} → ${key}, which has no default`);
  const budgetVars = INTEGER_VARS.filter(([, , , , what]) => /^the (sustained rate|burst) of /.test(what));
  assert.equal(budgetVars.length, 26, 'thirteen budgets');
  const problemsOf = (env) => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      return err.problems;
    }
  };
  for (const [name, , min, max, what] of budgetVars) {
    const mine = (value) => problemsOf({ [name]: String(value) }).filter((p) => p.startsWith(`${name} (${what}) must be`));
    assert.deepEqual([mine(min).length, mine(max).length, mine(min - 1).length, mine(max + 1).length], [0, 0, 1, 1], name);
  }
  assert.throws(
    () => loadConfig({ CALLS_PER_TARGET_BURST: 'ten', IP_BYTE_RATE_PER_SEC: '512' }),
    (err) =>
      err.problems.length === 2 &&
      err.problems[0] === 'IP_BYTE_RATE_PER_SEC (the sustained rate of bytes per address) must be an integer between 1024 and 68719476736 (got "512")' &&
      err.problems[1] === 'CALLS_PER_TARGET_BURST (the burst of call requests per callee) must be an integer between 1 and 1000000 (got "ten")',
  );
});

test('limits that would lock out legitimate clients are refused', () => {
  for (const [env, pattern] of [
    [{ BYTE_BURST: '2048' }, /BYTE_BURST \(2048\) must be at least MAX_PAYLOAD_BYTES/],
    [{ IP_BYTE_BURST: '50000' }, /IP_BYTE_BURST \(50000\) must be at least BYTE_BURST/],
    [{ MAX_PAYLOAD_BYTES: '65536', BYTE_BURST: '65536', IP_BYTE_BURST: '262144', MAX_SEND_BUFFER_BYTES: '100000' }, /MAX_SEND_BUFFER_BYTES .* 2 × MAX_PAYLOAD_BYTES/],
    [{ QUEUE_MAX_BYTES_PER_TARGET: '2048' }, /QUEUE_MAX_BYTES_PER_TARGET .* MAX_PAYLOAD_BYTES/],
    [{ BLOCK_SECONDS: '60', MAX_BLOCK_SECONDS: '30' }, /MAX_BLOCK_SECONDS \(30\) must be at least BLOCK_SECONDS \(60\)/],
    [{ PORT: '9100', METRICS_PORT: '9100' }, /METRICS_PORT must differ from PORT/],
    [{ METRICS_TOKEN: 'short' }, /METRICS_TOKEN must be at least 16/],
  ]) {
    assert.throws(() => loadConfig(env), (err) => err instanceof ConfigError && pattern.test(err.message), JSON.stringify(env));
  }
});

test('METRICS_TOKEN_FILE: read and trimmed, never echoed', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vc-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'metrics-token');
  writeFileSync(file, 'a-metrics-token-from-a-file\n');
  assert.equal(loadConfig({ METRICS_TOKEN_FILE: file, METRICS_TOKEN: 'ignored-env-token' }).metricsToken, 'a-metrics-token-from-a-file');
  writeFileSync(file, 'short\n');
  assert.throws(() => loadConfig({ METRICS_TOKEN_FILE: file }), (err) => !err.message.includes('short\n') && /at least 16/.test(err.message));
});

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

test('deploy/systemd/signaling.env is a valid configuration whose limits are the defaults', async () => {
  const { readFileSync } = await import('node:fs');
  const text = readFileSync(new URL('../../deploy/systemd/signaling.env', import.meta.url), 'utf8');
  const env = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  // The unit supplies the secret as a file; any will do here.
  const cfg = loadConfig({ ...env, TURN_SECRET: 'from-the-unit' });
  for (const [name, key] of INTEGER_VARS) {
    if (name === 'PORT' || !(name in env)) continue;
    assert.equal(cfg[key], DEFAULTS[key], `${name} in signaling.env differs from the documented default`);
  }
  assert.deepEqual(cfg.trustedProxies, ['127.0.0.1', '::1']);
  const listed = INTEGER_VARS.map(([name]) => name).filter((n) => !(n in env) && !['PORT', 'METRICS_PORT'].includes(n));
  assert.deepEqual(listed, [], 'every limit is spelled out in signaling.env');
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
