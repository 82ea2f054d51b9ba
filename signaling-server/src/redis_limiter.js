// The limiter interface of limiter.js, in Redis: one token bucket per key
// (a hash {t: tokens, ts: last refill ms}), updated by a Lua script so that
// every node of a cluster spends from the same bucket. Used for the limits
// a sender could otherwise multiply by spreading over nodes (call requests
// per callee). A bucket expires once it would be full again.

import { defineScript } from 'redis';

// KEYS: bucket. ARGV: tokens per ms, burst, now ms, cost, ttl ms. Reply: 1 = taken.
const TAKE = `
local rate, burst, now, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local b = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
  ts = now
end
local ok = 0
if tokens >= cost then
  tokens = tokens - cost
  ok = 1
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return ok
`;

export const limiterScripts = {
  // FIRST_KEY_INDEX: a cluster client routes a script by its first key.
  vcTake: defineScript({ NUMBER_OF_KEYS: 1, FIRST_KEY_INDEX: 0, SCRIPT: TAKE, transformArguments: (...args) => args.map(String) }),
};

/**
 * @param {object} opts
 * @param {import('redis').RedisClientType} opts.redis created with limiterScripts
 * @param {string} opts.prefix
 */
export function createRedisLimiter({ redis, prefix }) {
  return {
    async take(name, { ratePerSec, burst }, key, cost = 1) {
      const refillMs = Math.ceil((burst / ratePerSec) * 1000) + 1000;
      return (await redis.vcTake(`${prefix}rl:${name}:${key}`, ratePerSec / 1000, burst, Date.now(), cost, refillMs)) === 1;
    },
    waitMs: () => 0,
    sweep: () => 0, // Redis expires idle buckets itself
  };
}
