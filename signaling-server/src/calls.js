// Which calls the server knows of, and so which messages it relays.
//
// Only an offer opens a call, and a new offer is a *call request*: it is
// charged to the target's, the sender's and the sender's address's call
// budgets (CALLS_PER_TARGET_*, CALLS_PER_SENDER_*, CALLS_PER_IP_*). Every
// other message is relayed only inside a call between the same two IDs:
//   - answer_sdp, send_ice, ringing, busy, call_decline need a live call,
//     else NOT_IN_CALL (the same answer whatever the target is: unknown,
//     offline or online);
//   - a re-offer inside a live call (ICE restart) is not a new request;
//   - busy, call_decline and call_hangup end the call; messages that trail
//     an ended call for LINGER_MS are dropped without an error (both sides
//     hang up at once, candidates still in flight);
//   - call_hangup with no call known is still relayed, charged like a call
//     request: a server that restarted (memory mode) has forgotten the
//     calls in progress, and their end must still reach the peer. It gives
//     a stranger nothing an offer would not, and no client answers it.
// Call requests per callee also bound how many automatic replies
// (`ringing`, `busy`, `call_decline`) strangers can make a client send;
// those replies have an allowance of their own (src/budgets.js).
//
// Calls are matched by (pair of IDs, callId). A message without a callId
// (old clients) belongs to the pair's most recent call; a call opened
// without one matches any callId (an old client called a new one).
// A request not answered expires after CALL_RING_SECONDS, an answered call
// after CALL_IDLE_SECONDS without signaling (media needs none); a re-offer
// or hang-up after that still works as described above.

import { ClientError, ErrorCode } from './errors.js';
import { after, isPromise } from './maybe_async.js';
import { perMinute } from './rate_limit.js';

export const LINGER_MS = 10_000;
// Calls per pair of IDs kept at once (redials, glare); the oldest goes first.
const MAX_CALLS_PER_PAIR = 16;

const RELAY = Object.freeze({ relay: true });
const DROP = Object.freeze({ relay: false });
// Shared continuations: the relay path runs for every message, so it
// allocates no closures of its own.
const relay = () => RELAY;

/**
 * @typedef {object} CallEntry
 * @property {string} caller
 * @property {number} expiresAt   ms (wall clock): ring or idle expiry
 * @property {boolean} answered
 * @property {number} endedAt     0 while live
 *
 * @typedef {object} CallStore   memory (below) or Redis (redis_calls.js);
 *   a pair of IDs is passed as (a, b) with a < b
 * @property {(a: string, b: string, t?: number) => Map<string, CallEntry> | Promise<Map<string, CallEntry>>} get
 *   (t: the caller's reading of the wall clock)
 * @property {(a: string, b: string, cid: string, entry: CallEntry, keepMs: number) => unknown} put
 *   (keepMs: keep the pair at least this long from now)
 * @property {(a: string, b: string, cid: string, patch: Partial<CallEntry>, keepMs: number) => unknown} patch
 */

/**
 * @param {object} opts
 * @param {CallStore} opts.store
 * @param {ReturnType<import('./limiter.js').createMemoryLimiter>} opts.limiter
 * @param {object} opts.config callsPerTargetPerMin, callsPerTargetBurst,
 *   callsPerSenderPerMin, callsPerSenderBurst, callsPerIpPerMin,
 *   callsPerIpBurst, callRingSeconds, callIdleSeconds
 * @param {() => number} [opts.now] wall clock in ms
 */
