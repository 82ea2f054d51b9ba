// Ephemeral TURN credentials: the HMAC against independent implementations,
// the ice_servers payload, and the events that carry it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createIceServerIssuer, turnCredential } from '../src/turn.js';
import { connectRegistered, fakeClock, memoryLogger, once, startServer } from './helpers.js';

const SECRET = 'north-wind-42';
const TURN_URLS = Object.freeze([
  'turn:turn.example.org:3478?transport=udp',
  'turn:turn.example.org:3478?transport=tcp',
  'turns:turn.example.org:5349?transport=tcp',
]);
const STUN_URLS = Object.freeze(['stun:turn.example.org:3478']);

test('credential = base64(HMAC-SHA1(secret, username)): known vector', () => {
  // Computed independently, and checked by hand when this test was written:
  //   printf '%s' '1700086400:k7m-q2x-9fd' | openssl dgst -sha1 -hmac 'north-wind-42' -binary | base64
  //   python3 -c "import hmac,hashlib,base64; print(base64.b64encode(hmac.new(b'north-wind-42', b'1700086400:k7m-q2x-9fd', hashlib.sha1).digest()).decode())"
  assert.equal(turnCredential(SECRET, '1700086400:k7m-q2x-9fd'), 'nswiyUDT5Vh7nu78jU7Vu+h79iE=');
});

test('credential matches openssl for fresh random inputs', () => {
  for (const [secret, username] of [
    ['s', '1:a'],
    [`sec ret-${Math.random()}`, `${Date.now()}:custom-id-${Math.floor(Math.random() * 1e6)}`],
    ['ünïcødé-secret', '4102444800:zzz-zzz-zzz'],
  ]) {
    const viaOpenssl = execFileSync('sh', ['-c', 'printf "%s" "$U" | openssl dgst -sha1 -hmac "$S" -binary | base64'], {
      env: { PATH: process.env.PATH, U: username, S: secret },
      encoding: 'utf8',
    }).trim();
    assert.equal(turnCredential(secret, username), viaOpenssl, username);
  }
});

test('issuer: STUN without credentials, TURN with expiry:clientId and its HMAC', () => {
  const now = () => 1_700_000_000_123;
  const issuer = createIceServerIssuer({ secret: SECRET, turnUrls: TURN_URLS, stunUrls: STUN_URLS, ttlSeconds: 86400, now });
  const out = issuer.issue('k7m-q2x-9fd');
  // now + TTL = 1700086400, rounded up to the 43200 s step: 1700092800.
  //   printf '%s' '1700092800:k7m-q2x-9fd' | openssl dgst -sha1 -hmac 'north-wind-42' -binary | base64
  assert.deepEqual(out, {
    iceServers: [
      { urls: [...STUN_URLS] },
      { urls: [...TURN_URLS], username: '1700092800:k7m-q2x-9fd', credential: '18UdH8BA6rF860Q5s56lzCjOETk=' },
    ],
    ttl: 86400,
  });
});

test('issuer: one username per ID per half-TTL step, so coturn\'s user-quota holds however often it asks', () => {
  let t = 1_700_000_000_000;
  const issuer = createIceServerIssuer({ secret: SECRET, turnUrls: TURN_URLS, stunUrls: [], ttlSeconds: 3600, now: () => t });
  const usernames = new Set();
  const expiries = [];
  // Asking every 10 s for 3 hours.
  for (let i = 0; i < 3 * 360; i++, t += 10_000) {
    const { iceServers, ttl } = issuer.issue('busy-bee');
    const { username } = iceServers[0];
    usernames.add(username);
    const expiry = Number(username.split(':')[0]);
    const nowS = Math.floor(t / 1000);
    expiries.push(expiry);
    // Valid at least the TTL the client is told, at most one step (30 min) more.
    assert.equal(ttl, 3600);
    assert.ok(expiry - nowS >= 3600 && expiry - nowS <= 3600 + 1800, `${expiry - nowS} s`);
    // At any moment, at most 3 of this ID's usernames are still valid.
    const valid = new Set(expiries.filter((e) => e > nowS));
    assert.ok(valid.size <= 3, `${valid.size} valid usernames`);
  }
  assert.equal(usernames.size, 7, '3 hours / 30 min steps (+1)');
  // Different IDs never share one.
  assert.notEqual(issuer.issue('other-bee').iceServers[0].username, issuer.issue('busy-bee').iceServers[0].username);
});

