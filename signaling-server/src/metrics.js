// Prometheus metrics (prom-client). Each server instance has its own
// registry so tests can run many servers in one process; the process-wide
// default metrics (CPU, memory, event loop lag, GC) are registered once and
// merged into every scrape.

import client from 'prom-client';

let processRegistry = null;
function getProcessRegistry() {
  if (!processRegistry) {
    processRegistry = new client.Registry();
    client.collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

// Relay latency is sub-millisecond when idle and tens of milliseconds when
// overloaded; the buckets resolve both ends (0.1 ms … 1 s, in seconds as
// Prometheus convention wants).
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/**
 * @param {object} opts
 * @param {() => number} opts.connectedClients read at scrape time
 * @param {string} opts.nodeId constant label, to tell cluster nodes apart
 *   when they are scraped through one load balancer name
 * @param {{published: number, delivered: number, topologyChanges: number}} [opts.redisStats]
 *   cluster mode: counters kept by redis_connection.js, read at scrape time
 */
export function createMetrics({ connectedClients, nodeId, redisStats }) {
  const registry = new client.Registry();
  registry.setDefaultLabels({ node: nodeId });

  new client.Gauge({
    name: 'voicecall_connected_clients',
    help: 'Socket.IO clients connected to this node',
    registers: [registry],
    collect() {
      this.set(connectedClients());
    },
  });
  const relayed = new client.Counter({
    name: 'voicecall_messages_relayed_total',
    help: 'Messages relayed to a target client (including from the offline queue), by event',
    labelNames: ['event'],
    registers: [registry],
  });
  const errors = new client.Counter({
    name: 'voicecall_errors_total',
    help: 'Errors sent to clients, by code',
    labelNames: ['code'],
    registers: [registry],
  });
  const relayLatency = new client.Histogram({
    name: 'voicecall_relay_latency_seconds',
    help: 'Time from receiving a client message to emitting it to its (online) target, by event',
    labelNames: ['event'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });

  if (redisStats) {
    // Counters owned by the Redis connection layer; mirrored at scrape time.
    const mirror = (name, help, read) =>
      new client.Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    mirror('voicecall_redis_commands_total', 'Commands this node sent to Redis (scripts and pub/sub (un)subscribes count one each)', () => redisStats.commands);
    mirror('voicecall_redis_published_total', 'Messages this node published to Redis pub/sub (PUBLISH or SPUBLISH)', () => redisStats.published);
    mirror(
      'voicecall_redis_deliveries_total',
      'Pub/sub messages Redis delivered to this node; divided by the cluster-wide published total this is the fan-out per message',
      () => redisStats.delivered,
    );
    mirror('voicecall_redis_topology_changes_total', 'Redis Cluster slot-map changes (fail-overs) this node reconnected after', () => redisStats.topologyChanges);
  }

  return {
    registry,
    relayed: (event) => relayed.inc({ event }),
    error: (code) => errors.inc({ code }),
    /** @param {number} ms */
    relayLatency: (event, ms) => relayLatency.observe({ event }, ms / 1000),
    contentType: registry.contentType,
    /** Exposition text: this server's metrics followed by the process's. */
    async render() {
      const [own, proc] = await Promise.all([registry.metrics(), getProcessRegistry().metrics()]);
      return `${own}\n${proc}`;
    },
  };
}
