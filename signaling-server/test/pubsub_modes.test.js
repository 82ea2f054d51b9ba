// REDIS_PUBSUB on one Redis 7 server: three in-process nodes, a client on
// node 1 sends to a client on node 2, and the nodes' own counters say how
// many pub/sub deliveries each relayed message cost: every node with
// classic pub/sub, only the target's node with sharded.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { connectRegistered, openCall, startServer, waitUntil } from './helpers.js';
import { startRedis } from './support/redis.js';

const MESSAGES = 20;
let redis;
let rc;

before(async () => {
  redis = await startRedis();
  rc = createClient({ url: redis.url });
  await rc.connect();
});
after(async () => {
  await rc?.quit();
  await redis?.stop();
});

async function counters(servers) {
  const out = { published: 0, delivered: 0 };
  for (const { server } of servers) {
    const text = await server.metrics.render();
    const read = (name) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'm').exec(text)[1]);
    out.published += read('voicecall_redis_published_total');
    out.delivered += read('voicecall_redis_deliveries_total');
  }
  return out;
}

for (const [mode, perMessage] of [['classic', 3], ['sharded', 1]]) {
  test(`${mode} pub/sub: ${perMessage} deliver${perMessage === 1 ? 'y' : 'ies'} per cross-node message with 3 nodes`, async () => {
    const servers = [];
    const sockets = [];
    try {
      for (const nodeId of ['p1', 'p2', 'p3']) servers.push(await startServer({ redisUrl: redis.url, redisPubsub: mode, nodeId: `${mode}-${nodeId}` }));
      const a = await connectRegistered(servers[0].url);
      const b = await connectRegistered(servers[1].url);
      sockets.push(a.socket, b.socket);
      if (mode === 'sharded') {
        // b's own channel, subscribed by b's node only.
        const channel = `voicecall:sio#/#${b.socket.id}#`;
        await waitUntil(async () => (await rc.sendCommand(['PUBSUB', 'SHARDNUMSUB', channel]))[1] === 1);
      }
      // Candidates are relayed only inside a call (calls.js).
      await openCall(a, b, 'pubsub');
      // b has the offer once its own node delivered it; the other nodes' copies
      // may still be in flight. Start counting only once every copy of every
      // earlier publish has arrived, or one lands inside the window.
      const settled = async () => {
        const c = await counters(servers);
        return c.delivered === c.published * perMessage;
      };
      await waitUntil(settled);
      const start = await counters(servers);
      for (let i = 0; i < MESSAGES; i++) a.socket.emit('send_ice', { targetClientId: b.id, callId: 'pubsub', candidate: `c${i}` });
      await waitUntil(() => b.events.filter((e) => e[0] === 'send_ice').length === MESSAGES);
      await waitUntil(async () => (await counters(servers)).delivered - start.delivered >= MESSAGES * perMessage);
      const end = await counters(servers);
      assert.equal(end.published - start.published, MESSAGES);
      assert.equal(end.delivered - start.delivered, MESSAGES * perMessage);
    } finally {
      for (const s of sockets) s.close();
      await Promise.all(servers.map(({ server }) => server.close()));
    }
  });
}
