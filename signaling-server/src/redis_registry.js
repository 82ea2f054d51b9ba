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
//
// The MAX_IDS bound (see registry.js for the policy) uses two sorted sets,
// maintained next to the scripts rather than inside them (one key per
// command): <prefix>ids:exp (every record, scored by when it expires if it
// went offline now or did at release — a soft count) and <prefix>ids:fresh
// (offline records never reclaimed, scored by their offline time: the ones
// forgotten first when the registry is full).

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

// ARGV: offline time the evictor saw. Forget the record only if it is still
// offline since then (not reclaimed in the meantime). Reply: 1 if deleted.
const EVICT = `
local off = redis.call('HGET', KEYS[1], 'off')
if off and off ~= '' and off == ARGV[1] and redis.call('HGET', KEYS[1], 'sock') == '' then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

// ARGV: socketId. Undo a claim that just created the record (registry full).
const UNCLAIM = `
if redis.call('HGET', KEYS[1], 'sock') == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
`;

const passThrough = (...args) => args.map(String);

/** Scripts to pass to createClient({ scripts }). */
export const registryScripts = {
  vcClaim: defineScript({ NUMBER_OF_KEYS: 2, SCRIPT: CLAIM, transformArguments: passThrough }),
  vcRelease: defineScript({ NUMBER_OF_KEYS: 2, SCRIPT: RELEASE, transformArguments: passThrough }),
  vcReap: defineScript({ NUMBER_OF_KEYS: 2, SCRIPT: REAP, transformArguments: passThrough }),
  vcEvict: defineScript({ NUMBER_OF_KEYS: 1, SCRIPT: EVICT, transformArguments: passThrough }),
  vcUnclaim: defineScript({ NUMBER_OF_KEYS: 1, SCRIPT: UNCLAIM, transformArguments: passThrough }),
};

const hashToken = (token) => createHash('sha256').update(token, 'utf8').digest('hex');

export const registryKeys = (prefix) => ({
  record: (id) => `${prefix}id:${id}`,
  recordPrefix: `${prefix}id:`,
  instanceIds: (instance) => `${prefix}inst:${instance}:ids`,
  instanceAlive: (instance) => `${prefix}inst:${instance}:alive`,
  instances: `${prefix}instances`,
  expiries: `${prefix}ids:exp`,
  fresh: `${prefix}ids:fresh`,
});

/**
 * @param {object} opts
 * @param {import('redis').RedisClientType} opts.redis a connected client
 *   created with `registryScripts`
 * @param {string} opts.instance this server instance's unique name
 * @param {number} opts.idTtlMs
 * @param {number} [opts.maxIds]
 * @param {string} opts.prefix key prefix
 */
export function createRedisRegistry({ redis, instance, idTtlMs, maxIds = Infinity, prefix }) {
  const keys = registryKeys(prefix);
  const myIds = keys.instanceIds(instance);
  // Sessions (id + socket) whose claim created their record: going offline,
  // such a record joins the never-reclaimed set.
  const created = new Set();
  const session = (id, socketId) => `${id} ${socketId}`;

  async function full() {
    await redis.zRemRangeByScore(keys.expiries, '-inf', Date.now());
    return (await redis.zCard(keys.expiries)) > maxIds;
  }

  // Forget the oldest never-reclaimed offline record; false if there is none.
  async function evictOne() {
    for (let tries = 0; tries < 16; tries++) {
      const popped = await redis.zPopMin(keys.fresh);
      if (!popped) return false;
      if ((await redis.vcEvict(keys.record(popped.value), String(popped.score))) === 1) {
        await redis.zRem(keys.expiries, popped.value);
        return true;
      }
    }
    return false;
  }

  return {
    async claim(id, token, socketId) {
      const [code, prev] = await redis.vcClaim(keys.record(id), myIds, hashToken(token), socketId, instance, id);
      if (code === 0) return { ok: false, code: 'ID_TAKEN' };
      await redis.zAdd(keys.expiries, { score: Date.now() + idTtlMs, value: id });
      if (code === 2) {
        await redis.zRem(keys.fresh, id);
        return { ok: true, reclaimed: true, previousSocketId: prev || null };
      }
      if (Number.isFinite(maxIds) && (await full()) && !(await evictOne())) {
        await redis.vcUnclaim(keys.record(id), socketId);
        await redis.zRem(keys.expiries, id);
        await redis.sRem(myIds, id);
        return { ok: false, code: 'REGISTRY_FULL' };
      }
      created.add(session(id, socketId));
      return { ok: true, reclaimed: false, previousSocketId: null };
    },

    async release(id, socketId) {
      const now = Date.now();
      const released = (await redis.vcRelease(keys.record(id), myIds, socketId, id, instance, now, idTtlMs)) === 1;
      const fresh = created.delete(session(id, socketId));
      if (released) {
        await redis.zAdd(keys.expiries, { score: now + idTtlMs, value: id });
        if (fresh) await redis.zAdd(keys.fresh, { score: now, value: id });
      }
      return released;
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
