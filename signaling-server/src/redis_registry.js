// ID registry in Redis, for running several server nodes against one Redis
// (standalone or Sentinel; not Redis Cluster: the scripts touch keys they
// derive themselves). Same contract as the memory registry in registry.js.
//
// Per ID one hash  <prefix>id:<id> = { tok, sock, inst, off }
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
// (cluster.js) marks those IDs offline with REAP, which starts their TTL.
//
// claim/release are Lua scripts so that check-and-set is atomic across
// nodes: two nodes claiming the same free ID at once cannot both win.

import { createHash } from 'node:crypto';
import { defineScript } from 'redis';

// ARGV: tokenHash, socketId, instance, id. Reply: {0} taken | {1} new |
// {2, previousSocket} reclaimed. Comparing digests with `~=` leaks timing
// only about the digest of the attacker's own guess, which is useless.
const CLAIM = `
local tok = redis.call('HGET', KEYS[1], 'tok')
if tok and tok ~= ARGV[1] then return {0, ''} end
local prev = ''
if tok then prev = redis.call('HGET', KEYS[1], 'sock') or '' end
redis.call('HSET', KEYS[1], 'tok', ARGV[1], 'sock', ARGV[2], 'inst', ARGV[3], 'off', '')
redis.call('PERSIST', KEYS[1])
redis.call('SADD', KEYS[2], ARGV[4])
if tok then return {2, prev} end
return {1, ''}
`;

// ARGV: socketId, id, instance, nowMs, ttlMs. Only the holding socket may
// take the ID offline; a replaced session just drops it from its
// instance's set (unless another socket of the same instance holds it).
const RELEASE = `
local cur = redis.call('HMGET', KEYS[1], 'sock', 'inst')
if cur[1] ~= ARGV[1] then
  if cur[2] ~= ARGV[3] then redis.call('SREM', KEYS[2], ARGV[2]) end
  return 0
end
redis.call('HSET', KEYS[1], 'sock', '', 'off', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('SREM', KEYS[2], ARGV[2])
return 1
`;

// KEYS: dead instance's id set, set of instances. ARGV: instance, record
// key prefix, nowMs, ttlMs, batch. Marks up to `batch` IDs offline; returns
// how many it took from the set (call again until < batch).
const REAP = `
local ids = redis.call('SPOP', KEYS[1], tonumber(ARGV[5]))
for _, id in ipairs(ids) do
  local rec = ARGV[2] .. id
  local cur = redis.call('HMGET', rec, 'sock', 'inst')
  if cur[2] == ARGV[1] and cur[1] and cur[1] ~= '' then
    redis.call('HSET', rec, 'sock', '', 'off', ARGV[3])
    redis.call('PEXPIRE', rec, ARGV[4])
  end
end
if redis.call('SCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end
return #ids
`;

const passThrough = (...args) => args.map(String);

/** Scripts to pass to createClient({ scripts }). */
export const registryScripts = {
  vcClaim: defineScript({ NUMBER_OF_KEYS: 2, SCRIPT: CLAIM, transformArguments: passThrough }),
  vcRelease: defineScript({ NUMBER_OF_KEYS: 2, SCRIPT: RELEASE, transformArguments: passThrough }),
  vcReap: defineScript({ NUMBER_OF_KEYS: 2, SCRIPT: REAP, transformArguments: passThrough }),
};

const hashToken = (token) => createHash('sha256').update(token, 'utf8').digest('hex');

export const registryKeys = (prefix) => ({
  record: (id) => `${prefix}id:${id}`,
  recordPrefix: `${prefix}id:`,
  instanceIds: (instance) => `${prefix}inst:${instance}:ids`,
  instanceAlive: (instance) => `${prefix}inst:${instance}:alive`,
  instances: `${prefix}instances`,
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
      const [code, prev] = await redis.vcClaim(keys.record(id), myIds, hashToken(token), socketId, instance, id);
      if (code === 0) return { ok: false, code: 'ID_TAKEN' };
      return { ok: true, reclaimed: code === 2, previousSocketId: prev || null };
    },

    async release(id, socketId) {
      return (await redis.vcRelease(keys.record(id), myIds, socketId, id, instance, Date.now(), idTtlMs)) === 1;
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
      let total = 0;
      for (;;) {
        const n = await redis.vcReap(
          keys.instanceIds(deadInstance),
          keys.instances,
          deadInstance,
          keys.recordPrefix,
          Date.now(),
          idTtlMs,
          batch,
        );
        total += n;
        if (n < batch) return total;
      }
    },

    // The connection belongs to cluster.js.
    async close() {},
  };
}
