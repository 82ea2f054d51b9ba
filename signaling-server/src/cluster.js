// Cluster mode (REDIS_URL or REDIS_CLUSTER_NODES set): Redis connections,
// the socket.io adapter, the shared registry and offline queue, and node
// presence.
//
// Adapter choice: @socket.io/redis-adapter (Redis pub/sub), not the
// redis-streams adapter. Signaling messages are tiny and only useful for
// seconds; pub/sub delivers them with one PUBLISH and no stream to trim.
// The streams adapter's selling point — replaying what a client missed
// during a short disconnection ("connection state recovery") — is already
// covered by this server's own reclaim + offline queue, which also works
// when the client comes back on another node. What pub/sub gives up: a
// message published while a node's subscriber connection is down is lost
// for that node (clients there must rely on their call-setup timeouts).
//
// Two pub/sub modes (REDIS_PUBSUB):
//   classic  createAdapter: every node pattern-subscribes to every room's
//            channel, so each relayed message is delivered to every node and
//            dropped by all but one: per-message cost grows with the node
//            count. Default with REDIS_URL (works with any Redis version).
//   sharded  createShardedAdapter with subscriptionMode "dynamic-private":
//            every socket's own room (relay.js addresses targets by socket
//            id) gets its own channel, SSUBSCRIBEd by the one node holding
//            the socket; SPUBLISH reaches only that node. One delivery per
//            message whatever the node count, and on a Redis Cluster the
//            channels spread over the shards by hash slot. Costs one
//            SSUBSCRIBE/SUNSUBSCRIBE per connection. ("dynamic" alone would
//            not help: it keeps socket-id rooms on the shared channel.)
//            Default with REDIS_CLUSTER_NODES; needs Redis 7.
//
// Client library: node-redis 4, the version the adapter detects and is
// tested with (v5 changed the command-options API the adapters rely on);
// redis_connection.js adds the fail-over handling its cluster client lacks.
//
// Presence: every instance refreshes <prefix>{presence}:alive:<instance>
// (PX aliveTtlMs, 10 s) every heartbeatMs (2 s). Every reapIntervalMs (3 s)
// each node looks
// for instances whose key has expired — crashed or SIGKILLed nodes — and
// marks their IDs offline (redis_registry.js reap), so those IDs start their
// TTL, messages to them are queued, and their owners can reconnect anywhere.
// Until then (≤ aliveTtlMs + reapIntervalMs) a dead node's clients look
// online and messages to them are lost, as with any silently dead socket.
// A node that reconnects with its clients' token reclaims its ID at once.
//
// A node only reaps after its own heartbeats have succeeded for a whole
// aliveTtlMs. Every presence key is on one Redis (one shard of a Redis
// Cluster, by hash tag), so while that Redis is down or failing over no
// node can refresh its key; the first reaper back would otherwise find
// every other node's key expired and take live nodes' IDs offline. A full
// TTL of successful beats means every live node has had time to refresh.

import { randomBytes } from 'node:crypto';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { createRedisConnection } from './redis_connection.js';
import { createRedisOfflineQueue, queueScripts } from './redis_queue.js';
import { createRedisRegistry, registryKeys, registryScripts } from './redis_registry.js';

const PRESENCE = Object.freeze({ heartbeatMs: 2000, aliveTtlMs: 10_000, reapIntervalMs: 3000 });
const ERROR_LOG_INTERVAL_MS = 5000;

/**
 * @param {object} opts
 * @param {string|null} [opts.url] REDIS_URL (one Redis server)
 * @param {string[]} [opts.clusterNodes] REDIS_CLUSTER_NODES (seeds of a Redis Cluster)
 * @param {'classic'|'sharded'} [opts.pubsub] REDIS_PUBSUB; default sharded
 *   for a Redis Cluster, classic for one server
 * @param {string} opts.nodeId NODE_ID (for logs; the instance adds a suffix)
 * @param {number} opts.idTtlMs
 * @param {ReturnType<import('./log.js').createLogger>} opts.log
 * @param {string} [opts.prefix] key prefix
 * @param {Partial<typeof PRESENCE>} [opts.presence] heartbeat timings (tests)
 */
