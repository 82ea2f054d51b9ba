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
// This queue is node-local. With several server instances it would have to
// move to shared storage (or be routed to the node holding the target) —
// keep it behind this small interface so that swap stays local.

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
 * @param {(info: {targetId: string, from: string, event: string, callId?: string,
 *   count: number, reason: 'timeout' | 'overflow'}) => void} opts.onUndeliverable
 */
export function createOfflineQueue({ ttlMs, maxPerTarget = 64, onUndeliverable }) {
  /** @type {Map<string, {entries: Array<QueuedMessage & {key: string, timer: NodeJS.Timeout}>, reported: Set<string>}>} */
  const queues = new Map();
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

  function expire(targetId, key) {
    const q = queues.get(targetId);
    if (!q) return;
    const group = q.entries.filter((e) => e.key === key);
    if (group.length === 0) return;
    q.entries = q.entries.filter((e) => e.key !== key);
    for (const e of group) clearTimeout(e.timer);
    // Already reported when an overflow pushed part of this group out.
    if (q.reported.has(key)) q.reported.delete(key);
    else notify(targetId, group[0], group.length, 'timeout');
    dropIfEmpty(targetId, q);
  }

  return {
    /** Queue a message; returns the number of messages now queued for the target. */
    push(targetId, message) {
      let q = queues.get(targetId);
      if (!q) queues.set(targetId, (q = { entries: [], reported: new Set() }));
      const key = groupKey(message);
      const timer = setTimeout(() => expire(targetId, key), ttlMs);
      timer.unref();
      q.entries.push({ ...message, key, timer });
      while (q.entries.length > maxPerTarget) {
        const oldest = q.entries.shift();
        clearTimeout(oldest.timer);
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
        clearTimeout(e.timer);
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

    /** Drop everything without notifying anyone (server shutdown). */
    clear() {
      for (const q of queues.values()) for (const e of q.entries) clearTimeout(e.timer);
      queues.clear();
    },
  };
}
