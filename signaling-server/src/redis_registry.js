// ID registry in Redis, for running several server nodes against one Redis
// (standalone or Sentinel) or a Redis Cluster. Same contract as the memory
// registry in registry.js.
//
// Redis Cluster rule: every script touches exactly one key, and every key
// that belongs to an ID carries the ID as its hash tag — <prefix>id:{<id>}
// here, <prefix>q:{<id>} and <prefix>qr:{<id>} in redis_queue.js — so an
// ID's record and queue live in one slot (one shard, one round trip for the
// relay's lookup + queue length) and IDs spread over the shards. Keys that
// are not an ID's (instance sets, presence) are only touched by single-key
// commands. New ID-scoped keys must follow the same pattern.
//
// Per ID one hash  <prefix>id:{<id>} = { tok, sock, inst, off }
//   tok   SHA-256 (hex) of the token — never the token itself
//   sock  socket id holding the ID, '' while offline
//   inst  server instance that holds/held it (node id + random suffix, new
//         on every start, so a restarted node is never mistaken for its
//         dead predecessor)
//   off   ms timestamp of going offline, '' while online
// Online records never expire; release() gives the record a PEXPIRE of the
// ID TTL, so Redis itself forgets expired IDs.
//
// Per instance a set <prefix>inst:<instance>:ids of the IDs it holds. If an
// instance dies without releasing (crash, SIGKILL), another node's reaper
// (cluster.js) marks those IDs offline with MARK_OFFLINE, which starts their
// TTL. The set lives in another slot than the records, so it is kept next
// to them, not inside the scripts: an ID is added *before* its claim and
// removed *after* its release, so a crash in between leaves an extra entry
// (harmless: reaping checks the record's holder) rather than a missing one
// (which would leave a dead node's ID online forever).
//
// claim/release are Lua scripts so that check-and-set is atomic across
// nodes: two nodes claiming the same free ID at once cannot both win.

import { createHash } from 'node:crypto';
import { defineScript } from 'redis';

// KEYS: record. ARGV: tokenHash, socketId, instance. Reply: {0, holder's
// instance} taken | {1, ''} new | {2, previousSocket} reclaimed. Comparing
// digests with `~=` leaks timing only about the digest of the attacker's
// own guess, which is useless.
const CLAIM = `
local tok = redis.call('HGET', KEYS[1], 'tok')
if tok and tok ~= ARGV[1] then return {0, redis.call('HGET', KEYS[1], 'inst') or ''} end
local prev = ''
if tok then prev = redis.call('HGET', KEYS[1], 'sock') or '' end
redis.call('HSET', KEYS[1], 'tok', ARGV[1], 'sock', ARGV[2], 'inst', ARGV[3], 'off', '')
redis.call('PERSIST', KEYS[1])
if tok then return {2, prev} end
return {1, ''}
`;

// KEYS: record. ARGV: socketId, instance, nowMs, ttlMs. Only the holding
// socket may take the ID offline. Reply: {released 0|1, drop 0|1}: drop =
// the ID no longer belongs to this instance, remove it from the instance's
// set (not when another socket of the same instance holds it now).
const RELEASE = `
local cur = redis.call('HMGET', KEYS[1], 'sock', 'inst')
if cur[1] ~= ARGV[1] then
  if cur[2] ~= ARGV[2] then return {0, 1} end
  return {0, 0}
end
redis.call('HSET', KEYS[1], 'sock', '', 'off', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, 1}
`;

// KEYS: record. ARGV: dead instance, nowMs, ttlMs. Marks the ID offline if
// that instance still holds it online; reply 1 if it did.
const MARK_OFFLINE = `
local cur = redis.call('HMGET', KEYS[1], 'sock', 'inst')
if cur[2] == ARGV[1] and cur[1] and cur[1] ~= '' then
  redis.call('HSET', KEYS[1], 'sock', '', 'off', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
`;