test('get_ice_servers is limited per ID (ICE_REQUESTS_PER_MIN, burst ICE_REQUEST_BURST): RATE_LIMITED with retryAfterMs', async (t) => {
  const clock = fakeClock();
  const { server, url } = await startServer({ turnSecret: SECRET, turnUrls: TURN_URLS, iceRequestBurst: 3, iceRequestsPerMin: 6 }, { clock });
  t.after(() => server.close());
  const c = await connectRegistered(url);
  t.after(() => c.socket.close());
  for (let i = 0; i < 3; i++) {
    const reply = once(c.socket, 'ice_servers');
    c.socket.emit('get_ice_servers', {});
    await reply;
  }
  const err = once(c.socket, 'server_error');
  c.socket.emit('get_ice_servers', {});
  const e = await err;
  assert.deepEqual([e.code, e.event, e.retryAfterMs], ['RATE_LIMITED', 'get_ice_servers', 10_000]);
  clock.advance(10_000);
  const reply = once(c.socket, 'ice_servers');
  c.socket.emit('get_ice_servers', {});
  assert.equal((await reply).ttl, 3600);
});

test('issuer: nothing configured → empty list, ttl 0; STUN only → no credentials, ttl 0', () => {
  const none = createIceServerIssuer({ secret: null, turnUrls: [], stunUrls: [], ttlSeconds: 86400 });
  assert.deepEqual(none.issue('a-b'), { iceServers: [], ttl: 0 });
  const stun = createIceServerIssuer({ secret: null, turnUrls: [], stunUrls: STUN_URLS, ttlSeconds: 86400 });
  assert.deepEqual(stun.issue('a-b'), { iceServers: [{ urls: [...STUN_URLS] }], ttl: 0 });
});

test('ice_servers follows registered on connect; get_ice_servers tolerates any payload', async (t) => {
  const { logger, records } = memoryLogger();
  const { server, url } = await startServer(
    { turnSecret: SECRET, turnUrls: TURN_URLS, stunUrls: STUN_URLS, turnTtlSeconds: 600 },
    { logger },
  );
  t.after(() => server.close());
  const before = Math.floor(Date.now() / 1000);
  const c = await connectRegistered(url);
  t.after(() => c.socket.close());

  assert.deepEqual(c.events.map((e) => e[0]), ['your_id', 'registered', 'ice_servers']);
  const ice = c.iceServers;
  assert.equal(ice.ttl, 600);
  assert.deepEqual(ice.iceServers[0], { urls: [...STUN_URLS] });
  const turn = ice.iceServers[1];
  assert.deepEqual(turn.urls, [...TURN_URLS]);
  const [expiry, id] = turn.username.split(':');
  assert.equal(id, c.id);
  // Valid for at least the TTL, rounded up to a half-TTL step.
  assert.ok(Number(expiry) >= before + 600 && Number(expiry) <= before + 600 + 300 + 2, turn.username);
  assert.equal(turn.credential, turnCredential(SECRET, turn.username));

  // Anything, or nothing, as payload; an ack callback is not called.
  for (const args of [[], [{}], [null], [42], ['x'], [[1, 2]], [{ junk: 'y'.repeat(100) }]]) {
    const reply = once(c.socket, 'ice_servers');
    c.socket.emit('get_ice_servers', ...args);
    const fresh = await reply;
    assert.equal(fresh.ttl, 600);
    assert.equal(fresh.iceServers[1].credential, turnCredential(SECRET, fresh.iceServers[1].username));
  }
  // Same payload shape as a JSON-string-style client would see.
  assert.equal(c.events.filter((e) => e[0] === 'server_error').length, 0);

  const logged = records.map((r) => JSON.stringify(r)).join('\n');
  assert.ok(!logged.includes(SECRET), 'secret not logged');
  assert.ok(!logged.includes(turn.credential), 'credential not logged');
});

test('without TURN/STUN config: ice_servers is {iceServers: [], ttl: 0}', async (t) => {
  const { server, url } = await startServer();
  t.after(() => server.close());
  const c = await connectRegistered(url);
  t.after(() => c.socket.close());
  assert.deepEqual(c.iceServers, { iceServers: [], ttl: 0 });
  c.socket.emit('get_ice_servers');
  assert.deepEqual(await once(c.socket, 'ice_servers'), { iceServers: [], ttl: 0 });
});
