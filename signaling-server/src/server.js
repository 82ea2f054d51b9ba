// Wires HTTP, socket.io, the registry, the limits and the relay together.
// No process concerns here (env, signals, exit codes): those live in
// index.js so tests can run any number of servers in-process on port 0.

import http from 'node:http';
import { Server } from 'socket.io';
import { createAdmission } from './admission.js';
import { createAuthGuard } from './auth_guard.js';
import { createBudgets } from './budgets.js';
import { createCallPolicy, createMemoryCallStore } from './calls.js';
import { runMonotonicMs, runWallMs } from './clock.js';
import { addressKey, createClientIpResolver } from './client_ip.js';
import { createRedisCluster } from './cluster.js';
import { DEFAULTS } from './config.js';
import { emitError } from './errors.js';
import { createRequestHandler, healthRoute, metricsRoute } from './http.js';
import { createMemoryLimiter } from './limiter.js';
import { createLogger } from './log.js';
import { createThrottledLog } from './log_throttle.js';
import { createMetrics } from './metrics.js';
import { createOffenders } from './offenders.js';
import { createOriginCheck } from './origin.js';
import { createGuardedParser } from './parser.js';
import { createKeyedBuckets, perHour, perMinute } from './rate_limit.js';
import { createMemoryRegistry } from './registry.js';
import { createRelay } from './relay.js';
import { attachSession } from './session.js';
import { loadStaticRoutes } from './static.js';
import { createIceServerIssuer } from './turn.js';

// Idle buckets, expired calls and the like are forgotten this often.
const SWEEP_INTERVAL_MS = 30_000;
// How long close() lets connections end by themselves before it drops them: a
// client that sent half a request, or never answers a WebSocket close, would
// otherwise hold the shutdown (and the release of its IDs) for up to a minute.
export const CLOSE_GRACE_MS = 2000;

/**
 * Every TCP connection of `server`, upgraded ones included (the HTTP server's
 * own closeAllConnections() no longer sees those once upgraded).
 */
