// Addresses cut for flooding again and again are refused at the handshake
// (src/offenders.js, src/admission.js): the record in isolation against an
// injected clock, then a server whose clock is injected too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createOffenders } from '../src/offenders.js';
import { DEFAULT_LIMITS, client, connectRegistered, fakeClock, memoryLogger, once, startServer } from './helpers.js';

const LIMITS = { cutsPerHour: 60, cutBurst: 2, blockMs: 10_000, maxBlockMs: 40_000, maxAddresses: 100 };

test('offenders: the cut beyond the allowance blocks; each repeat doubles the block, up to the maximum', () => {
  const clock = fakeClock();
  const o = createOffenders({ ...LIMITS, now: clock.now });
  assert.deepEqual([o.cut('a'), o.cut('a')], [0, 0], 'within the allowance');
  assert.equal(o.blockedMs('a'), 0);
  assert.equal(o.cut('a'), 10_000);
  assert.equal(o.blockedMs('a'), 10_000);
  assert.equal(o.blockedMs('b'), 0, 'other addresses are not affected');
  clock.advance(4000);
  assert.equal(o.blockedMs('a'), 6000);
  // A connection opened before the block is cut during it: no longer block.
  assert.equal(o.cut('a'), 0);
  clock.advance(6000);
  assert.equal(o.blockedMs('a'), 0);
  // Back and cut again at once: twice as long (the allowance refills one
  // cut a minute, and little of that minute has passed).
  assert.equal(o.cut('a'), 20_000);
  clock.advance(20_000);
  assert.equal(o.cut('a'), 40_000);
  // A minute since the last refill gave one cut back; the next one blocks
  // for the maximum.
  clock.advance(40_000);
  assert.deepEqual([o.cut('a'), o.cut('a')], [0, 40_000]);
});

test('offenders: a quiet spell as long as the longest block, with the allowance full, forgives the past', () => {
  const clock = fakeClock();
  const o = createOffenders({ ...LIMITS, now: clock.now });
  for (let i = 0; i < 3; i++) o.cut('a');
  clock.advance(10_000);
  assert.equal(o.cut('a'), 20_000);
  clock.advance(20_000 + 40_000 - 1);
  assert.equal(o.sweep(), 0, 'the allowance is not full again yet');
  assert.equal(o.size, 1);
  clock.advance(2 * 60_000);
  assert.equal(o.sweep(), 1);
  assert.equal(o.size, 0);
  assert.deepEqual([o.cut('a'), o.cut('a'), o.cut('a')], [0, 0, 10_000], 'a fresh start: the first block again');
});

test('offenders: the map is bounded; the address cut longest ago is forgotten first', () => {
  const clock = fakeClock();
  const o = createOffenders({ ...LIMITS, cutBurst: 1, maxAddresses: 3, now: clock.now });
  for (const ip of ['a', 'b', 'c']) o.cut(ip);
  o.cut('a'); // now blocked, and the most recent
  o.cut('d');
  assert.equal(o.size, 3);
  assert.ok(o.blockedMs('a') > 0);
  assert.equal(o.cut('b'), 0, 'b was forgotten: its allowance is full again');
  assert.equal(o.cut('c'), 0, 'c was forgotten');
});

// Flood from `socket` until the server cuts it; the clock runs a second at a
// time because a connection over its budget is not read until its pause ends.
async function floodUntilCut(socket, clock, target) {
  let gone = null;
  socket.once('disconnect', (reason) => (gone = reason));
  for (let i = 0; i < 5000; i++) socket.emit('send_ice', { targetClientId: target, candidate: 'x' });
  for (let i = 0; i < 10_000 && gone === null; i++) {
    clock.advance(1000);
    await new Promise((r) => setImmediate(r));
  }
  return gone;
}

// The handshake's HTTP answer, as a client without Socket.IO sees it: a
// long-polling handshake, or (websocket) a WebSocket upgrade straight away
// as the desktop client makes it.
function handshake(port, localAddress, websocket = false) {
  const upgrade = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, localAddress, path: `/socket.io/?EIO=4&transport=${websocket ? 'websocket' : 'polling'}`, headers: websocket ? upgrade : {} }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      })
      .on('upgrade', () => reject(new Error('upgraded')))
      .on('error', reject);
  });
}

test('an address cut for flooding more than IP_CUT_BURST times is refused at the handshake (ADDRESS_BLOCKED) until its block ends', async (t) => {
  const clock = fakeClock();
  const { logger, records } = memoryLogger();
  const { server, url, port } = await startServer({ ...DEFAULT_LIMITS, ipCutBurst: 1, blockSeconds: 30 }, { clock, logger });
  t.after(() => server.close());
  const target = await connectRegistered(url);
  t.after(() => target.socket.close());
  const attacker = '127.0.9.1';

  const first = client(url, { localAddress: attacker });
  const { id, token } = await once(first, 'registered');
  assert.equal(await floodUntilCut(first, clock, target.id), 'transport close');
  first.close();
  // One cut is within the allowance: the address may come back.
  const second = client(url, { localAddress: attacker, auth: { id, token } });
  await once(second, 'registered');
  assert.equal(await floodUntilCut(second, clock, target.id), 'transport close');
  second.close();
  assert.deepEqual(
    records.filter((r) => r.msg === 'address blocked').map((r) => [r.ip, r.blockMs]),
    [[attacker, 30_000]],
  );

  const refused = client(url, { localAddress: attacker, auth: { id, token } });
  await once(refused, 'connect_error');
  refused.close();
  const answer = await handshake(port, attacker);
  assert.equal(answer.status, 403);
  assert.match(JSON.parse(answer.body).message, /^ADDRESS_BLOCKED: .* try again in \d+ s \(retryAfterMs \d+\)$/);
  const upgrade = await handshake(port, attacker, true);
  assert.equal(upgrade.status, 400);
  assert.match(upgrade.body, /^ADDRESS_BLOCKED: /);
  const logged = records.find((r) => r.msg === 'connection refused' && r.reason === 'address blocked');
  assert.equal(logged.ip, attacker);
  assert.ok(logged.retryAfterMs > 0 && logged.retryAfterMs <= 30_000, JSON.stringify(logged));
  assert.match(await (await fetch(`${url}/metrics`)).text(), /voicecall_dropped_total\{reason="blocked",node="[^"]+"\} 3/);

  // Nobody else is refused, and the target kept its connection.
  const other = await connectRegistered(url, { localAddress: '127.0.9.2' });
  other.socket.close();
  assert.ok(target.socket.connected);

  clock.advance(30_000);
  const back = client(url, { localAddress: attacker, auth: { id, token } });
  t.after(() => back.close());
  await once(back, 'registered');
});
