// Named sets of keyed token buckets for limits that may have to hold across
// a cluster (call requests per target, …): the memory version here, the
// Redis version in redis_limiter.js, same interface:
//
//   take(name, { ratePerSec, burst }, key, cost = 1) → boolean | Promise<boolean>
//   waitMs(name, key) → ms until the next token (memory only; for messages)
//   sweep()

import { createKeyedBuckets } from './rate_limit.js';

export function createMemoryLimiter({ now = () => performance.now() } = {}) {
  const sets = new Map();
  const set = (name, params) => {
    let s = sets.get(name);
    if (!s) sets.set(name, (s = createKeyedBuckets({ ...params, now })));
    return s;
  };
  return {
    take: (name, params, key, cost = 1) => set(name, params).take(key, cost),
    waitMs: (name, key) => sets.get(name)?.waitMs(key) ?? 0,
    sweep() {
      let n = 0;
      for (const s of sets.values()) n += s.sweep();
      return n;
    },
  };
}
