// Attacks from the issue, one rule each: a client that never reads cannot
// make the server hold its messages, and strangers' offers cannot make a
// victim spend its own budget (reflection).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rawConnect } from '../bench/raw_client.js';
import { DEFAULT_LIMITS, connectRegistered, fakeClock, once, openCall, startServer, waitOffline } from './helpers.js';

test('a client that stops reading is dropped once MAX_SEND_BUFFER_BYTES are waiting for it; the server frees it all', async (t) => {
  const { server, url, port } = await startServer({ maxSendBufferBytes: 256 * 1024 });
  t.after(() => server.close());
  // The slow reader: registers, then stops reading its socket while still
  // sending heartbeat answers, like the attacker in the issue.
  let slowId = null;
  const registered = new Promise((resolve) => {
    const conn = rawConnect(port, '', (event, arg) => {
      if (event === 'your_id') {
        slowId = arg;
        resolve(conn);
      }
    });
  });
  const slow = await registered;
  const pongs = setInterval(() => slow.send('3'), 1000);
  t.after(() => clearInterval(pongs));
  const sender = await connectRegistered(url);
  t.after(() => sender.socket.close());
  // The slow reader's own offer opens the call (it reads until now).
  const opened = once(sender.socket, 'offer_sdp');
  slow.emit('offer_sdp', { targetClientId: sender.id, sdp: 'v=0', callId: 'slow' });
  await opened;
  slow.ws._socket.pause();

  // 15 KB answers (the default payload limit is 16 KiB) until the
  // connection is gone: kernel buffers first, then the server's, until the cap.
  const big = 'v'.repeat(15_000);
  let sent = 0;
  let closed = false;
  slow.closed.then(() => (closed = true));
  const overflow = (async () => {
    while (!closed && sent < 4000) {
      sender.socket.emit('answer_sdp', { targetClientId: slowId, sdp: big, callId: 'slow' });
      sent++;
      if (sent % 20 === 0) await new Promise((r) => setImmediate(r));
    }
  })();
  // The server drops it (the client's end sees its socket destroyed).
  await waitOffline(server, slowId);
  closed = true;
  await overflow;
  // Far fewer than 4000 × 15 KB were ever sent: the cap, not the heartbeat, ended it.
  assert.ok(sent < 4000, `${sent} answers sent before the drop`);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /voicecall_dropped_total\{[^}]*reason="send_buffer"[^}]*\} 1/);
  slow.ws.terminate();
  // Everyone else is fine.
  const other = await connectRegistered(url);
  await openCall(other, sender, 'after');
  other.socket.close();
});

/** A legit client that answers every offer with `busy`, as clients in a call do. */
async function busyVictim(url, opts) {
  const victim = await connectRegistered(url, opts);
  const seen = { offers: 0, errors: [], disconnects: 0 };
  victim.socket.on('offer_sdp', (m) => {
    seen.offers++;
    victim.socket.emit('busy', { targetClientId: m.from, callId: m.callId });
  });
  victim.socket.on('server_error', (e) => seen.errors.push(e));
  victim.socket.on('disconnect', () => seen.disconnects++);
  return { ...victim, seen };
}

test('reflection: strangers\' offers cannot make a victim spend its own budget (automatic replies have an allowance of their own)', async (t) => {
  // A victim budget of 20 messages, and 60 offers reaching it: without the
  // reply allowance its busy replies would be cut off after 20.
  const clock = fakeClock();
  const { server, url } = await startServer({ rateLimitBurst: 20, callsPerTargetBurst: 1000 }, { clock });
  t.after(() => server.close());
  const victim = await busyVictim(url);
  t.after(() => victim.socket.close());
  const attackers = await Promise.all(Array.from({ length: 10 }, (_, i) => connectRegistered(url, { localAddress: `127.0.7.${i + 1}` })));
  t.after(() => attackers.forEach((a) => a.socket.close()));
  let busies = 0;
  const allBusy = new Promise((resolve) => {
    for (const a of attackers) {
      a.socket.on('busy', () => {
        if (++busies === 60) resolve();
      });
    }
  });
  for (const a of attackers) for (let n = 0; n < 6; n++) a.socket.emit('offer_sdp', { targetClientId: victim.id, sdp: 'v=0', callId: `r${n}` });
  await allBusy;
  assert.equal(victim.seen.offers, 60);
  assert.deepEqual(victim.seen.errors, []);
  // It still has its whole budget for its own calls.
  const friend = await connectRegistered(url, { localAddress: '127.0.7.100' });
  t.after(() => friend.socket.close());
  for (let n = 0; n < 15; n++) await openCall(victim, friend, `own-${n}`);
  assert.deepEqual(victim.seen.errors, []);
  assert.equal(victim.seen.disconnects, 0);
});

test('reflection: unsolicited offers are limited per callee, whoever sends them (CALLS_PER_TARGET_*)', async (t) => {
  const clock = fakeClock();
  const { server, url } = await startServer({ ...DEFAULT_LIMITS }, { clock });
  t.after(() => server.close());
  const victim = await busyVictim(url);
  t.after(() => victim.socket.close());
  const attackers = await Promise.all(Array.from({ length: 10 }, (_, i) => connectRegistered(url, { localAddress: `127.0.8.${i + 1}` })));
  t.after(() => attackers.forEach((a) => a.socket.close()));
  const refused = [];
  let answered = 0;
  const done = new Promise((resolve) => {
    const check = () => refused.length + answered === 50 && resolve();
    for (const a of attackers) {
      a.socket.on('server_error', (e) => (refused.push(e), check()));
      a.socket.on('busy', () => (answered++, check()));
    }
  });
  // Each attacker far inside its own budgets (5 offers, 5 call requests).
  for (const a of attackers) for (let n = 0; n < 5; n++) a.socket.emit('offer_sdp', { targetClientId: victim.id, sdp: 'v=0', callId: `x${n}` });
  await done;
  assert.equal(answered, 10, 'CALLS_PER_TARGET_BURST offers reached the victim');
  assert.equal(victim.seen.offers, 10);
  assert.ok(refused.every((e) => e.code === 'RATE_LIMITED' && e.event === 'offer_sdp' && e.targetClientId === victim.id), JSON.stringify(refused[0]));
  assert.match(refused[0].message, /too many call requests to/);
  assert.deepEqual(victim.seen.errors, []);
  assert.equal(victim.seen.disconnects, 0);
});
