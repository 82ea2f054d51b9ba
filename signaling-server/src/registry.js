// ID registry: which client ID belongs to which token, and which socket (if
// any) currently holds it.
//
// Every method is async even though this implementation is synchronous
// inside: a Redis-backed registry (for running several server instances)
// must be droppable in without touching callers. Contract for any
// implementation:
//
//   claim(id, token, socketId)
//       Atomically: create the record if absent (or expired), or take it over
//       if `token` matches. Never partially applies.
//       → { ok: true, reclaimed: boolean, previousSocketId: string | null }
//       → { ok: false, code: 'ID_TAKEN' }
//   release(id, socketId)
//       Mark the ID offline, but only if `socketId` still holds it (a session
//       that was replaced must not knock its successor offline). The record
//       stays reserved for its token for the TTL.   → boolean
//   lookup(id)
//       → { id, online, socketId, offlineSince } | null   (null = unknown/expired)
//   size()  → number of live records
//   close() → stop background work
//
// Tokens are stored as SHA-256 digests so a registry dump (or a Redis
// MONITOR) does not leak credentials.

import { createHash, timingSafeEqual } from 'node:crypto';

const hashToken = (token) => createHash('sha256').update(token, 'utf8').digest();

/**
 * @param {object} opts
 * @param {number} opts.idTtlMs how long an offline ID stays reserved
 * @param {number} [opts.sweepIntervalMs] how often expired records are purged
 * @param {() => number} [opts.now] clock, injectable for tests
 */
export function createMemoryRegistry({ idTtlMs, sweepIntervalMs, now = Date.now }) {
  if (!(idTtlMs > 0)) throw new Error('idTtlMs must be > 0');
  /** @type {Map<string, {tokenHash: Buffer, socketId: string|null, offlineSince: number|null}>} */
  const records = new Map();

  const isExpired = (rec, t) => rec.socketId === null && t - rec.offlineSince >= idTtlMs;

  // Expiry is also checked lazily on every read, so correctness never depends
  // on sweep timing; the sweep only bounds memory.
  function live(id) {
    const rec = records.get(id);
    if (rec && isExpired(rec, now())) {
      records.delete(id);
      return undefined;
    }
    return rec;
  }

  function sweep(t = now()) {
    let removed = 0;
    for (const [id, rec] of records) {
      if (isExpired(rec, t)) {
        records.delete(id);
        removed++;
      }
    }
    return removed;
  }

  const interval = Math.max(1000, Math.min(sweepIntervalMs ?? idTtlMs, 60_000));
  // unref: a pending sweep must never keep the process alive on shutdown.
  const timer = setInterval(sweep, interval);
  timer.unref();

  return {
    async claim(id, token, socketId) {
      const tokenHash = hashToken(token);
      const rec = live(id);
      if (!rec) {
        records.set(id, { tokenHash, socketId, offlineSince: null });
        return { ok: true, reclaimed: false, previousSocketId: null };
      }
      if (!timingSafeEqual(rec.tokenHash, tokenHash)) return { ok: false, code: 'ID_TAKEN' };
      const previousSocketId = rec.socketId;
      rec.socketId = socketId;
      rec.offlineSince = null;
      return { ok: true, reclaimed: true, previousSocketId };
    },

    async release(id, socketId) {
      const rec = live(id);
      if (!rec || rec.socketId !== socketId) return false;
      rec.socketId = null;
      rec.offlineSince = now();
      return true;
    },

    async lookup(id) {
      const rec = live(id);
      if (!rec) return null;
      return { id, online: rec.socketId !== null, socketId: rec.socketId, offlineSince: rec.offlineSince };
    },

    async size() {
      sweep();
      return records.size;
    },

    /** Purge expired records now; returns how many were removed. */
    async sweep(t) {
      return sweep(t);
    },

    async close() {
      clearInterval(timer);
    },
  };
}
