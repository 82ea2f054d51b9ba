// Per-target queue for messages addressed to an ID whose owner is briefly
// offline (typically reconnecting after a network blip). Messages are held
// for `ttlMs`; if the owner reclaims its ID in time they are delivered in
// order, otherwise the sender is told once per (sender, event, callId) group.
//
// Grouping is why an expiring entry takes its whole group with it: a caller
// that queued an offer plus twenty ICE candidates gets two PEER_NOT_FOUND
// errors (offer_sdp, send_ice), not twenty-one, and candidates whose offer
// was dropped are useless to the callee anyway.
//
// Memory is bounded three ways: per target at most `maxPerTarget` messages
// and `maxBytesPerTarget` bytes (the oldest are dropped, their senders told),
// and for the whole queue `maxBytes` (QUEUE_MAX_BYTES): a message that would
// pass it is refused at once, its sender told. Unknown IDs are queued just
// like offline ones (see relay.js), so these bounds are all that stands
// between a sender and our memory; the sender's own byte budget is the rest.
//
// This is the in-memory queue; redis_queue.js has the same interface.

/**
 * @typedef {object} QueuedMessage
 * @property {string} event   event name to emit to the target
 * @property {string} from    sender ID
 * @property {string} [callId]
 * @property {object} payload outgoing payload
 * @property {number} bytes   size of the original payload (for logs)
 */

/**
 * @param {object} opts
 * @param {number} opts.ttlMs
 * @param {number} [opts.maxPerTarget]
 * @param {number} [opts.maxBytesPerTarget]
 * @param {number} [opts.maxBytes] all targets together
 * @param {(info: {targetId: string, from: string, event: string, callId?: string,
 *   count: number, reason: 'timeout' | 'overflow' | 'full'}) => void} opts.onUndeliverable
 * @param {{ setTimeout: typeof setTimeout, clearTimeout: typeof clearTimeout }} [opts.timers]
 *   what runs the expiry timers (tests pass a fake clock's)
 */
export function createOfflineQueue({ ttlMs, maxPerTarget = 64, maxBytesPerTarget = Infinity, maxBytes = Infinity, onUndeliverable, timers = globalThis }) {
  /** @type {Map<string, {entries: Array<QueuedMessage & {key: string, timer: NodeJS.Timeout}>, reported: Set<string>, bytes: number}>} */
  const queues = new Map();
  let totalBytes = 0;
  const sizeOf = (m) => m.bytes + 64; // payload plus the entry around it
  const groupKey = (m) => JSON.stringify([m.from, m.event, m.callId ?? null]);

  function notify(targetId, entry, count, reason) {
    try {
      onUndeliverable({ targetId, from: entry.from, event: entry.event, callId: entry.callId, count, reason });
    } catch {
      // The callback belongs to the server; a failure there must not break
      // timer processing for other entries.
    }
  }

  function dropIfEmpty(targetId, q) {
    if (q.entries.length === 0) queues.delete(targetId);
  }

  function forget(q, e) {
    timers.clearTimeout(e.timer);
    q.bytes -= sizeOf(e);
    totalBytes -= sizeOf(e);
  }

  function expire(targetId, key) {
    const q = queues.get(targetId);
    if (!q) return;
    const group = q.entries.filter((e) => e.key === key);
    if (group.length === 0) return;
    q.entries = q.entries.filter((e) => e.key !== key);
    for (const e of group) forget(q, e);
    // Already reported when an overflow pushed part of this group out.
    if (q.reported.has(key)) q.reported.delete(key);
    else notify(targetId, group[0], group.length, 'timeout');
    dropIfEmpty(targetId, q);
  }

  return {
    /** Queue a message; returns the number of messages now queued for the target. */
    push(targetId, message) {
      const size = sizeOf(message);
      if (totalBytes + size > maxBytes) {
        // Refused outright: dropping other targets' messages to make room
        // would let one sender wipe everyone's queue.
        notify(targetId, message, 1, 'full');
        return queues.get(targetId)?.entries.length ?? 0;
      }
      let q = queues.get(targetId);
      if (!q) queues.set(targetId, (q = { entries: [], reported: new Set(), bytes: 0 }));
      const key = groupKey(message);
      const timer = timers.setTimeout(() => expire(targetId, key), ttlMs);
      timer.unref();
      q.entries.push({ ...message, key, timer });
      q.bytes += size;
      totalBytes += size;
      while (q.entries.length > maxPerTarget || (q.bytes > maxBytesPerTarget && q.entries.length > 1)) {
        const oldest = q.entries.shift();
        forget(q, oldest);
        if (!q.reported.has(oldest.key)) {
          q.reported.add(oldest.key);
          notify(targetId, oldest, 1, 'overflow');
        }
      }
      return q.entries.length;
    },

    /** Remove and return all messages for the target, oldest first. */
    drain(targetId) {
      const q = queues.get(targetId);
      if (!q) return [];
      queues.delete(targetId);
      return q.entries.map((e) => {
        forget(q, e);
        return { event: e.event, from: e.from, callId: e.callId, payload: e.payload, bytes: e.bytes };
      });
    },

    /**
     * Give up on everything queued for the target now, notifying senders as
     * if it had timed out (used when the ID changed hands).
     */
    fail(targetId) {
      const q = queues.get(targetId);
      if (!q) return;
      for (const key of new Set(q.entries.map((e) => e.key))) expire(targetId, key);
    },

    size(targetId) {
      return queues.get(targetId)?.entries.length ?? 0;
    },

    /** Bytes held for all targets together. */
    get totalBytes() {
      return totalBytes;
    },

    /** Drop everything without notifying anyone (server shutdown). */
    clear() {
      for (const q of queues.values()) for (const e of q.entries) timers.clearTimeout(e.timer);
      queues.clear();
      totalBytes = 0;
    },
  };
}