export function createRedisCluster({ url = null, clusterNodes = [], pubsub, nodeId, idTtlMs, log, prefix = 'voicecall:', presence = {} }) {
  const { heartbeatMs, aliveTtlMs, reapIntervalMs } = { ...PRESENCE, ...presence };
  const instance = `${nodeId}:${randomBytes(4).toString('hex')}`;
  const keys = registryKeys(prefix);
  const mode = pubsub ?? (clusterNodes.length ? 'sharded' : 'classic');

  // node-redis emits 'error' on every failed reconnect attempt; a naive
  // listener would flood the logs.
  let lastErrorLog = 0;
  const onError = (err, connection) => {
    const now = Date.now();
    if (now - lastErrorLog < ERROR_LOG_INTERVAL_MS) return;
    lastErrorLog = now;
    log.error({ err, connection }, 'redis error');
  };
  const conn = createRedisConnection({ url, clusterNodes, scripts: { ...registryScripts, ...queueScripts }, log, onError });
  const redis = conn.command;

  const registry = createRedisRegistry({ redis, instance, idTtlMs, prefix });
  let adapter = null;
  let heartbeat = null;
  let reaper = null;

  // Since when every heartbeat succeeded; null after a failed one.
  let healthySince = null;
  async function beat() {
    try {
      await redis.set(keys.instanceAlive(instance), '1', { PX: aliveTtlMs });
    } catch (err) {
      healthySince = null;
      throw err;
    }
    healthySince ??= Date.now();
  }

  async function reapDead() {
    if (healthySince === null || Date.now() - healthySince < aliveTtlMs) return;
    const instances = await redis.sMembers(keys.instances);
    for (const other of instances) {
      if (other === instance) continue;
      if (await redis.exists(keys.instanceAlive(other))) continue;
      const n = await registry.reap(other);
      log.warn({ instance: other, ids: n }, 'reaped ids of a dead node');
    }
  }

  // A failed tick is logged (rate-limited by the error handler above for
  // connection problems) and retried on the next one.
  const every = (ms, fn, what) => {
    const t = setInterval(() => fn().catch((err) => log.error({ err }, `${what} failed`)), ms);
    t.unref();
    return t;
  };

  return {
    registry,
    instance,
    pubsub: mode,
    /** Publishes and pub/sub deliveries counted on this node, fail-overs seen. */
    stats: conn.stats,
    connection: conn,
    /** Adapter factory for io.adapter(); available after connect(). */
    get adapter() {
      return adapter;
    },
    createQueue: (opts) => createRedisOfflineQueue({ redis, prefix, log, ...opts }),

    async connect() {
      await conn.connect();
      adapter =
        mode === 'sharded'
          ? createShardedAdapter(redis, conn.subscriber, { channelPrefix: `${prefix}sio`, subscriptionMode: 'dynamic-private' })
          : createAdapter(redis, conn.subscriber, { key: `${prefix}sio` });
      await beat();
      await redis.sAdd(keys.instances, instance);
      heartbeat = every(heartbeatMs, beat, 'redis heartbeat');
      reaper = every(reapIntervalMs, reapDead, 'reaping dead nodes');
      log.info({ instance, redis: conn.isCluster ? 'cluster' : 'single', pubsub: mode }, 'redis connected');
    },

    /** After every session released its ID: clean up and disconnect. */
    async close() {
      clearInterval(heartbeat);
      clearInterval(reaper);
      if (!conn.isOpen) return;
      try {
        // Whatever a failed release left behind goes offline now rather
        // than when another node's reaper notices this one is gone.
        await registry.reap(instance);
        await redis.del(keys.instanceAlive(instance));
      } catch (err) {
        log.error({ err }, 'redis cleanup on shutdown failed');
      }
      await conn.close();
    },
  };
}
