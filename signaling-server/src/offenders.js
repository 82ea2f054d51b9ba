// Addresses whose connections keep being cut for flooding are refused at the
// handshake for a while (src/admission.js), for longer each time.
//
// The budgets (src/budgets.js) already make a reconnect gain nothing: a new
// connection spends from the same ID's and address's buckets. But every
// reconnect still costs us a handshake, a registration and the frames read
// until the flood guard cuts it again, and it starts with whatever its
// buckets refilled meanwhile. An address may be cut IP_CUT_BURST times
// (refilled at IP_CUTS_PER_HOUR); the cut beyond that refuses it for
// BLOCK_SECONDS, and every block after it, while the address keeps
// offending, lasts twice as long as the one before, up to MAX_BLOCK_SECONDS.
// A quiet spell as long as the longest block, with its cut allowance full
// again, forgives the past.
//
// A refused handshake costs one HTTP response. Connections the address
// already has are left alone: each answers for itself to the flood guard.
// Everyone behind the address (a carrier-grade NAT) is refused with it;
// the defaults want several cuts within minutes before that happens.
//
// Memory: one record per address cut recently, at most
// MAX_OFFENDER_ADDRESSES; past that the one cut longest ago is forgotten.

import { createTokenBucket, perHour } from './rate_limit.js';

/**
 * @param {object} opts
 * @param {number} opts.cutsPerHour sustained rate of cuts an address may have
 * @param {number} opts.cutBurst cuts in a row an address may have
 * @param {number} opts.blockMs the first refusal
 * @param {number} opts.maxBlockMs the longest refusal
 * @param {number} opts.maxAddresses addresses remembered at most
 * @param {() => number} [opts.now] monotonic ms
 */
export function createOffenders({ cutsPerHour, cutBurst, blockMs, maxBlockMs, maxAddresses, now = () => performance.now() }) {
  const cutLimits = { ...perHour(cutsPerHour, cutBurst), now };
  // ip → { cuts: token bucket, blocks: blocks so far, until: end of the last block }
  // in the order of their last cut (a Map keeps insertion order).
  const records = new Map();

  // Nothing left to remember: not blocked, quiet long enough, allowance full.
  const forgiven = (r, t) => t >= r.until + maxBlockMs && r.cuts.isFull();

  return {
    /**
     * A connection from `ip` was cut for abuse.
     * @returns {number} ms of the refusal this cut starts (0: none)
     */
    cut(ip) {
      const t = now();
      let r = records.get(ip);
      if (r !== undefined) records.delete(ip);
      if (r === undefined || forgiven(r, t)) {
        if (records.size >= maxAddresses) records.delete(records.keys().next().value);
        r = { cuts: createTokenBucket(cutLimits), blocks: 0, until: -Infinity };
      }
      records.set(ip, r);
      // A connection opened before the block began: its cut changes nothing.
      if (t < r.until) return 0;
      if (r.cuts.take(1, t)) return 0;
      const ms = Math.min(blockMs * 2 ** Math.min(r.blocks, 30), maxBlockMs);
      r.blocks++;
      r.until = t + ms;
      return ms;
    },

    /** ms until `ip` may connect again (0: it may now). */
    blockedMs(ip) {
      const r = records.get(ip);
      if (r === undefined) return 0;
      const ms = r.until - now();
      return ms > 0 ? ms : 0;
    },

    /** Forget addresses that have nothing left to hold against them; returns how many. */
    sweep() {
      const t = now();
      let removed = 0;
      for (const [ip, r] of records) {
        if (forgiven(r, t)) {
          records.delete(ip);
          removed++;
        }
      }
      return removed;
    },

    get size() {
      return records.size;
    },
  };
}
