// What each client may send: messages and bytes per second, per client ID
// and per client address. The decoder (src/parser.js) asks before parsing a
// frame, so a refused frame costs a few bucket updates and nothing else.
//
// Buckets are keyed by ID and address, not by connection: reconnecting does
// not refill them (a client cut for flooding comes back to an empty bucket),
// and a hundred sockets from one address share that address's budget.
// Until a connection has been given its ID (the first frame, CONNECT, and
// anything sent before registration completes) it spends from buckets of its
// own, which are then charged to the ID so that a reconnect gains nothing.
//
// Automatic replies — `ringing`, `busy`, `call_decline`, which clients send
// on their own when an offer arrives — are charged to an allowance of their
// own per ID, as large as the call requests anyone may send that ID (twice
// CALLS_PER_TARGET_*: a ringing and a busy/decline each). So strangers'
// offers can never make a victim spend its own budget and get it cut off
// (the reflection attack); only beyond that allowance, which nobody else can
// make it exceed, do replies count as ordinary messages.
//
// Over budget, a frame is dropped and the connection's reader is paused until
// the budget has refilled, for longer each time it is refused again (ws
// only; long-polling cannot be paused; src/reader_pause.js): the sender's
// TCP window closes, so an abusive client spends its own CPU waiting instead
// of ours parsing what we would drop. The flood guard's excess counter
// (src/rate_limit.js), which weighs a refused frame by its bytes as well,
// still cuts clients that keep pushing.
//
// This runs for every frame, so a key's message and byte budgets live in one
// object refilled in one step, and a connection keeps its buckets at hand
// (looked up again only after a sweep may have forgotten them).

import { createExcessTracker, createKeyedBuckets, createTokenBucket, perMinute } from './rate_limit.js';

const monotonicMs = () => performance.now();

// An automatic reply is a small Socket.IO EVENT packet (type 2, default
// namespace, no ack id) starting like this; anything larger is an ordinary
// message. (The decoder sees packets without Engine.IO's "4" in front.)
const REPLY_PREFIXES = ['2["ringing"', '2["busy"', '2["call_decline"'];
export const MAX_REPLY_FRAME = 512;

/** Whether a packet is (the size of) an automatic reply to an offer. */
export function isReplyFrame(frame) {
  if (frame.length > MAX_REPLY_FRAME || frame.charCodeAt(0) !== 0x32 /* 2 */) return false;
  for (const p of REPLY_PREFIXES) if (frame.startsWith(p)) return true;
  return false;
}

/**
 * A message bucket and a byte bucket refilled together.
 * @param {{ msgs: {ratePerSec: number, burst: number}, bytes: {ratePerSec: number, burst: number} }} limits
 */
function createPair(limits, t) {
  return { limits, msgs: limits.msgs.burst, bytes: limits.bytes.burst, last: t };
}

function refill(p, t) {
  if (t <= p.last) return;
  const dt = t - p.last;
  p.msgs = Math.min(p.limits.msgs.burst, p.msgs + (dt * p.limits.msgs.ratePerSec) / 1000);
  p.bytes = Math.min(p.limits.bytes.burst, p.bytes + (dt * p.limits.bytes.ratePerSec) / 1000);
  p.last = t;
}

// A frame bigger than a whole burst costs the whole burst: it passes when
// the bucket is full instead of never.
const cost = (bytes, p) => Math.min(bytes, p.limits.bytes.burst);

function waitMs(p, bytes, t) {
  refill(p, t);
  const m = p.msgs >= 1 ? 0 : ((1 - p.msgs) * 1000) / p.limits.msgs.ratePerSec;
  const c = cost(bytes, p);
  const b = p.bytes >= c ? 0 : ((c - p.bytes) * 1000) / p.limits.bytes.ratePerSec;
  return Math.max(m, b);
}

function keyedPairs(limits, now) {
  const pairs = new Map();
  return {
    get(key) {
      let p = pairs.get(key);
      if (!p) pairs.set(key, (p = createPair(limits, now())));
      return p;
    },
    sweep() {
      const t = now();
      let removed = 0;
      for (const [key, p] of pairs) {
        refill(p, t);
        if (p.msgs >= limits.msgs.burst && p.bytes >= limits.bytes.burst) {
          pairs.delete(key);
          removed++;
        }
      }
      return removed;
    },
    get size() {
      return pairs.size;
    },
  };
}

/**
 * @param {object} cfg server config (rateLimitPerSec, rateLimitBurst,
 *   byteRatePerSec, byteBurst, ipRateLimitPerSec, ipRateLimitBurst,
 *   ipByteRatePerSec, ipByteBurst, callsPerTargetPerMin, callsPerTargetBurst)
 * @param {{ now?: () => number }} [opts]
 */
