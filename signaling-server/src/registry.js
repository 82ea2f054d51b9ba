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
//       → { ok: false, code: 'REGISTRY_FULL' }   (only when creating)
//   release(id, socketId)
//       Mark the ID offline, but only if `socketId` still holds it (a session
//       that was replaced must not knock its successor offline). The record
//       stays reserved for its token for the TTL.   → boolean
//   lookup(id)
//       → { id, online, socketId, offlineSince } | null   (null = unknown/expired)
//   size()  → number of live records
//   close() → stop background work
//
// Reservation: an offline ID stays bound to its token for ID_TTL_SECONDS
// (default 90 days), so nobody else can claim it and receive the calls meant
// for its owner. Memory: at most MAX_IDS records. When a new ID would pass
// that, the offline IDs that were never reclaimed — registered once, token
// never used again: throwaway sessions and old clients that know no tokens —
// are forgotten first, oldest first; IDs whose token has been used to come
// back are never forgotten before their TTL. If nothing can be forgotten,
// new IDs are refused (REGISTRY_FULL) while every existing one keeps working.
//
// Tokens are stored as SHA-256 digests so a registry dump (or a Redis
// MONITOR) does not leak credentials.

import { createHash, timingSafeEqual } from 'node:crypto';

// Kept as a 32-character one-byte string: a Buffer (its ArrayBuffer and
// backing store) is ≈ 200 B of heap per ID, the string ≈ 50; a claim, which
// is rare, turns it back into bytes for the constant-time comparison.
const hashToken = (token) => createHash('sha256').update(token, 'utf8').digest('latin1');
const sameHash = (a, b) => timingSafeEqual(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
const OFFLINE = Object.freeze({ online: false, socketId: null });

/**
 * @param {object} opts
 * @param {number} opts.idTtlMs how long an offline ID stays reserved
 * @param {number} [opts.maxIds] most records kept (online + offline)
 * @param {number} [opts.sweepIntervalMs] how often expired records are purged
 * @param {() => number} [opts.now] clock, injectable for tests
 */
export function createMemoryRegistry({ idTtlMs, maxIds = Infinity, sweepIntervalMs, now = Date.now }) {
  if (!(idTtlMs > 0)) throw new Error('idTtlMs must be > 0');
  /** @type {Map<string, {tokenHash: string, socketId: string|null, offlineSince: number|null, reclaimed: boolean}>} */
  const records = new Map();
  // Offline records in the order they went offline (Maps iterate in
  // insertion order), so expiry and eviction look at the front only.
  const offline = new Map();
  const neverReclaimed = new Map();

  const isExpired = (rec, t) => rec.socketId === null && t - rec.offlineSince >= idTtlMs;

  function remove(id) {
    records.delete(id);
    offline.delete(id);
    neverReclaimed.delete(id);
  }

  // Expiry is also checked lazily on every read, so correctness never depends
  // on sweep timing; the sweep only bounds memory.
  function live(id) {
    const rec = records.get(id);
    // Online records never expire: no clock reading for them (the relay's
    // hot path looks up online targets).
    if (rec && rec.socketId === null && isExpired(rec, now())) {
      remove(id);
      return undefined;
    }
    return rec;
  }

  function sweep(t = now()) {
    let removed = 0;
    for (const id of offline.keys()) {
      const rec = records.get(id);
      if (rec && !isExpired(rec, t)) break;
      remove(id);
      removed++;
    }
    return removed;
  }

  /** Make room for one more record; false if every record must be kept. */
  function makeRoom() {
    if (records.size < maxIds) return true;
    sweep();
    if (records.size < maxIds) return true;
    const oldest = neverReclaimed.keys().next();
    if (oldest.done) return false;
    remove(oldest.value);
    return true;
  }

  function goOffline(id, rec, t) {
    rec.socketId = null;
    rec.view = null;
    rec.offlineSince = t;
    offline.delete(id);
    offline.set(id, true);
    if (!rec.reclaimed) {
      neverReclaimed.delete(id);
      neverReclaimed.set(id, true);
    }
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
        if (!makeRoom()) return { ok: false, code: 'REGISTRY_FULL' };
        records.set(id, { tokenHash, socketId, offlineSince: null, reclaimed: false, view: null });
        return { ok: true, reclaimed: false, previousSocketId: null };
      }
      if (!sameHash(rec.tokenHash, tokenHash)) return { ok: false, code: 'ID_TAKEN' };
      const previousSocketId = rec.socketId;
      rec.socketId = socketId;
      rec.view = null;
      rec.offlineSince = null;
      rec.reclaimed = true;
      offline.delete(id);
      neverReclaimed.delete(id);
      return { ok: true, reclaimed: true, previousSocketId };
    },

    async release(id, socketId) {
      const rec = live(id);
      if (!rec || rec.socketId !== socketId) return false;
      goOffline(id, rec, now());
      return true;
    },

    async lookup(id) {
      const rec = live(id);
      if (!rec) return null;
      return { id, online: rec.socketId !== null, socketId: rec.socketId, offlineSince: rec.offlineSince };
    },

    /**
     * Synchronous lookup for the relay's hot path (memory registry only):
     * { online, socketId } without allocating, valid until the next change.
     */
    lookupSync(id) {
      const rec = live(id);
      if (!rec) return null;
      return rec.socketId !== null ? rec.view ?? (rec.view = { online: true, socketId: rec.socketId }) : OFFLINE;
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