function trackConnections(server) {
  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

/**
 * Stop `server`: `stop(done)` closes it (and calls done once every connection
 * has ended); connections still open after CLOSE_GRACE_MS are dropped.
 */
function closeWithGrace(server, sockets, stop, log) {
  return new Promise((resolve) => {
    const grace = setTimeout(() => {
      if (sockets.size === 0) return;
      log.warn({ connections: sockets.size, graceMs: CLOSE_GRACE_MS }, 'connections still open after the close grace, dropped');
      for (const socket of sockets) socket.destroy();
    }, CLOSE_GRACE_MS);
    stop(() => {
      clearTimeout(grace);
      resolve();
    });
    // Keep-alive HTTP clients (e.g. a health checker) would otherwise hold
    // the close open until their next request or the keep-alive timeout.
    server.closeIdleConnections();
  });
}

/**
 * @param {Partial<typeof DEFAULTS>} [config] missing keys take DEFAULTS
 * @param {object} [deps] injectable collaborators
 * @param {ReturnType<typeof createLogger>} [deps.logger]
 * @param {ReturnType<typeof createMemoryRegistry>} [deps.registry] any object
 *   with the registry interface; the caller then owns its lifecycle
 * @param {{ now?: () => number, wallNow?: () => number, setTimeout?: typeof setTimeout, clearTimeout?: typeof clearTimeout }} [deps.clock]
 *   for tests: `now` (monotonic ms) drives every budget and rate limit,
 *   `wallNow` (epoch ms) the calls and the memory registry's TTLs, and
 *   `setTimeout`/`clearTimeout` the offline queue's expiry and how long a
 *   connection over its budget is not read
 */
export function createSignalingServer(config = {}, deps = {}) {
  // Drop undefined keys so `{ port: undefined }` means "default", as in env.
  const given = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
  const cfg = Object.freeze({ ...DEFAULTS, ...given });
  const log = deps.logger ?? createLogger({ level: cfg.logLevel });
  const now = deps.clock?.now ?? runMonotonicMs;
  const wallNow = deps.clock?.wallNow ?? runWallMs;
  const timers = deps.clock?.setTimeout ? deps.clock : globalThis;
  // Records any stranger can trigger are rate-limited (src/log_throttle.js).
  const warn = createThrottledLog(log);
  // With REDIS_URL or REDIS_CLUSTER_NODES the registry, the offline queue,
  // the calls and the cluster-wide limits live in Redis, and socket.io
  // delivers across nodes through the Redis adapter.
  const cluster =
    cfg.redisUrl || cfg.redisClusterNodes.length
      ? createRedisCluster({
          url: cfg.redisUrl,
          clusterNodes: cfg.redisClusterNodes,
          pubsub: cfg.redisPubsub ?? undefined,
          nodeId: cfg.nodeId,
          idTtlMs: cfg.idTtlSeconds * 1000,
          maxIds: cfg.maxIds,
          log,
        })
      : null;
  const ownsRegistry = !deps.registry && !cluster;
  const registry = deps.registry ?? cluster?.registry ?? createMemoryRegistry({ idTtlMs: cfg.idTtlSeconds * 1000, maxIds: cfg.maxIds, now: wallNow });
  let startedAt = Date.now();

  /** @type {Server} */
  let io;
  const connectedClients = () => io.of('/').sockets.size;
  const metrics = createMetrics({ connectedClients, nodeId: cfg.nodeId, redisStats: cluster?.stats, now });
  const health = healthRoute(() => ({ clients: connectedClients(), uptime: Math.floor((Date.now() - startedAt) / 1000) }));
  const metricsRoutes = [['/healthz', { GET: health }], ['/metrics', { GET: metricsRoute(metrics, log, cfg.metricsToken) }]];
  // With METRICS_PORT, /metrics is served only on that listener.
  const separateMetrics = cfg.metricsPort !== null;
  const routes = new Map([...(separateMetrics ? [metricsRoutes[0]] : metricsRoutes), ...loadStaticRoutes()]);

  // The request handler must be installed before socket.io attaches: socket.io
  // wraps the existing 'request' listeners and only calls them for requests
  // outside its own path.
  const httpServer = http.createServer(createRequestHandler(routes, log));
  const metricsServer = separateMetrics ? http.createServer(createRequestHandler(new Map(metricsRoutes), log)) : null;

  const clientIp = createClientIpResolver(cfg.trustedProxies);
  const keyOf = (ip) => addressKey(ip, cfg.ipv6BudgetPrefix);
  const offenders = createOffenders({
    cutsPerHour: cfg.ipCutsPerHour,
    cutBurst: cfg.ipCutBurst,
    blockMs: cfg.blockSeconds * 1000,
    maxBlockMs: cfg.maxBlockSeconds * 1000,
    maxAddresses: cfg.maxOffenderAddresses,
    now,
  });
  const admission = createAdmission({
    clientIp,
    addressKey: keyOf,
    originAllowed: createOriginCheck(cfg.allowedOrigins),
    maxConnectionsPerIp: cfg.maxConnectionsPerIp,
    connectsPerMin: cfg.ipConnectsPerMin,
    connectBurst: cfg.ipConnectBurst,
    offenders,
    now,
    onRefused: ({ reason, ip, origin, retryAfterMs }) => {
      metrics.dropped(reason.startsWith('origin') ? 'origin' : reason === 'address blocked' ? 'blocked' : 'connections');
      warn.warn(`refused ${reason}`, { reason, ip, origin, retryAfterMs }, 'connection refused');
    },
  });
  const budgets = createBudgets(cfg, { now });

  io = new Server(httpServer, {
    // /socket.io/socket.io.js for the web client in public/ (no CDN).
    serveClient: true,
    // Origin, connections per address (src/admission.js).
    allowRequest: admission.allowRequest,
    // Budgets and the nesting-depth check happen before a frame is parsed;
    // see src/parser.js.
    parser: createGuardedParser(budgets),
    pingInterval: cfg.pingIntervalMs,
    pingTimeout: cfg.pingTimeoutMs,
    // Above the payload limit (with room for JSON-string escaping and
    // framing) so an oversized payload earns PAYLOAD_TOO_LARGE instead of a
    // dropped connection; frames beyond this still close the connection.
    maxHttpBufferSize: cfg.maxPayloadBytes * 4 + 16 * 1024,
  });
  io.engine.on('connection', (conn) => admission.onConnection(conn));
  io.engine.on('connection_error', (err) => admission.onConnectionError(err));

  // Every error a client receives goes through here, so it is counted.
  const sendError = (target, error) => {
    metrics.error(error.code);
    emitError(target, error);
  };
  const limiter = cluster?.limiter ?? createMemoryLimiter({ now });
  const callStore = cluster?.callStore ?? createMemoryCallStore({ now: wallNow });
  const calls = createCallPolicy({ store: callStore, limiter, config: cfg, now: wallNow });
  const relay = createRelay({
    io,
    registry,
    calls,
    log,
    offlineQueueMs: cfg.offlineQueueMs,
    queueMaxBytesPerTarget: cfg.queueMaxBytesPerTarget,
    queueMaxBytes: cfg.queueMaxBytes,
    sendError,
    metrics,
    createQueue: cluster?.createQueue,
    timers,
  });
  const iceServers = createIceServerIssuer({
    secret: cfg.turnSecret,
    turnUrls: cfg.turnUrls,
    stunUrls: cfg.stunUrls,
    ttlSeconds: cfg.turnTtlSeconds,
    now: wallNow,
  });
  const iceById = createKeyedBuckets({ ...perMinute(cfg.iceRequestsPerMin, cfg.iceRequestBurst), now });
  const iceByIp = createKeyedBuckets({ ...perMinute(cfg.iceRequestsPerMin * 10, cfg.iceRequestBurst * 10), now });
  const iceRequests = {
    waitMs: (id, ip) => Math.max(iceById.get(id).waitMs(1), iceByIp.get(ip).waitMs(1)),
    take: (id, ip) => iceById.take(id) && iceByIp.take(ip),
  };
  const registrations = createKeyedBuckets({ ...perHour(cfg.ipRegistrationsPerHour, cfg.ipRegistrationBurst), now });
  const authGuard = createAuthGuard(cfg, { now });

  const sweeper = setInterval(() => {
    budgets.sweep();
    limiter.sweep();
    callStore.sweep?.();
    authGuard.sweep();
    registrations.sweep();
    iceById.sweep();
    iceByIp.sweep();
    admission.sweep();
    offenders.sweep();
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  // Work still running for disconnected sockets (registry releases).
  const pending = new Set();
  const ctx = {
    io,
    registry,
    relay,
    config: cfg,
    log,
    warn,
    sendError,
    metrics,
    iceServers,
    iceRequests,
    registrations,
    authGuard,
    clientIp,
    addressKey: keyOf,
    addressOf: admission.addressOf,
    offenders,
    pending,
    timers,
  };
  io.on('connection', (socket) => attachSession(ctx, socket));

  const connections = trackConnections(httpServer);
  const metricsConnections = metricsServer ? trackConnections(metricsServer) : null;

  const listenOn = (server, port, host) =>
    new Promise((resolve, reject) => {
      const onError = (err) => reject(err);
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        const { address, port: bound } = /** @type {import('node:net').AddressInfo} */ (server.address());
        resolve({ host: address, port: bound });
      });
    });

  let closing = null;

  return {
    httpServer,
    io,
    registry,
    metrics,
    relay,
    config: cfg,
    /** Address of the metrics listener (METRICS_PORT), once listening. */
    metricsAddress: null,

    /** @returns {Promise<{host: string, port: number}>} */
    async listen() {
      if (cluster) {
        // Connect before accepting clients: a node that cannot reach Redis
        // must fail at startup, not hand out IDs nobody else can see.
        await cluster.connect();
        io.adapter(cluster.adapter);
      }
      if (metricsServer) {
        this.metricsAddress = await listenOn(metricsServer, cfg.metricsPort, cfg.metricsHost);
        log.info(this.metricsAddress, 'metrics listening');
      }
      const { host, port } = await listenOn(httpServer, cfg.port, cfg.host);
      startedAt = Date.now();
      // Contract: the Rust client's tests parse this exact record.
      log.info({ host, port }, 'listening');
      return { host, port };
    },

    /** Disconnect everyone, stop listening, stop timers. Idempotent. */
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        relay.close();
        // io.close() also closes httpServer; its callback gets
        // ERR_SERVER_NOT_RUNNING if listen() was never called — fine here.
        await closeWithGrace(httpServer, connections, (done) => io.close(() => done()), log);
        if (metricsServer?.listening) {
          await closeWithGrace(metricsServer, metricsConnections, (done) => metricsServer.close(() => done()), log);
        }
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
