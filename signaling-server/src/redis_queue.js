// The offline queue (see queue.js for the semantics) kept in Redis, so a
// target that reconnects to a *different* node still gets what was queued
// for it. Same interface as createOfflineQueue, with async methods.
//
// Per target (hash-tagged by the ID, like its registry record, so each
// script's two keys share a slot in a Redis Cluster):
//   <prefix>q:{<id>}   list of entries "<group key>\n<json message>", oldest first
//   <prefix>qr:{<id>}  set of group keys already reported by an overflow
// Both get a PEXPIRE of 2 × ttl on every push, so nothing outlives its use
// even if every node that queued something dies.
//
// Timeouts stay node-local: the node that queued a message runs its timer
// and, when it fires, removes that message's whole group with EXPIRE and
// tells the sender. If the target reclaimed its ID in the meantime (on any
// node) the group is already gone and nobody is told anything. If the
// queuing node dies, its timers die with it: those entries are then dropped
// silently at drain time (they are older than the ttl) or by Redis expiry.

import { defineScript } from 'redis';

// KEYS: queue, reported. ARGV: entry, maxPerTarget, keepMs.
// Reply: {length, entries dropped by overflow whose group is newly reported…}
const PUSH = `
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
local out = {0}
while n > tonumber(ARGV[2]) do
  local old = redis.call('LPOP', KEYS[1])
  n = n - 1
  local key = string.match(old, '^[^\\n]*')
  if redis.call('SADD', KEYS[2], key) == 1 then table.insert(out, old) end
end
out[1] = n
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return out
`;

// KEYS: queue, reported. ARGV: group key, keepMs.
// Reply: {removed count, 1 if the sender must be told, first removed entry}
const EXPIRE = `
local entries = redis.call('LRANGE', KEYS[1], 0, -1)
local prefix = ARGV[1] .. '\\n'
local keep, count, first = {}, 0, ''
for _, e in ipairs(entries) do
  if string.sub(e, 1, #prefix) == prefix then
    count = count + 1
    if count == 1 then first = e end
  else
    table.insert(keep, e)
  end
end
if count == 0 then return {0, 0, ''} end
redis.call('DEL', KEYS[1])
if #keep > 0 then
  redis.call('RPUSH', KEYS[1], unpack(keep))
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local notify = 1
if redis.call('SREM', KEYS[2], ARGV[1]) == 1 then notify = 0 end
return {count, notify, first}
`;

// KEYS: queue, reported. Reply: {entries, reported group keys}; both deleted.
const TAKE = `
local entries = redis.call('LRANGE', KEYS[1], 0, -1)
local reported = redis.call('SMEMBERS', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
return {entries, reported}
`;

const passThrough = (...args) => args.map(String);

// FIRST_KEY_INDEX: a cluster client routes a script by its first key.
const script = (SCRIPT) => defineScript({ NUMBER_OF_KEYS: 2, FIRST_KEY_INDEX: 0, SCRIPT, transformArguments: passThrough });

export const queueScripts = {
  vcQueuePush: script(PUSH),
  vcQueueExpire: script(EXPIRE),
  vcQueueTake: script(TAKE),
};

const groupKey = (m) => JSON.stringify([m.from, m.event, m.callId ?? null]);

function parseEntry(entry) {
  const nl = entry.indexOf('\n');
  return { key: entry.slice(0, nl), message: JSON.parse(entry.slice(nl + 1)) };
}

/**
 * @param {object} opts
 * @param {import('redis').RedisClientType} opts.redis created with queueScripts
 * @param {string} opts.prefix
 * @param {number} opts.ttlMs
 * @param {number} [opts.maxPerTarget]
 * @param {(info: object) => void} opts.onUndeliverable
 * @param {ReturnType<import('./log.js').createLogger>} opts.log
 */
export function createRedisOfflineQueue({ redis, prefix, ttlMs, maxPerTarget = 64, onUndeliverable, log }) {
  const qKey = (id) => `${prefix}q:{${id}}`;
  const rKey = (id) => `${prefix}qr:{${id}}`;
  // Long enough that a slow reclaim still finds the entries; short enough
  // that entries whose node died do not linger.
  const keepMs = Math.max(2 * ttlMs, 1000);
  const timers = new Set();

  function notify(targetId, message, count, reason) {
    try {
      onUndeliverable({ targetId, from: message.from, event: message.event, callId: message.callId, count, reason });
    } catch {
      // Same as queue.js: a failing callback must not break timer handling.
    }
  }

  async function expire(targetId, key) {
    const [count, mustNotify, first] = await redis.vcQueueExpire(qKey(targetId), rKey(targetId), key, keepMs);
    if (count > 0 && mustNotify === 1) notify(targetId, parseEntry(first).message, count, 'timeout');
  }

  return {
    async push(targetId, message) {
      const key = groupKey(message);
      const entry = `${key}\n${JSON.stringify({ ...message, at: Date.now() })}`;
      const [length, ...dropped] = await redis.vcQueuePush(qKey(targetId), rKey(targetId), entry, maxPerTarget, keepMs);
      for (const old of dropped) notify(targetId, parseEntry(old).message, 1, 'overflow');
      const timer = setTimeout(() => {
        timers.delete(timer);
        expire(targetId, key).catch((err) => log.error({ err, to: targetId }, 'offline queue expiry failed'));
      }, ttlMs);
      timer.unref();
      timers.add(timer);
      return length;
    },

    async drain(targetId) {
      const [entries] = await redis.vcQueueTake(qKey(targetId), rKey(targetId));
      // Entries past their ttl were queued by a node that died before its
      // timer could report them; delivering them now would be stale.
      const oldest = Date.now() - ttlMs - 1000;
      return entries
        .map((e) => parseEntry(e).message)
        .filter((m) => m.at >= oldest)
        .map(({ event, from, callId, payload, bytes }) => ({ event, from, callId, payload, bytes }));
    },

    async fail(targetId) {
      const [entries, reported] = await redis.vcQueueTake(qKey(targetId), rKey(targetId));
      const groups = new Map();
      for (const e of entries) {
        const { key, message } = parseEntry(e);
        const g = groups.get(key);
        if (g) g.count++;
        else groups.set(key, { message, count: 1 });
      }
      const already = new Set(reported);
      for (const [key, g] of groups) if (!already.has(key)) notify(targetId, g.message, g.count, 'timeout');
    },

    size(targetId) {
      return redis.lLen(qKey(targetId));
    },

    /** Stop this node's timers; the entries stay for whoever reclaims. */
    clear() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
