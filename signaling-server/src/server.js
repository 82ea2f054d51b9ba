// Wires HTTP, socket.io, the registry and the relay together. No process
// concerns here (env, signals, exit codes): those live in index.js so tests
// can run any number of servers in-process on port 0.

import http from 'node:http';
import { Server } from 'socket.io';
import { createRedisCluster } from './cluster.js';
import { DEFAULTS } from './config.js';
import { emitError } from './errors.js';
import { createRequestHandler, healthRoute, metricsRoute } from './http.js';
import { createLogger } from './log.js';
import { createMetrics } from './metrics.js';
import { createGuardedParser } from './parser.js';
import { createMemoryRegistry } from './registry.js';
import { createRelay } from './relay.js';
import { attachSession } from './session.js';
import { loadStaticRoutes } from './static.js';
import { createIceServerIssuer } from './turn.js';

/**
 * @param {Partial<typeof DEFAULTS>} [config] missing keys take DEFAULTS
 * @param {object} [deps] injectable collaborators
 * @param {ReturnType<typeof createLogger>} [deps.logger]
 * @param {ReturnType<typeof createMemoryRegistry>} [deps.registry] any object
 *   with the registry interface; the caller then owns its lifecycle
 */
export function createSignalingServer(config = {}, deps = {}) {
  // Drop undefined keys so `{ port: undefined }` means "default", as in env.
  const given = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
  const cfg = Object.freeze({ ...DEFAULTS, ...given });
  const log = deps.logger ?? createLogger({ level: cfg.logLevel });
  // With REDIS_URL or REDIS_CLUSTER_NODES the registry and the offline
  // queue live in Redis and socket.io delivers across nodes through the
  // Redis adapter.
  const cluster =
    cfg.redisUrl || cfg.redisClusterNodes.length
      ? createRedisCluster({
          url: cfg.redisUrl,
          clusterNodes: cfg.redisClusterNodes,
          pubsub: cfg.redisPubsub ?? undefined,
          nodeId: cfg.nodeId,
          idTtlMs: cfg.idTtlSeconds * 1000,
          log,
        })
      : null;
  const ownsRegistry = !deps.registry && !cluster;
  const registry = deps.registry ?? cluster?.registry ?? createMemoryRegistry({ idTtlMs: cfg.idTtlSeconds * 1000 });
  let startedAt = Date.now();

  /** @type {Server} */
  let io;
  const connectedClients = () => io.of('/').sockets.size;
  const metrics = createMetrics({ connectedClients, nodeId: cfg.nodeId, redisStats: cluster?.stats });
  const routes = new Map([
    [
      '/healthz',
      {
        GET: healthRoute(() => ({
          clients: connectedClients(),
          uptime: Math.floor((Date.now() - startedAt) / 1000),
        })),
      },
    ],
    // Unauthenticated like /healthz: keep the server on a private address
    // or restrict /metrics in the reverse proxy (deploy/nginx does).
    ['/metrics', { GET: metricsRoute(metrics, log) }],
    ...loadStaticRoutes(),
  ]);

  // The request handler must be installed before socket.io attaches: socket.io
  // wraps the existing 'request' listeners and only calls them for requests
  // outside its own path.
  const httpServer = http.createServer(createRequestHandler(routes, log));

  io = new Server(httpServer, {
    // /socket.io/socket.io.js for the web client in public/ (no CDN).
    serveClient: true,
    // Rate limiting and the nesting-depth check happen before a frame is
    // parsed; see src/parser.js.
    parser: createGuardedParser({ ratePerSec: cfg.rateLimitPerSec, burst: cfg.rateLimitBurst }),
    pingInterval: cfg.pingIntervalMs,
    pingTimeout: cfg.pingTimeoutMs,
    // Above the payload limit (with room for JSON-string escaping and
    // framing) so an oversized payload earns PAYLOAD_TOO_LARGE instead of a
    // dropped connection; frames beyond this still close the connection.
    maxHttpBufferSize: cfg.maxPayloadBytes * 4 + 16 * 1024,
  });

  // Every error a client receives goes through here, so it is counted.
  const sendError = (target, error) => {
    metrics.error(error.code);
    emitError(target, error);
  };
  const relay = createRelay({
    io,
    registry,
    log,
    offlineQueueMs: cfg.offlineQueueMs,
    sendError,
    metrics,
    createQueue: cluster?.createQueue,
  });
  const iceServers = createIceServerIssuer({
    secret: cfg.turnSecret,
    turnUrls: cfg.turnUrls,
    stunUrls: cfg.stunUrls,
    ttlSeconds: cfg.turnTtlSeconds,
  });
  // Work still running for disconnected sockets (registry releases).
  const pending = new Set();
  const ctx = { io, registry, relay, config: cfg, log, sendError, metrics, iceServers, pending };
  io.on('connection', (socket) => attachSession(ctx, socket));

  let closing = null;

  return {
    httpServer,
    io,
    registry,
    metrics,
    config: cfg,

    /** @returns {Promise<{host: string, port: number}>} */
    async listen() {
      if (cluster) {
        // Connect before accepting clients: a node that cannot reach Redis
        // must fail at startup, not hand out IDs nobody else can see.
        await cluster.connect();
        io.adapter(cluster.adapter);
      }
      return new Promise((resolve, reject) => {
        const onError = (err) => reject(err);
        httpServer.once('error', onError);
        httpServer.listen(cfg.port, cfg.host, () => {
          httpServer.off('error', onError);
          startedAt = Date.now();
          const { address: host, port } = /** @type {import('node:net').AddressInfo} */ (httpServer.address());
          // Contract: the Rust client's tests parse this exact record.
          log.info({ host, port }, 'listening');
          resolve({ host, port });
        });
      });
    },

    /** Disconnect everyone, stop listening, stop timers. Idempotent. */
    close() {
      closing ??= (async () => {
        relay.close();
        await new Promise((resolve) => {
          // io.close() also closes httpServer; its callback gets
          // ERR_SERVER_NOT_RUNNING if listen() was never called — fine here.
          io.close(() => resolve());
          // Keep-alive HTTP clients (e.g. a health checker) would otherwise
          // hold httpServer.close() open until they time out.
          httpServer.closeIdleConnections();
        });
        // Releases of the sockets io.close() just dropped: with Redis they
        // mark this node's IDs offline for everyone else.
        await Promise.allSettled([...pending]);
        if (cluster) await cluster.close();
        if (ownsRegistry) await registry.close();
        log.info({}, 'closed');
      })();
      return closing;
    },
  };
}