const passThrough = (...args) => args.map(String);

// FIRST_KEY_INDEX: a cluster client routes a script by its first key.
const script = (SCRIPT) => defineScript({ NUMBER_OF_KEYS: 1, FIRST_KEY_INDEX: 0, SCRIPT, transformArguments: passThrough });

/** Scripts to pass to createClient/createCluster({ scripts }). */
export const registryScripts = {
  vcClaim: script(CLAIM),
  vcRelease: script(RELEASE),
  vcMarkOffline: script(MARK_OFFLINE),
};

const hashToken = (token) => createHash('sha256').update(token, 'utf8').digest('hex');

export const registryKeys = (prefix) => ({
  record: (id) => `${prefix}id:{${id}}`,
  recordPrefix: `${prefix}id:`,
  instanceIds: (instance) => `${prefix}inst:${instance}:ids`,
  // Presence shares one hash tag, so on a Redis Cluster it lives on one
  // shard: an outage there hits every node's heartbeat alike (cluster.js).
  instanceAlive: (instance) => `${prefix}{presence}:alive:${instance}`,
  instances: `${prefix}{presence}:instances`,
});

/**
 * @param {object} opts
 * @param {import('redis').RedisClientType} opts.redis a connected client
 *   created with `registryScripts`
 * @param {string} opts.instance this server instance's unique name
 * @param {number} opts.idTtlMs
 * @param {string} opts.prefix key prefix
 */
export function createRedisRegistry({ redis, instance, idTtlMs, prefix }) {
  const keys = registryKeys(prefix);
  const myIds = keys.instanceIds(instance);

  return {
    async claim(id, token, socketId) {
      // Added first, see the header. Both go out in one pipeline.
      const [, [code, other]] = await Promise.all([
        redis.sAdd(myIds, id),
        redis.vcClaim(keys.record(id), hashToken(token), socketId, instance),
      ]);
      if (code === 0) {
        if (other !== instance) await redis.sRem(myIds, id);
        return { ok: false, code: 'ID_TAKEN' };
      }
      return { ok: true, reclaimed: code === 2, previousSocketId: other || null };
    },

    async release(id, socketId) {
      const [released, drop] = await redis.vcRelease(keys.record(id), socketId, instance, Date.now(), idTtlMs);
      if (drop === 1) await redis.sRem(myIds, id);
      return released === 1;
    },

    async lookup(id) {
      const [sock, off] = await redis.hmGet(keys.record(id), ['sock', 'off']);
      if (sock === null) return null;
      return { id, online: sock !== '', socketId: sock || null, offlineSince: off ? Number(off) : null };
    },

    /** Counts records with SCAN: for tests and operators, not hot paths. */
    async size() {
      let n = 0;
      for await (const key of redis.scanIterator({ MATCH: `${keys.recordPrefix}*`, COUNT: 1000 })) {
        void key;
        n++;
      }
      return n;
    },

    /**
     * Mark every ID `deadInstance` still holds offline (it crashed, or is
     * this instance shutting down). Safe to run concurrently on many nodes.
     */
    async reap(deadInstance, batch = 500) {
      const set = keys.instanceIds(deadInstance);
      let total = 0;
      // Entries leave the set only after their record was handled, so a
      // reaper that dies midway leaves them for the next one. Concurrent
      // reapers may handle an ID twice; marking is idempotent.
      for (;;) {
        const ids = await redis.sRandMemberCount(set, batch);
        if (ids.length === 0) break;
        const now = Date.now();
        const marked = await Promise.all(ids.map((id) => redis.vcMarkOffline(keys.record(id), deadInstance, now, idTtlMs)));
        total += marked.reduce((a, b) => a + b, 0);
        await redis.sRem(set, ids);
      }
      await redis.sRem(keys.instances, deadInstance);
      return total;
    },

    // The connection belongs to cluster.js.
    async close() {},
  };
}
