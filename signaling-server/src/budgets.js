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
// the budget has refilled (ws only; long-polling cannot be paused): the
// sender's TCP window closes, so an abusive client spends its own CPU waiting
// instead of ours parsing what we would drop. The flood guard's excess
// counter (src/rate_limit.js) still cuts clients that keep pushing.

import { createExcessTracker, createKeyedBuckets, createTokenBucket, perMinute } from './rate_limit.js';

const monotonicMs = () => performance.now();

// An automatic reply is a small Socket.IO EVENT packet (type 2, default
// namespace, no ack id) starting like this; anything larger is an ordinary
// message. (The decoder sees packets without Engine.IO's "4" in front.)
const REPLY_PREFIXES = ['2["ringing"', '2["busy"', '2["call_decline"'];
const MAX_REPLY_FRAME = 512;

/** Whether a packet is (the size of) an automatic reply to an offer. */
export function isReplyFrame(frame) {
  if (frame.length > MAX_REPLY_FRAME || frame.charCodeAt(0) !== 0x32 /* 2 */) return false;
  for (const p of REPLY_PREFIXES) if (frame.startsWith(p)) return true;
  return false;
}

/**
 * @param {object} cfg server config (rateLimitPerSec, rateLimitBurst,
 *   byteRatePerSec, byteBurst, ipRateLimitPerSec, ipRateLimitBurst,
 *   ipByteRatePerSec, ipByteBurst, callsPerTargetPerMin, callsPerTargetBurst)
 * @param {{ now?: () => number }} [opts]
 */
export function createBudgets(cfg, { now = monotonicMs } = {}) {
  const replyLimits = perMinute(2 * cfg.callsPerTargetPerMin, 2 * cfg.callsPerTargetBurst);
  const idReplies = createKeyedBuckets({ ...replyLimits, now });
  const idLimits = { msgs: { ratePerSec: cfg.rateLimitPerSec, burst: cfg.rateLimitBurst }, bytes: { ratePerSec: cfg.byteRatePerSec, burst: cfg.byteBurst } };
  const ipLimits = { msgs: { ratePerSec: cfg.ipRateLimitPerSec, burst: cfg.ipRateLimitBurst }, bytes: { ratePerSec: cfg.ipByteRatePerSec, burst: cfg.ipByteBurst } };
  const idMsgs = createKeyedBuckets({ ...idLimits.msgs, now });
  const idBytes = createKeyedBuckets({ ...idLimits.bytes, now });
  const ipMsgs = createKeyedBuckets({ ...ipLimits.msgs, now });
  const ipBytes = createKeyedBuckets({ ...ipLimits.bytes, now });

  /** Buckets of a connection that has no ID yet. */
  const ownBuckets = () => ({
    msgs: createTokenBucket({ ...idLimits.msgs, now }),
    bytes: createTokenBucket({ ...idLimits.bytes, now }),
    replies: createTokenBucket({ ...replyLimits, now }),
  });

  /**
   * A budget for one connection. `ip` may be null (before the session knows
   * it), `id` is set with bindId() once registered.
   */
  function connection(ip = null) {
    let own = ownBuckets();
    let id = null;
    const cap = (cost, limits) => Math.min(cost, limits.burst);

    // Buckets are looked up on every frame rather than held: sweep() may drop
    // an idle one, and a held reference would then split an ID's or an
    // address's budget in two.
    function take(bytes, reply) {
      if (reply) {
        const r = id === null ? own.replies : idReplies.get(id);
        if (r.take(1)) return true;
      }
      const m1 = id === null ? own.msgs : idMsgs.get(id);
      const b1 = id === null ? own.bytes : idBytes.get(id);
      const c1 = cap(bytes, idLimits.bytes);
      if (!m1.has(1) || !b1.has(c1)) return false;
      if (ip !== null) {
        const m2 = ipMsgs.get(ip);
        const b2 = ipBytes.get(ip);
        const c2 = cap(bytes, ipLimits.bytes);
        if (!m2.has(1) || !b2.has(c2)) return false;
        m2.charge(1);
        b2.charge(c2);
      }
      m1.charge(1);
      b1.charge(c1);
      return true;
    }

    const tracker = createExcessTracker({ admitOne: take, ...idLimits.msgs, now });

    return {
      get id() {
        return id;
      },
      get ip() {
        return ip;
      },
      setIp(address) {
        ip = address;
      },
      /**
       * @param {number} bytes
       * @param {boolean} [reply] the frame is an automatic reply (isReplyFrame)
       * @returns {'ok'|'drop'|'notify'|'disconnect'}
       */
      admit: (bytes, reply = false) => tracker.admit(bytes, reply),
      /** Binary attachments ride with their packet: bytes only, never refused. */
      chargeBytes(bytes) {
        (id === null ? own.bytes : idBytes.get(id)).charge(cap(bytes, idLimits.bytes));
        if (ip !== null) ipBytes.get(ip).charge(cap(bytes, ipLimits.bytes));
      },
      takeDropped: () => tracker.takeDropped(),
      /** From now on spend the ID's buckets, charged with what was spent so far. */
      bindId(clientId) {
        if (id === clientId) return;
        const spentMsgs = own.msgs.used();
        const spentBytes = own.bytes.used();
        const spentReplies = own.replies.used();
        id = clientId;
        if (spentMsgs > 0) idMsgs.get(id).charge(spentMsgs);
        if (spentBytes > 0) idBytes.get(id).charge(spentBytes);
        if (spentReplies > 0) idReplies.get(id).charge(spentReplies);
        own = null;
      },
      /** How long until a frame of `bytes` would be admitted. */
      waitMs(bytes) {
        const waits = [
          (id === null ? own.msgs : idMsgs.get(id)).waitMs(1),
          (id === null ? own.bytes : idBytes.get(id)).waitMs(cap(bytes, idLimits.bytes)),
        ];
        if (ip !== null) waits.push(ipMsgs.waitMs(ip, 1), ipBytes.waitMs(ip, cap(bytes, ipLimits.bytes)));
        return Math.max(...waits);
      },
    };
  }

  return {
    connection,
    /** Forget full (idle) buckets; returns how many. Run periodically. */
    sweep: () => idMsgs.sweep() + idBytes.sweep() + ipMsgs.sweep() + ipBytes.sweep() + idReplies.sweep(),
    get size() {
      return idMsgs.size + idBytes.size + ipMsgs.size + ipBytes.size + idReplies.size;
    },
  };
}
