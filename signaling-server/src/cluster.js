// Cluster mode (REDIS_URL set): Redis clients, the socket.io adapter, the
// shared registry and offline queue, and node presence.
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
// Client library: node-redis 4, the version the adapter detects and is
// tested with (v5 changed the command-options API the adapters rely on).
//
// Presence: every instance refreshes <prefix>inst:<instance>:alive (PX
// ALIVE_TTL_MS) every HEARTBEAT_MS. Every REAP_INTERVAL_MS each node looks
// for instances whose key has expired — crashed or SIGKILLed nodes — and
// marks their IDs offline (redis_registry.js REAP), so those IDs start their
// TTL, messages to them are queued, and their owners can reconnect anywhere.
// Until then (≤ ALIVE_TTL_MS + REAP_INTERVAL_MS) a dead node's clients look
// online and messages to them are lost, as with any silently dead socket.
// A node that reconnects with its clients' token reclaims its ID at once.

import { randomBytes } from 'node:crypto';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import { callScripts, createRedisCallStore } from './redis_calls.js';
import { createRedisLimiter, limiterScripts } from './redis_limiter.js';
import { createRedisOfflineQueue, queueScripts } from './redis_queue.js';
import { createRedisRegistry, registryKeys, registryScripts } from './redis_registry.js';

const HEARTBEAT_MS = 2000;
const ALIVE_TTL_MS = 10_000;
const REAP_INTERVAL_MS = 3000;
const CONNECT_TIMEOUT_MS = 5000;
const ERROR_LOG_INTERVAL_MS = 5000;

/**
 * @param {object} opts
 * @param {string} opts.url REDIS_URL
 * @param {string} opts.nodeId NODE_ID (for logs; the instance adds a suffix)
 * @param {number} opts.idTtlMs
 * @param {number} [opts.maxIds] the registry's bound (MAX_IDS)
 * @param {ReturnType<import('./log.js').createLogger>} opts.log
 * @param {string} [opts.prefix] key prefix
 */
export function createRedisCluster({ url, nodeId, idTtlMs, maxIds, log, prefix = 'voicecall:' }) {
  const instance = `${nodeId}:${randomBytes(4).toString('hex')}`;
  const keys = registryKeys(prefix);

  const redis = createClient({
    url,
    // Fail commands at once while Redis is unreachable instead of queueing
    // them: a handler then answers INTERNAL right away rather than hanging
    // the client's whole event chain.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 3000),
    },
    scripts: { ...registryScripts, ...queueScripts, ...limiterScripts, ...callScripts },
  });
  // The adapter needs a connection of its own in subscriber mode.
  const sub = redis.duplicate();

  // node-redis emits 'error' on every failed reconnect attempt; without a
  // listener that would crash the process, with a naive one flood the logs.
  let lastErrorLog = 0;
  for (const [name, c] of [['command', redis], ['subscriber', sub]]) {
    c.on('error', (err) => {
      const now = Date.now();
      if (now - lastErrorLog < ERROR_LOG_INTERVAL_MS) return;
      lastErrorLog = now;
      log.error({ err, connection: name }, 'redis error');
    });
  }

  const registry = createRedisRegistry({ redis, instance, idTtlMs, maxIds, prefix });
  let adapter = null;
  let heartbeat = null;
  let reaper = null;

  async function beat() {
    await redis.set(keys.instanceAlive(instance), '1', { PX: ALIVE_TTL_MS });
  }

  async function reapDead() {
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

  async function withTimeout(promise, ms, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    registry,
    instance,
    /** The command connection (tests, and stores that share it). */
    redisClient: redis,
    /** Adapter factory for io.adapter(); available after connect(). */
    get adapter() {
      return adapter;
    },
    createQueue: (opts) => createRedisOfflineQueue({ redis, prefix, log, ...opts }),
    // Limits and call state every node must see the same way (calls.js).
    limiter: createRedisLimiter({ redis, prefix }),
    callStore: createRedisCallStore({ redis, prefix }),

    async connect() {
      try {
        await withTimeout(Promise.all([redis.connect(), sub.connect()]), CONNECT_TIMEOUT_MS, 'connecting to Redis');
      } catch (err) {
        // Stop the reconnect loop so the failed start can exit.
        await Promise.allSettled([redis.disconnect(), sub.disconnect()]);
        throw err;
      }
      adapter = createAdapter(redis, sub, { key: `${prefix}sio` });
      await beat();
      await redis.sAdd(keys.instances, instance);
      heartbeat = every(HEARTBEAT_MS, beat, 'redis heartbeat');
      reaper = every(REAP_INTERVAL_MS, reapDead, 'reaping dead nodes');
      // A predecessor that crashed just before this start is found now
      // rather than one interval later.
      reapDead().catch((err) => log.error({ err }, 'reaping dead nodes failed'));
      log.info({ instance }, 'redis connected');
    },

    /** After every session released its ID: clean up and disconnect. */
    async close() {
      clearInterval(heartbeat);
      clearInterval(reaper);
      if (!redis.isOpen) return;
      try {
        // Whatever a failed release left behind goes offline now rather
        // than when another node's reaper notices this one is gone.
        await registry.reap(instance);
        await redis.del(keys.instanceAlive(instance));
      } catch (err) {
        log.error({ err }, 'redis cleanup on shutdown failed');
      }
      await Promise.allSettled([redis.quit(), sub.quit()]);
    },
  };
}
