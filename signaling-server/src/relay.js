// Routing a message from one client ID to another: the call check (calls.js),
// then delivery to the target's socket or into the offline queue.
//
// No presence oracle: a target that is unknown (never registered, or
// expired) is treated exactly like one that is registered but offline — the
// message goes into the offline queue and, unless the ID comes online in
// time, the sender gets PEER_NOT_FOUND after OFFLINE_QUEUE_MS, once per
// (event, callId). Same answer, same delay, same code path; only an online
// target (which then answers or not, as its user decides) differs.
//
// Targets are addressed by socket id. A socket on this node gets the message
// directly; any other id goes through `io.to(socketId)`, which the cluster
// adapter (Redis) delivers on whichever node holds that socket. The direct
// path matters in a cluster: the adapter would otherwise also publish
// node-local messages to Redis for every other node to discard.

import { ErrorCode, makeError } from './errors.js';
import { after, isPromise } from './maybe_async.js';
import { createOfflineQueue } from './queue.js';

/**
 * @param {object} deps
 * @param {import('socket.io').Server} deps.io
 * @param {ReturnType<import('./registry.js').createMemoryRegistry>} deps.registry
 * @param {ReturnType<import('./calls.js').createCallPolicy>} deps.calls
 * @param {ReturnType<import('./log.js').createLogger>} deps.log
 * @param {number} deps.offlineQueueMs
 * @param {number} [deps.maxQueuedPerTarget]
 * @param {number} [deps.queueMaxBytesPerTarget]
 * @param {number} [deps.queueMaxBytes]
 * @param {(target: {emit: Function}, error: object) => void} deps.sendError
 * @param {ReturnType<import('./metrics.js').createMetrics>} [deps.metrics]
 * @param {typeof createOfflineQueue} [deps.createQueue] e.g. the Redis queue;
 *   its methods may return promises
 * @param {{ setTimeout: typeof setTimeout, clearTimeout: typeof clearTimeout }} [deps.timers]
 *   what runs the offline queue's expiry (tests pass a fake clock's)
 */
