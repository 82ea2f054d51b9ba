// The call store of calls.js in Redis, so that a call set up through one
// node is known to all: one hash per pair of IDs, <prefix>call:<a> <b>,
// with fields "<callId>|<f>" per call (callId "" for calls opened without
// one): c caller, x expiry ms, a answered, e ended-at ms. The hash expires
// when its last call has (each write only ever extends its TTL). Concurrent
// writers from several nodes touch disjoint fields or write the same
// values, so no script needs to read before it writes.

import { defineScript } from 'redis';

// KEYS: pair hash. ARGV: keepMs, number of fields to delete, those fields,
// then field/value pairs to set. Extends the hash's TTL to keepMs if shorter.
const WRITE = `
local keep = tonumber(ARGV[1])
local ndel = tonumber(ARGV[2])
for i = 3, 2 + ndel do redis.call('HDEL', KEYS[1], ARGV[i]) end
local i = 3 + ndel
while i < #ARGV do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], keep) end
return 0
`;

export const callScripts = {
  // FIRST_KEY_INDEX: a cluster client routes a script by its first key.
  vcCallWrite: defineScript({ NUMBER_OF_KEYS: 1, FIRST_KEY_INDEX: 0, SCRIPT: WRITE, transformArguments: (...args) => args.map(String) }),
};

const FIELDS = { caller: 'c', expiresAt: 'x', answered: 'a', endedAt: 'e' };

/**
 * @param {object} opts
 * @param {import('redis').RedisClientType} opts.redis created with callScripts
 * @param {string} opts.prefix
 */
export function createRedisCallStore({ redis, prefix }) {
  const hash = (a, b) => `${prefix}call:${a} ${b}`;
  const encode = (cid, patch) => {
    const out = [];
    for (const [name, value] of Object.entries(patch)) {
      const f = FIELDS[name];
      if (!f) continue;
      out.push(`${cid}|${f}`, typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
    }
    return out;
  };

  return {
    async get(a, b) {
      const raw = await redis.hGetAll(hash(a, b));
      const calls = new Map();
      for (const [field, value] of Object.entries(raw)) {
        const bar = field.lastIndexOf('|');
        const cid = field.slice(0, bar);
        let e = calls.get(cid);
        if (!e) calls.set(cid, (e = { caller: '', expiresAt: 0, answered: false, endedAt: 0 }));
        switch (field.slice(bar + 1)) {
          case 'c': e.caller = value; break;
          case 'x': e.expiresAt = Number(value); break;
          case 'a': e.answered = value === '1'; break;
          case 'e': e.endedAt = Number(value); break;
          default: break;
        }
      }
      // A call whose opening write raced its deletion has no caller: ignore.
      for (const [cid, e] of calls) if (!e.caller) calls.delete(cid);
      return calls;
    },
    async put(a, b, cid, entry, keepMs) {
      await redis.vcCallWrite(hash(a, b), keepMs, 0, ...encode(cid, entry));
    },
    async patch(a, b, cid, patch, keepMs) {
      await redis.vcCallWrite(hash(a, b), keepMs, 0, ...encode(cid, patch));
    },
  };
}