export function createBudgets(cfg, { now = monotonicMs } = {}) {
  const idLimits = { msgs: { ratePerSec: cfg.rateLimitPerSec, burst: cfg.rateLimitBurst }, bytes: { ratePerSec: cfg.byteRatePerSec, burst: cfg.byteBurst } };
  const ipLimits = { msgs: { ratePerSec: cfg.ipRateLimitPerSec, burst: cfg.ipRateLimitBurst }, bytes: { ratePerSec: cfg.ipByteRatePerSec, burst: cfg.ipByteBurst } };
  const replyLimits = perMinute(2 * cfg.callsPerTargetPerMin, 2 * cfg.callsPerTargetBurst);
  const byId = keyedPairs(idLimits, now);
  const byIp = keyedPairs(ipLimits, now);
  const replies = createKeyedBuckets({ ...replyLimits, now });
  // Bumped by sweep(): buckets a connection looked up before may have been
  // forgotten, and holding on to one would split an ID's or an address's
  // budget in two; connections look theirs up again after a sweep.
  let epoch = 0;

  /**
   * A budget for one connection. `ip` may be null (before the session knows
   * it), `id` is set with bindId() once registered. A class, not a closure
   * per method: one is held for every open connection.
   */
  class ConnectionBudget {
    #ip;
    #id = null;
    // Before registration: buckets of its own (the ID's limits).
    #own = { pair: createPair(idLimits, now()), replies: createTokenBucket({ ...replyLimits, now }) };
    #cached = null;
    #tracker;

    constructor(ip = null) {
      this.#ip = ip;
      this.#tracker = createExcessTracker({ admitOne: (bytes, reply) => this.#take(bytes, reply), ...idLimits.msgs, byteRatePerSec: idLimits.bytes.ratePerSec, now });
    }

    #current() {
      const cached = this.#cached;
      if (cached !== null && cached.epoch === epoch) return cached;
      const id = this.#id;
      const ip = this.#ip;
      this.#cached = {
        epoch,
        id: id === null ? this.#own.pair : byId.get(id),
        ip: ip === null ? null : byIp.get(ip),
        replies: id === null ? this.#own.replies : replies.get(id),
      };
      return this.#cached;
    }

    #take(bytes, reply) {
      const t = now();
      const b = this.#current();
      if (reply && b.replies.take(1, t)) return true;
      const mine = b.id;
      refill(mine, t);
      const c1 = cost(bytes, mine);
      if (mine.msgs < 1 || mine.bytes < c1) return false;
      const addr = b.ip;
      if (addr !== null) {
        refill(addr, t);
        const c2 = cost(bytes, addr);
        if (addr.msgs < 1 || addr.bytes < c2) return false;
        addr.msgs -= 1;
        addr.bytes -= c2;
      }
      mine.msgs -= 1;
      mine.bytes -= c1;
      return true;
    }

    get id() {
      return this.#id;
    }

    get ip() {
      return this.#ip;
    }

    setIp(address) {
      this.#ip = address;
      this.#cached = null;
    }

    /**
     * @param {number} bytes
     * @param {boolean} [reply] the frame is an automatic reply (isReplyFrame)
     * @returns {'ok'|'drop'|'notify'|'disconnect'}
     */
    admit(bytes, reply = false) {
      return this.#tracker.admit(bytes, reply);
    }

    /** Binary attachments ride with their packet: bytes only, never refused. */
    chargeBytes(bytes) {
      const t = now();
      const b = this.#current();
      refill(b.id, t);
      b.id.bytes -= cost(bytes, b.id);
      if (b.ip !== null) {
        refill(b.ip, t);
        b.ip.bytes -= cost(bytes, b.ip);
      }
    }

    takeDropped() {
      return this.#tracker.takeDropped();
    }

    /** From now on spend the ID's buckets, charged with what was spent so far. */
    bindId(clientId) {
      if (this.#id === clientId) return;
      const t = now();
      const own = this.#own;
      refill(own.pair, t);
      const spentMsgs = idLimits.msgs.burst - own.pair.msgs;
      const spentBytes = idLimits.bytes.burst - own.pair.bytes;
      const spentReplies = own.replies.used();
      this.#id = clientId;
      const mine = byId.get(clientId);
      refill(mine, t);
      mine.msgs -= spentMsgs;
      mine.bytes -= spentBytes;
      if (spentReplies > 0) replies.get(clientId).charge(spentReplies);
      this.#own = null;
      this.#cached = null;
    }

    /** How long until a frame of `bytes` would be admitted. */
    waitMs(bytes) {
      const t = now();
      const b = this.#current();
      return Math.max(waitMs(b.id, bytes, t), b.ip === null ? 0 : waitMs(b.ip, bytes, t));
    }
  }

  const connection = (ip = null) => new ConnectionBudget(ip);

  return {
    connection,
    /** Forget full (idle) buckets; returns how many. Run periodically. */
    sweep() {
      epoch++;
      return byId.sweep() + byIp.sweep() + replies.sweep();
    },
    get size() {
      return byId.size + byIp.size + replies.size;
    },
  };
}