export function createRelay({
  io,
  registry,
  calls,
  log,
  offlineQueueMs,
  maxQueuedPerTarget = 64,
  queueMaxBytesPerTarget,
  queueMaxBytes,
  sendError,
  metrics,
  createQueue = createOfflineQueue,
  timers,
}) {
  const queue = createQueue({
    timers,
    ttlMs: offlineQueueMs,
    maxPerTarget: maxQueuedPerTarget,
    maxBytesPerTarget: queueMaxBytesPerTarget,
    maxBytes: queueMaxBytes,
    onUndeliverable: (info) => {
      notifySender(info).catch((err) => log.error({ err, ...info }, 'failed to notify sender of undeliverable message'));
    },
  });
  const sockets = io.of('/').sockets;
  const lookup = registry.lookupSync ? (id) => registry.lookupSync(id) : (id) => registry.lookup(id);

  const REASONS = {
    timeout: (to, event) => `peer ${to} is not online; ${event} was not delivered within ${offlineQueueMs} ms`,
    overflow: (to, event) => `peer ${to} is not online and too many messages are waiting for it; ${event} was dropped`,
    full: (to, event) => `peer ${to} is not online and the server holds too many waiting messages; ${event} was dropped`,
  };

  async function notifySender({ targetId, from, event, callId, count, reason }) {
    log.debug({ event, from, to: targetId, callId, count, reason }, 'queued message undeliverable');
    // Look the sender up by ID, not by the socket it used: it may have
    // reconnected since it sent the message (possibly to another node).
    const sender = await registry.lookup(from);
    if (!sender?.online) return;
    const error = makeError(ErrorCode.PEER_NOT_FOUND, (REASONS[reason] ?? REASONS.timeout)(targetId, event), { event, targetClientId: targetId, callId });
    sendError(to(sender.socketId), error);
  }

  function to(socketId) {
    return sockets.get(socketId) ?? io.to(socketId);
  }

  function emit(socketId, m, queued) {
    const local = sockets.get(socketId);
    if (local === undefined) io.to(socketId).emit(m.event, m.payload);
    else if (m.encoded === undefined) local.emit(m.event, m.payload);
    // What local.emit would send, encoded already (src/relay_encoding.js);
    // like socket.io, nothing is written to a connection that is not open.
    else if (local.conn.readyState === 'open') local.conn.write(m.encoded);
    if (metrics) {
      metrics.relayed(m.event);
      if (!queued && m.receivedAt !== undefined) metrics.relayLatency(m.event, performance.now() - m.receivedAt);
    }
    // debug: one record per relayed message would cost more than the relay
    // itself and say who talks to whom in every production log.
    if (log.level === 'debug') log.debug({ event: m.event, from: m.from, to: m.to, bytes: m.bytes, callId: m.payload.callId, queued }, 'relay');
  }

  /** Deliver (in order) whatever is queued for `targetId` to its new socket. */
  async function deliverQueued(targetId, socketId) {
    const pending = await queue.drain(targetId);
    for (const m of pending) emit(socketId, { ...m, to: targetId }, true);
    return pending.length;
  }

  // Synchronous with the memory registry and queue (the usual case: the
  // target is online), a promise otherwise.
  function deliver(m) {
    const target = lookup(m.to);
    const pending = queue.size(m.to);
    if (isPromise(target) || isPromise(pending)) return Promise.all([target, pending]).then(([t, p]) => deliverTo(m, t, p));
    return deliverTo(m, target, pending);
  }

  function deliverTo(m, target, pending) {
    if (target?.online) {
      // Anything still queued was sent earlier and must arrive first.
      if (pending > 0) return deliverQueued(m.to, target.socketId).then(() => emit(target.socketId, m, false));
      emit(target.socketId, m, false);
      return undefined;
    }
    return enqueueOffline(m);
  }

  // Offline or unknown: the same queue, the same timer, the same answer.
  async function enqueueOffline(m) {
    const queued = await queue.push(m.to, { event: m.event, from: m.from, callId: m.payload.callId, payload: m.payload, bytes: m.bytes });
    if (log.level === 'debug') log.debug({ event: m.event, from: m.from, to: m.to, bytes: m.bytes, queuedCount: queued }, 'relay queued');
    // The target may have reclaimed its ID between the lookup and the push;
    // its reclaim would then have drained an empty queue. Re-check so the
    // message is not left to time out next to an online peer.
    const again = await registry.lookup(m.to);
    if (again?.online) await deliverQueued(m.to, again.socketId);
  }

  /**
   * Relay one message if it belongs to a call (or opens one). Throws
   * ClientError (NOT_IN_CALL, RATE_LIMITED).
   * @param {{event: string, from: string, to: string, payload: object, encoded?: string, bytes: number, receivedAt?: number, ip?: string}} m
   *   encoded: the packet socket.io would write for (event, payload), for a
   *   target on this node (src/relay_encoding.js); receivedAt:
   *   performance.now() when the message arrived (for metrics)
   * @returns {{ relay: boolean } | Promise<{ relay: boolean }>} at once
   *   when nothing had to be waited for (memory stores, target online)
   */
  function send(m) {
    const verdict = calls.admit({ event: m.event, from: m.from, to: m.to, callId: m.payload.callId, ip: m.ip });
    if (isPromise(verdict)) return verdict.then((v) => (v.relay ? after(deliver(m), () => v) : v));
    if (!verdict.relay) return verdict;
    // The usual case (memory stores, target online): no promise, no closure.
    const delivered = deliver(m);
    return isPromise(delivered) ? delivered.then(() => verdict) : verdict;
  }

  return {
    send,
    deliverQueued,
    /** The ID went to a new owner: queued messages were not meant for it. */
    failQueued: (targetId) => queue.fail(targetId),
    queuedFor: (targetId) => queue.size(targetId),
    queuedBytes: () => queue.totalBytes,
    close: () => queue.clear(),
  };
}