export function createCallPolicy({ store, limiter, config, now = Date.now }) {
  const ringMs = config.callRingSeconds * 1000;
  const idleMs = config.callIdleSeconds * 1000;
  const perTarget = perMinute(config.callsPerTargetPerMin, config.callsPerTargetBurst);
  const perSender = perMinute(config.callsPerSenderPerMin, config.callsPerSenderBurst);
  const perIp = perMinute(config.callsPerIpPerMin, config.callsPerIpBurst);

  /** The callId of the call a message belongs to, or undefined. */
  function find(calls, callId) {
    if (callId !== undefined) return calls.has(callId) ? callId : calls.has('') ? '' : undefined;
    let best;
    let bestExpiry = -Infinity;
    for (const [cid, e] of calls) {
      if (e.expiresAt >= bestExpiry) {
        best = cid;
        bestExpiry = e.expiresAt;
      }
    }
    return best;
  }

  // A call request (or a stray hang-up) spends the target's, the sender's
  // and the sender's address's budgets. Checked in that order; whichever is
  // empty is named in the error.
  function chargeRequest(from, to, ip) {
    return after(limiter.take('calls:target', perTarget, to), (target) => {
      if (!target) throw new ClientError(ErrorCode.RATE_LIMITED, `too many call requests to ${to}: the limit is ${config.callsPerTargetPerMin}/min per callee, burst ${config.callsPerTargetBurst}`);
      return after(limiter.take('calls:sender', perSender, from), (sender) => {
        if (!sender) throw new ClientError(ErrorCode.RATE_LIMITED, `too many call requests: the limit is ${config.callsPerSenderPerMin}/min per caller, burst ${config.callsPerSenderBurst}`);
        if (!ip) return undefined;
        return after(limiter.take('calls:ip', perIp, ip), (address) => {
          if (!address) throw new ClientError(ErrorCode.RATE_LIMITED, `too many call requests from your address: the limit is ${config.callsPerIpPerMin}/min, burst ${config.callsPerIpBurst}`);
        });
      });
    });
  }

  /**
   * Decide about one message. Throws ClientError (NOT_IN_CALL,
   * RATE_LIMITED) — synchronously with the memory store, as a rejection
   * with Redis.
   * @returns {{ relay: boolean } | Promise<{ relay: boolean }>} relay false:
   *   trailing an ended call, dropped without an error
   */
  function admit({ event, from, to, callId, ip }) {
    const t = now();
    const a = from < to ? from : to;
    const b = from < to ? to : from;
    const calls = store.get(a, b, t);
    if (isPromise(calls)) return calls.then((c) => decide(c, event, from, to, callId, ip, a, b, t));
    return decide(calls, event, from, to, callId, ip, a, b, t);
  }

  function decide(calls, event, from, to, callId, ip, a, b, t) {
    const cid = find(calls, callId);
    let entry = cid === undefined ? undefined : calls.get(cid);
    // Expired calls are as good as unknown; ended ones linger.
    if (entry && !entry.endedAt && t > entry.expiresAt) entry = null;
    if (entry && entry.endedAt && t - entry.endedAt > LINGER_MS) entry = null;
    const live = entry && !entry.endedAt;
    const ended = entry && entry.endedAt;

    if (event === 'offer_sdp') {
      if (live) return after(touch(a, b, cid, entry, t), relay);
      return after(chargeRequest(from, to, ip), () =>
        after(store.put(a, b, callId ?? '', { caller: from, expiresAt: t + ringMs, answered: false, endedAt: 0 }, ringMs + LINGER_MS), relay),
      );
    }
    if (ended) return DROP;
    if (!live) {
      if (event === 'call_hangup') return after(chargeRequest(from, to, ip), relay);
      throw new ClientError(ErrorCode.NOT_IN_CALL, `no call with ${to}${callId ? ` (callId ${callId})` : ''}: send offer_sdp first`);
    }

    switch (event) {
      case 'answer_sdp':
        return after(store.patch(a, b, cid, { answered: true, expiresAt: t + idleMs }, idleMs + LINGER_MS), relay);
      case 'ringing':
        return RELAY;
      case 'busy':
      case 'call_decline':
      case 'call_hangup':
        return after(store.patch(a, b, cid, { endedAt: t }, LINGER_MS), relay);
      default:
        return after(touch(a, b, cid, entry, t), relay);
    }
  }

  // Keep a call alive while it signals; written only when half its window
  // has passed, so a burst of candidates costs one write.
  function touch(a, b, cid, entry, t) {
    const window = entry.answered ? idleMs : ringMs;
    if (entry.expiresAt - t < window / 2) return store.patch(a, b, cid, { expiresAt: t + window }, window + LINGER_MS);
    return undefined;
  }

  return { admit };
}

/**
 * Calls in this process's memory. Pairs are dropped once every call in them
 * has expired (sweep(), run periodically, and whenever a pair is read).
 * @param {{ now?: () => number }} [opts]
 */
export function createMemoryCallStore({ now = Date.now } = {}) {
  // a → b → pair (a < b): two lookups with strings the caller already has,
  // rather than building "a b" for every message.
  /** @type {Map<string, Map<string, {calls: Map<string, CallEntry>, keepUntil: number}>>} */
  const pairs = new Map();
  const EMPTY = new Map();
  let count = 0;

  function remove(a, b) {
    const inner = pairs.get(a);
    if (inner?.delete(b)) count--;
    if (inner && inner.size === 0) pairs.delete(a);
  }

  return {
    /** @param {number} [t] a reading of `now` the caller already has */
    get(a, b, t = now()) {
      const p = pairs.get(a)?.get(b);
      if (!p) return EMPTY;
      if (t > p.keepUntil) {
        remove(a, b);
        return EMPTY;
      }
      return p.calls;
    },
    put(a, b, cid, entry, keepMs) {
      let inner = pairs.get(a);
      if (!inner) pairs.set(a, (inner = new Map()));
      let p = inner.get(b);
      if (!p) {
        inner.set(b, (p = { calls: new Map(), keepUntil: 0 }));
        count++;
      }
      p.calls.delete(cid);
      p.calls.set(cid, { ...entry });
      while (p.calls.size > MAX_CALLS_PER_PAIR) p.calls.delete(p.calls.keys().next().value);
      p.keepUntil = Math.max(p.keepUntil, now() + keepMs);
    },
    patch(a, b, cid, patch, keepMs) {
      const p = pairs.get(a)?.get(b);
      const e = p?.calls.get(cid);
      if (!e) return;
      Object.assign(e, patch);
      p.keepUntil = Math.max(p.keepUntil, now() + keepMs);
    },
    sweep() {
      const t = now();
      let removed = 0;
      for (const [a, inner] of pairs) {
        for (const [b, p] of inner) {
          if (t > p.keepUntil) {
            remove(a, b);
            removed++;
          }
        }
      }
      return removed;
    },
    get size() {
      return count;
    },
  };
}
