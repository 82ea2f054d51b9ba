// Routing a message from one client ID to another, including the short
// offline queue for targets that are reconnecting.
//
// Targets are addressed by socket id. A socket on this node gets the message
// directly; any other id goes through `io.to(socketId)`, which the cluster
// adapter (Redis) delivers on whichever node holds that socket. The direct
// path matters in a cluster: the adapter would otherwise also publish
// node-local messages to Redis for every other node to discard.

import { ClientError, ErrorCode, makeError } from './errors.js';
import { createOfflineQueue } from './queue.js';

/**
 * @param {object} deps
 * @param {import('socket.io').Server} deps.io
 * @param {ReturnType<import('./registry.js').createMemoryRegistry>} deps.registry
 * @param {ReturnType<import('./log.js').createLogger>} deps.log
 * @param {number} deps.offlineQueueMs
 * @param {number} [deps.maxQueuedPerTarget]
 * @param {(target: {emit: Function}, error: object) => void} deps.sendError
 * @param {ReturnType<import('./metrics.js').createMetrics>} [deps.metrics]
 * @param {typeof createOfflineQueue} [deps.createQueue] e.g. the Redis queue;
 *   its methods may return promises
 */
export function createRelay({
  io,
  registry,
  log,
  offlineQueueMs,
  maxQueuedPerTarget = 64,
  sendError,
  metrics,
  createQueue = createOfflineQueue,
}) {
  const queue = createQueue({
    ttlMs: offlineQueueMs,
    maxPerTarget: maxQueuedPerTarget,
    onUndeliverable: (info) => {
      notifySender(info).catch((err) => log.error({ err, ...info }, 'failed to notify sender of undeliverable message'));
    },
  });

  async function notifySender({ targetId, from, event, callId, count, reason }) {
    log.info({ event, from, to: targetId, callId, count, reason }, 'queued message undeliverable');
    // Look the sender up by ID, not by the socket it used: it may have
    // reconnected since it sent the message (possibly to another node).
    const sender = await registry.lookup(from);
    if (!sender?.online) return;
    const message =
      reason === 'overflow'
        ? `peer ${targetId} is not online and too many messages are waiting for it; ${event} was dropped`
        : `peer ${targetId} is not online; ${event} was not delivered within ${offlineQueueMs} ms`;
    const error = makeError(ErrorCode.PEER_NOT_FOUND, message, { event, targetClientId: targetId, callId });
    sendError(to(sender.socketId), error);
    log.warn({ code: error.code, event, id: from, to: targetId }, 'client error');
  }

  function to(socketId) {
    return io.of('/').sockets.get(socketId) ?? io.to(socketId);
  }

  function emit(socketId, m, queued) {
    to(socketId).emit(m.event, m.payload);
    metrics?.relayed(m.event);
    if (!queued && m.receivedAt !== undefined) metrics?.relayLatency(m.event, performance.now() - m.receivedAt);
    log.info({ event: m.event, from: m.from, to: m.to, bytes: m.bytes, callId: m.payload.callId, queued }, 'relay');
  }

  /** Deliver (in order) whatever is queued for `targetId` to its new socket. */
  async function deliverQueued(targetId, socketId) {
    const pending = await queue.drain(targetId);
    for (const m of pending) emit(socketId, { ...m, to: targetId }, true);
    return pending.length;
  }

  /**
   * Relay one message. Throws ClientError(PEER_NOT_FOUND) for unknown IDs.
   * @param {{event: string, from: string, to: string, payload: object, bytes: number, receivedAt?: number}} m
   *   receivedAt: performance.now() when the message arrived (for metrics)
   */
  async function send(m) {
    // Both reads in parallel: with Redis they share one round trip.
    const [target, pending] = await Promise.all([registry.lookup(m.to), queue.size(m.to)]);
    if (!target) {
      throw new ClientError(ErrorCode.PEER_NOT_FOUND, `peer ${m.to} is not online`);
    }
    if (target.online) {
      // Anything still queued was sent earlier and must arrive first.
      if (pending > 0) await deliverQueued(m.to, target.socketId);
      emit(target.socketId, m, false);
      return;
    }
    const queued = await queue.push(m.to, { event: m.event, from: m.from, callId: m.payload.callId, payload: m.payload, bytes: m.bytes });
    log.info({ event: m.event, from: m.from, to: m.to, bytes: m.bytes, queuedCount: queued }, 'relay queued');
    // The target may have reclaimed its ID between the lookup and the push;
    // its reclaim would then have drained an empty queue. Re-check so the
    // message is not left to time out next to an online peer.
    const again = await registry.lookup(m.to);
    if (again?.online) await deliverQueued(m.to, again.socketId);
  }

  return {
    send,
    deliverQueued,
    /** The ID went to a new owner: queued messages were not meant for it. */
    failQueued: (targetId) => queue.fail(targetId),
    queuedFor: (targetId) => queue.size(targetId),
    close: () => queue.clear(),
  };
}
