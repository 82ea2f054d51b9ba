// Token buckets: the one primitive behind every budget in this server
// (messages and bytes per client ID and per address, connections and
// registrations per address, call requests, TURN requests, wrong tokens).
//
// A bucket holds up to `burst` tokens and refills at `ratePerSec`; taking
// `cost` tokens succeeds only if that many are there. Message budgets take
// 1 per message, byte budgets the frame's size.
//
// The flood guard adds an "excess" counter on top of a bucket to decide
// when a client is flooding so far beyond its budget that the connection
// is cut. Verdicts from admit():
//   'ok'         within the limit: process the message
//   'drop'       over the limit: drop silently
//   'notify'     over the limit: drop, and tell the client (RATE_LIMITED).
//                At most once per `noticeIntervalMs`, so the error replies
//                themselves cannot be used to amplify a flood.
//   'disconnect' the over-limit count passed `disconnectFactor × burst`:
//                drop this and everything after it, cut the connection.
// The excess counter drains at `ratePerSec`, so a client sending at up to
// twice the limit is throttled forever but never cut; one sending faster is
// cut after roughly disconnectFactor × burst / (sendRate − 2 × ratePerSec)
// seconds — at the defaults (50/s, burst 100): 150 msg/s → ~20 s,
// 500 msg/s → ~2.5 s, a tight loop → a few ms.

const monotonicMs = () => performance.now();

// Methods take an optional `t` (a reading of `now`): a caller checking
// several buckets for one frame reads the clock once. A class: there is a
// bucket for every active key (address, ID, call target…), and methods on
// the prototype cost nothing per bucket.
class TokenBucket {
  constructor({ ratePerSec, burst, now = monotonicMs }) {
    this.ratePerSec = ratePerSec;
    this.burst = burst;
    this.now = now;
    this.tokens = burst;
    this.last = now();
  }

  refill(t = this.now()) {
    if (t > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.ratePerSec) / 1000);
      this.last = t;
    }
  }

  /** Take `cost` tokens if they are all there. */
  take(cost = 1, t = undefined) {
    this.refill(t);
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }

  /** Whether `cost` tokens are there, without taking them. */
  has(cost = 1, t = undefined) {
    this.refill(t);
    return this.tokens >= cost;
  }

  /** Take unconditionally (may go negative: debt that must refill first). */
  charge(cost, t = undefined) {
    this.refill(t);
    this.tokens -= cost;
  }

  /** Milliseconds until `cost` tokens are there (0 if they are). */
  waitMs(cost = 1) {
    this.refill();
    return this.tokens >= cost ? 0 : ((cost - this.tokens) * 1000) / this.ratePerSec;
  }

  /** Tokens used up compared with a full bucket. */
  used() {
    this.refill();
    return this.burst - this.tokens;
  }

  /** True once the bucket is full again: forgetting it changes nothing. */
  isFull() {
    this.refill();
    return this.tokens >= this.burst;
  }
}

/** @param {{ ratePerSec: number, burst: number, now?: () => number }} opts */
export const createTokenBucket = (opts) => new TokenBucket(opts);

/**
 * One bucket per key (client ID, address, call target…), created on first
 * use. Full buckets carry no information, so sweep() forgets them: memory
 * is bounded by the keys active within the last burst/rate seconds.
 */
export function createKeyedBuckets({ ratePerSec, burst, now = monotonicMs }) {
  const buckets = new Map();
  return {
    get(key) {
      let b = buckets.get(key);
      if (!b) buckets.set(key, (b = createTokenBucket({ ratePerSec, burst, now })));
      return b;
    },
    take(key, cost = 1) {
      return this.get(key).take(cost);
    },
    waitMs(key, cost = 1) {
      const b = buckets.get(key);
      return b ? b.waitMs(cost) : 0;
    },
    sweep() {
      let removed = 0;
      for (const [key, b] of buckets) {
        if (b.isFull()) {
          buckets.delete(key);
          removed++;
        }
      }
      return removed;
    },
    get size() {
      return buckets.size;
    },
  };
}

/**
 * Rate + burst given per minute or per hour, as bucket parameters.
 */
export const perMinute = (n, burst) => ({ ratePerSec: n / 60, burst });
export const perHour = (n, burst) => ({ ratePerSec: n / 3600, burst });

export function createFloodGuard({
  ratePerSec,
  burst,
  now = monotonicMs,
  noticeIntervalMs = 1000,
  disconnectFactor = 10,
}) {
  const bucket = createTokenBucket({ ratePerSec, burst, now });
  return createExcessTracker({ admitOne: () => bucket.take(), ratePerSec, burst, now, noticeIntervalMs, disconnectFactor });
}

/**
 * The verdict logic of the flood guard around any admission test.
 *
 * With `byteRatePerSec`, admit(bytes, …) weighs a refused frame by its size
 * as well: it counts as max(1, bytes × ratePerSec / byteRatePerSec)
 * messages, i.e. as many as the time its bytes take to refill would allow.
 * A client sending few but huge frames (a byte flood at the message rate)
 * is then cut like one sending many small ones.
 * @param {{ admitOne: (bytes?: number, arg?: unknown) => boolean, ratePerSec: number, burst: number, byteRatePerSec?: number }} opts
 */
export function createExcessTracker({
  admitOne,
  ratePerSec,
  burst,
  byteRatePerSec = Infinity,
  now = monotonicMs,
  noticeIntervalMs = 1000,
  disconnectFactor = 10,
}) {
  return new ExcessTracker(admitOne, ratePerSec, ratePerSec / byteRatePerSec, disconnectFactor * burst, now, noticeIntervalMs);
}

// One per connection: a class, so that its methods cost nothing per connection.
class ExcessTracker {
  constructor(admitOne, ratePerSec, msgsPerByte, cutoff, now, noticeIntervalMs) {
    this.admitOne = admitOne;
    this.ratePerSec = ratePerSec;
    this.msgsPerByte = msgsPerByte;
    this.cutoff = cutoff;
    this.now = now;
    this.noticeIntervalMs = noticeIntervalMs;
    this.excess = 0;
    this.excessAt = now();
    this.lastNotice = -Infinity;
    this.dropped = 0;
    this.cut = false;
  }

  // Two fixed arguments (bytes, and one the admission test may want):
  // this runs for every frame, so no rest/spread arrays.
  admit(bytes, arg) {
    if (this.cut) return 'drop';
    if (this.admitOne(bytes, arg)) return 'ok';
    const t = this.now();
    const weight = typeof bytes === 'number' ? Math.max(1, bytes * this.msgsPerByte) : 1;
    this.excess = Math.max(0, this.excess - ((t - this.excessAt) * this.ratePerSec) / 1000) + weight;
    this.excessAt = t;
    this.dropped++;
    if (this.excess > this.cutoff) {
      this.cut = true;
      return 'disconnect';
    }
    if (t - this.lastNotice >= this.noticeIntervalMs) {
      this.lastNotice = t;
      return 'notify';
    }
    return 'drop';
  }

  /** Messages dropped since the last call (for the error message/logs). */
  takeDropped() {
    const d = this.dropped;
    this.dropped = 0;
    return d;
  }
}
