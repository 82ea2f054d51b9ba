// Prometheus metrics (prom-client). Each server instance has its own
// registry so tests can run many servers in one process; the process-wide
// default metrics (CPU, memory, event loop lag, GC) are registered once and
// merged into every scrape, with the server's `node` label added to each of
// their series like to the server's own.
//
// A scrape costs a few milliseconds (the process metrics are collected on
// demand); renders are shared for RENDER_CACHE_MS so that a flood of
// requests costs one render per interval, not one each.

import client from 'prom-client';
import { createLatencyHistogram } from './latency_histogram.js';

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

// Prometheus scrapes every 10 s or more; a second-old answer is fresh enough.
const RENDER_CACHE_MS = 1000;

const escapeLabel = (v) => String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Add `name="value"` to every series line of an exposition text. */
export function addLabel(text, name, value) {
  const label = `${name}="${escapeLabel(value)}"`;
  return text
    .split('\n')
    .map((line) => {
      if (line === '' || line.startsWith('#')) return line;
      const brace = line.indexOf('{');
      const space = line.indexOf(' ');
      if (brace !== -1 && (space === -1 || brace < space)) {
        return line[brace + 1] === '}' ? `${line.slice(0, brace + 1)}${label}${line.slice(brace + 1)}` : `${line.slice(0, brace + 1)}${label},${line.slice(brace + 1)}`;
      }
      return `${line.slice(0, space)}{${label}}${line.slice(space)}`;
    })
    .join('\n');
}

/**
 * @param {object} opts
 * @param {() => number} opts.connectedClients read at scrape time
 * @param {string} opts.nodeId constant label, to tell cluster nodes apart
 *   when they are scraped through one load balancer name
 * @param {{published: number, delivered: number, topologyChanges: number}} [opts.redisStats]
 *   cluster mode: counters kept by redis_connection.js, read at scrape time
 * @param {() => number} [opts.now] monotonic ms, for the render cache
 */
export function createMetrics({ connectedClients, nodeId, redisStats, now = () => performance.now() }) {
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
  // The relay path counts every message. prom-client hashes the label set
  // on every inc()/observe(), so per-message counts are kept here, per
  // label value, and handed to prom-client when a scrape collects them; the
  // latencies go into a histogram without that cost (src/latency_histogram.js).
  const relayedCounts = new Map(); // event → count since the last scrape
  const relayed = new client.Counter({
    name: 'voicecall_messages_relayed_total',
    help: 'Messages relayed to a target client (including from the offline queue), by event',
    labelNames: ['event'],
    registers: [registry],
    collect() {
      for (const [event, n] of relayedCounts) if (n > 0) this.inc({ event }, n);
      relayedCounts.clear();
    },
  });
  const errors = new client.Counter({
    name: 'voicecall_errors_total',
    help: 'Errors sent to clients, by code',
    labelNames: ['code'],
    registers: [registry],
  });
  const relayLatency = createLatencyHistogram({
    name: 'voicecall_relay_latency_seconds',
    help: 'Time from receiving a client message to emitting it to its (online) target, by event',
    labelName: 'event',
    buckets: LATENCY_BUCKETS,
  });
  registry.registerMetric(relayLatency);

  const dropped = new client.Counter({
    name: 'voicecall_dropped_total',
    help: 'Connections dropped or messages refused by an abuse limit, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });

  let cached = null; // { at, text: Promise<string> }

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
    relayed: (event) => relayedCounts.set(event, (relayedCounts.get(event) ?? 0) + 1),
    error: (code) => errors.inc({ code }),
    dropped: (reason) => dropped.inc({ reason }),
    /** @param {number} ms */
    relayLatency(event, ms) {
      relayLatency.observe(event, ms / 1000);
    },
    contentType: registry.contentType,
    /** Exposition text: this server's metrics followed by the process's. */
    render() {
      const t = now();
      if (cached && t - cached.at < RENDER_CACHE_MS) return cached.text;
      const text = Promise.all([registry.metrics(), getProcessRegistry().metrics()]).then(
        ([own, proc]) => `${own}\n${addLabel(proc, 'node', nodeId)}`,
      );
      cached = { at: t, text };
      text.catch(() => {
        if (cached?.text === text) cached = null;
      });
      return text;
    },
  };
}
