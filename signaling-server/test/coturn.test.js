// The server's ephemeral credentials against a real coturn with
// use-auth-secret: the issued credential allocates a relay, a wrong or
// expired one does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { turnCredential } from '../src/turn.js';
import { startCoturn } from './support/coturn.js';
import { allocate, connectTurn } from './support/turn_client.js';
import { connectRegistered, startServer } from './helpers.js';

const SECRET = `test-secret-${Math.random().toString(36).slice(2)}`;
const REALM = 'voicecall.test';

test('coturn (use-auth-secret) accepts the issued credential and rejects wrong ones', async (t) => {
  const turn = await startCoturn(
    ({ port, minPort, maxPort, dir }) => `
listening-ip=127.0.0.1
relay-ip=127.0.0.1
listening-port=${port}
min-port=${minPort}
max-port=${maxPort}
use-auth-secret
static-auth-secret=${SECRET}
realm=${REALM}
fingerprint
no-cli
no-tls
no-dtls
pidfile=${dir}/turnserver.pid
userdb=${dir}/turndb
log-file=stdout
simple-log
`,
  );
  t.after(() => turn.stop());

  const { server, url } = await startServer({
    turnSecret: SECRET,
    turnUrls: [`turn:127.0.0.1:${turn.port}?transport=udp`],
    turnTtlSeconds: 600,
  });
  t.after(() => server.close());
  const c = await connectRegistered(url);
  t.after(() => c.socket.close());
  const { username, credential } = c.iceServers.iceServers.find((s) => s.username);

  // Each attempt on its own socket: coturn ties an allocation to the
  // 5-tuple, so a second Allocate there would be 437 whatever the password.
  const attempt = async (user, password) => {
    const client = await connectTurn({ port: turn.port, transport: 'udp' });
    try {
      return await allocate(client, { username: user, password });
    } finally {
      client.close();
    }
  };

  const good = await attempt(username, credential);
  assert.equal(good.ok, true, `allocation failed: ${JSON.stringify(good)}\n${turn.logs().slice(-2000)}`);
  assert.equal(good.realm, REALM);
  assert.equal(good.relayed.address, '127.0.0.1');
  assert.ok(good.relayed.port >= turn.minPort && good.relayed.port <= turn.maxPort, JSON.stringify(good.relayed));
  assert.ok(good.lifetime > 0);

  const wrongPassword = await attempt(username, turnCredential('not-the-secret', username));
  assert.deepEqual([wrongPassword.ok, wrongPassword.errorCode], [false, 401]);

  // The username is signed: changing the client id (or the expiry) breaks it.
  const forged = await attempt(username.replace(/:.*/, ':someone-else'), credential);
  assert.deepEqual([forged.ok, forged.errorCode], [false, 401]);

  // A correctly signed but expired credential is refused by coturn itself.
  const expiredUser = `${Math.floor(Date.now() / 1000) - 60}:${c.id}`;
  const expired = await attempt(expiredUser, turnCredential(SECRET, expiredUser));
  assert.deepEqual([expired.ok, expired.errorCode], [false, 401]);
});
