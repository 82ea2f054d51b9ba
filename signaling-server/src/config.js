// Environment → config. All problems are collected and reported together so
// an operator fixes a bad deployment in one round trip instead of several.

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseCidr } from './client_ip.js';
import { LEVELS } from './log.js';

export const DEFAULTS = Object.freeze({
  port: 3000,
  host: '127.0.0.1',
  // An ID bound to a token stays reserved for it this long after its last
  // disconnect: long, so that an ID people have saved is not handed to a
  // stranger after a holiday (src/registry.js).
  idTtlSeconds: 90 * 86400,
  // The registry's memory bound (records, online or offline).
  maxIds: 1_000_000,
  // What legitimate clients send (bench/sdp_sizes.js, a Chromium audio
  // offer): ≈ 1.8 KB as the web and native clients trickle it; 6.3 KB as
  // the seed client sends it, after full gathering with 20 long candidates
  // in the SDP, the largest we know of. 16 KiB holds that 2.6 times over;
  // every byte above it only feeds a byte flood (bench/abuse.js).
  maxPayloadBytes: 16 * 1024,
  offlineQueueMs: 5000,
  pingIntervalMs: 5000,
  pingTimeoutMs: 5000,
  logLevel: 'info',
  // TURN REST API credentials (see src/turn.js). No secret and no URLs =
  // clients get an empty ICE server list.
  turnSecret: null,
  turnUrls: Object.freeze([]),
  stunUrls: Object.freeze([]),
  turnTtlSeconds: 3600,
  // Both unset = single-process mode with in-memory state. REDIS_URL: one
  // Redis server; REDIS_CLUSTER_NODES: seeds of a Redis Cluster.
  redisUrl: null,
  redisClusterNodes: Object.freeze([]),
  // 'classic' | 'sharded'; null = the default for the Redis kind (see cluster.js).
  redisPubsub: null,
  // Shows up in every log record so a cluster's logs can be told apart.
  nodeId: sanitizeNodeId(hostname()),

  // ---- budgets per client ID (shared by its connections, kept across
  // reconnects) and per client address; see src/budgets.js ----
  // A call setup is at most ≈ 25 KB (the 6.3 KB worst-case offer, an
  // answer, 40 candidates of ≤ 400 B): the ID's burst holds two at once and
  // its rate an ICE restart every second; an address's, eight clients doing
  // that together (a NAT; raise them for a carrier-grade NAT).
  rateLimitPerSec: 50,
  rateLimitBurst: 100,
  byteRatePerSec: 16 * 1024,
  byteBurst: 64 * 1024,
  ipRateLimitPerSec: 500,
  ipRateLimitBurst: 1000,
  ipByteRatePerSec: 128 * 1024,
  ipByteBurst: 256 * 1024,
  // ---- connections (src/admission.js) ----
  maxConnectionsPerIp: 100,
  ipConnectsPerMin: 600,
  ipConnectBurst: 100,
  ipRegistrationsPerHour: 120,
  ipRegistrationBurst: 30,
  // ---- addresses cut for flooding again and again (src/offenders.js) ----
  ipCutsPerHour: 20,
  ipCutBurst: 3,
  blockSeconds: 30,
  maxBlockSeconds: 900,
  maxOffenderAddresses: 100_000,
  // One IPv6 subscriber holds a /64 or more: per-address budgets key IPv6
  // addresses by this many leading bits (src/client_ip.js addressKey).
  ipv6BudgetPrefix: 64,
  // ---- outgoing buffer per connection (src/send_buffer.js) ----
  maxSendBufferBytes: 1024 * 1024,
  // ---- offline queue memory (src/queue.js) ----
  queueMaxBytesPerTarget: 256 * 1024,
  queueMaxBytes: 16 * 1024 * 1024,
  // ---- calls (src/calls.js) ----
  callsPerTargetPerMin: 20,
  callsPerTargetBurst: 10,
  callsPerSenderPerMin: 30,
  callsPerSenderBurst: 10,
  callsPerIpPerMin: 120,
  callsPerIpBurst: 30,
  callRingSeconds: 120,
  callIdleSeconds: 3600,
  // ---- tokens (src/auth_guard.js) ----
  authFailuresPerIdPerMin: 6,
  authFailuresPerIdBurst: 10,
  authFailuresPerIpPerMin: 12,
  authFailuresPerIpBurst: 20,
  // ---- TURN issuance (src/turn.js) ----
  iceRequestsPerMin: 12,
  iceRequestBurst: 6,
  // ---- HTTP/WebSocket origin and client address (src/origin.js,
  // src/client_ip.js); empty = same origin only / no proxy trusted ----
  allowedOrigins: Object.freeze([]),
  trustedProxies: Object.freeze([]),
  // ---- /metrics (src/http.js): a bearer token and/or its own listener ----
  metricsToken: null,
  metricsHost: '127.0.0.1',
  metricsPort: null,
});

// Hostnames may contain characters NODE_ID does not allow; the default must
// itself be a valid NODE_ID.
function sanitizeNodeId(name) {
  const cleaned = String(name).replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);
  return cleaned || 'node';
}

export class ConfigError extends Error {
  /** @param {string[]} problems */
  constructor(problems) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const MIB = 1024 * 1024;

// The config key of a variable: ID_TTL_SECONDS → idTtlSeconds.
const keyOf = (name) => name.toLowerCase().replace(/_([a-z])/g, (_, c) => c.toUpperCase());

// Integer settings: [env name, min, max, what it sets]. Bounds exist to catch
// unit mistakes (seconds vs. milliseconds) rather than to enforce policy.
const SETTINGS = [
  ['PORT', 0, 65535, 'the listening port'],
  ['ID_TTL_SECONDS', 1, 5 * 365 * 86400, 'how long an offline ID stays reserved'],
  ['MAX_IDS', 100, 1_000_000_000, 'IDs the registry holds'],
  ['MAX_PAYLOAD_BYTES', 1024, 16 * MIB, 'the largest payload'],
  ['OFFLINE_QUEUE_MS', 0, 10 * 60 * 1000, 'how long messages wait for an offline ID'],
  ['PING_INTERVAL_MS', 100, 10 * 60 * 1000, 'the heartbeat interval'],
  ['PING_TIMEOUT_MS', 100, 10 * 60 * 1000, 'the heartbeat timeout'],
  // Below 60 s a client could not even finish a call setup with the
  // credential; above 30 days a leaked credential stays useful too long.
  ['TURN_TTL_SECONDS', 60, 30 * 86400, 'the lifetime of TURN credentials'],
  ['MAX_CONNECTIONS_PER_IP', 1, 10_000_000, 'open connections per address'],
  ['MAX_SEND_BUFFER_BYTES', 64 * 1024, 1024 * MIB, 'unsent bytes held for one connection'],
  ['QUEUE_MAX_BYTES_PER_TARGET', 1024, 1024 * MIB, 'offline-queue bytes per target ID'],
  ['QUEUE_MAX_BYTES', 1024, 64 * 1024 * MIB, 'offline-queue bytes in all'],
  ['CALL_RING_SECONDS', 10, 86400, 'how long an unanswered call request lasts'],
  ['CALL_IDLE_SECONDS', 60, 30 * 86400, 'how long an answered call lasts without signaling'],
  ['METRICS_PORT', 0, 65535, 'the /metrics listener\'s port'],
  ['BLOCK_SECONDS', 1, 86400, 'how long an address cut for flooding too often is first refused'],
  ['MAX_BLOCK_SECONDS', 1, 30 * 86400, 'the longest refusal of such an address (each repeat doubles it)'],
  ['MAX_OFFENDER_ADDRESSES', 100, 100_000_000, 'addresses remembered for their flood cuts'],
  ['IPV6_BUDGET_PREFIX', 32, 128, 'the leading bits of an IPv6 address that per-address budgets count as one address'],
];

// Budgets, each a sustained rate and a burst read from two variables:
// [what it limits, rate variable, burst variable, max rate, max burst,
// min of both (byte budgets: 1 KiB, below which no payload fits)].
const BUDGETS = [
  ['messages per client ID', 'RATE_LIMIT_PER_SEC', 'RATE_LIMIT_BURST', 100_000, 100_000],
  ['bytes per client ID', 'BYTE_RATE_PER_SEC', 'BYTE_BURST', 1024 * MIB, 1024 * MIB, 1024],
  ['messages per address', 'IP_RATE_LIMIT_PER_SEC', 'IP_RATE_LIMIT_BURST', 10_000_000, 10_000_000],
  ['bytes per address', 'IP_BYTE_RATE_PER_SEC', 'IP_BYTE_BURST', 64 * 1024 * MIB, 64 * 1024 * MIB, 1024],
  ['new connections per address', 'IP_CONNECTS_PER_MIN', 'IP_CONNECT_BURST', 100_000_000, 10_000_000],
  ['new IDs per address', 'IP_REGISTRATIONS_PER_HOUR', 'IP_REGISTRATION_BURST', 100_000_000, 10_000_000],
  ['flood cuts per address before it is refused', 'IP_CUTS_PER_HOUR', 'IP_CUT_BURST', 100_000_000, 10_000_000],
  ['call requests per callee', 'CALLS_PER_TARGET_PER_MIN', 'CALLS_PER_TARGET_BURST', 1_000_000, 1_000_000],
  ['call requests per caller', 'CALLS_PER_SENDER_PER_MIN', 'CALLS_PER_SENDER_BURST', 1_000_000, 1_000_000],
  ['call requests per address', 'CALLS_PER_IP_PER_MIN', 'CALLS_PER_IP_BURST', 100_000_000, 10_000_000],
  ['wrong tokens per ID', 'AUTH_FAILURES_PER_ID_PER_MIN', 'AUTH_FAILURES_PER_ID_BURST', 1_000_000, 1_000_000],
  ['wrong tokens per address', 'AUTH_FAILURES_PER_IP_PER_MIN', 'AUTH_FAILURES_PER_IP_BURST', 1_000_000, 1_000_000],
  ['TURN credential requests per ID', 'ICE_REQUESTS_PER_MIN', 'ICE_REQUEST_BURST', 1_000_000, 1_000_000],
];

/** Every integer variable: [env name, config key, min, max, what it sets]. */
export const INTEGER_VARS = Object.freeze([
  ...SETTINGS.map(([name, min, max, what]) => [name, keyOf(name), min, max, what]),
  ...BUDGETS.flatMap(([what, rate, burst, maxRate, maxBurst, min = 1]) => [
    [rate, keyOf(rate), min, maxRate, `the sustained rate of ${what}`],
    [burst, keyOf(burst), min, maxBurst, `the burst of ${what}`],
  ]),
]);

// Sizes that must hold others, or a legitimate client could never send (or
// be sent) its largest payload: [variable, at least this many times, variable].
const AT_LEAST = [
  ['BYTE_BURST', 1, 'MAX_PAYLOAD_BYTES'],
  ['IP_BYTE_BURST', 1, 'BYTE_BURST'],
  ['MAX_SEND_BUFFER_BYTES', 2, 'MAX_PAYLOAD_BYTES'],
  ['QUEUE_MAX_BYTES_PER_TARGET', 1, 'MAX_PAYLOAD_BYTES'],
  ['MAX_BLOCK_SECONDS', 1, 'BLOCK_SECONDS'],
];

/** The integer value of one variable, or a problem naming it and what it sets. */
function readInteger(env, [name, key, min, max, what], config, problems) {
  const raw = env[name];
  if (isUnset(raw)) return;
  const text = raw.trim();
  // Strict digits only: parseInt('5s') === 5 would hide mistakes.
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (Number.isSafeInteger(value) && value >= min && value <= max) config[key] = value;
  else problems.push(`${name} (${what}) must be an integer between ${min} and ${max} (got ${JSON.stringify(raw)})`);
}

// turn:host[:port][?transport=udp|tcp] (RFC 7065); IPv6 literals in brackets.
const HOST_PORT = String.raw`(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?`;
const TURN_URL_RE = new RegExp(`^turns?:${HOST_PORT}(?:\\?transport=(?:udp|tcp))?$`);
const STUN_URL_RE = new RegExp(`^stuns?:${HOST_PORT}$`);
const NODE_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** Split a comma-separated list; returns [urls, badEntries]. */
function parseUrlList(raw, re) {
  const urls = raw.split(',').map((u) => u.trim()).filter(Boolean);
  const bad = urls.filter((u) => {
    const m = re.exec(u);
    return !m || (m[1] !== undefined && Number(m[1]) > 65535);
  });
  return [Object.freeze(urls), bad];
}

/**
 * REDIS_URL may carry a password: describe it without echoing it back into
 * logs or terminals.
 */
function describeRedisUrl(raw) {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    return JSON.stringify(u.toString());
  } catch {
    return 'a value that is not a URL';
  }
}

// An empty variable (`PORT=`) is treated as unset: shells and compose files
// produce those easily and "use the default" is the least surprising reading.
const isUnset = (v) => v === undefined || v.trim() === '';

/**
 * Parse and validate configuration from an environment object.
 * @param {Record<string, string | undefined>} env
 * @returns {Readonly<typeof DEFAULTS>}
 * @throws {ConfigError}
 */
export function loadConfig(env = process.env) {
  const config = { ...DEFAULTS };
  const problems = [];

  for (const spec of INTEGER_VARS) readInteger(env, spec, config, problems);

  if (!isUnset(env.HOST)) {
    const host = env.HOST.trim();
    if (/\s/.test(host)) problems.push(`HOST must be a hostname or IP address (got ${JSON.stringify(env.HOST)})`);
    else config.host = host;
  }

  if (!isUnset(env.METRICS_HOST)) {
    const host = env.METRICS_HOST.trim();
    if (/\s/.test(host)) problems.push(`METRICS_HOST must be a hostname or IP address (got ${JSON.stringify(env.METRICS_HOST)})`);
    else config.metricsHost = host;
  }

  if (!isUnset(env.ALLOWED_ORIGINS)) {
    const origins = env.ALLOWED_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean);
    const bad = origins.filter((o) => o !== '*' && !isOrigin(o));
    if (bad.length) problems.push(`ALLOWED_ORIGINS entries must be origins like https://example.org[:port], or * (bad: ${bad.map((b) => JSON.stringify(b)).join(', ')})`);
    else config.allowedOrigins = Object.freeze(origins.map((o) => (o === '*' ? o : new URL(o).origin)));
  }

  if (!isUnset(env.TRUSTED_PROXIES)) {
    const entries = env.TRUSTED_PROXIES.split(',').map((p) => p.trim()).filter(Boolean);
    const bad = entries.filter((e) => parseCidr(e) === null);
    if (bad.length) problems.push(`TRUSTED_PROXIES entries must be IP addresses or CIDR ranges (bad: ${bad.map((b) => JSON.stringify(b)).join(', ')})`);
    else config.trustedProxies = Object.freeze(entries);
  }

  loadSecret(env, 'METRICS_TOKEN', problems, (token) => {
    if (token.length < 16) problems.push('METRICS_TOKEN must be at least 16 characters');
    else config.metricsToken = token;
  });

  if (!isUnset(env.LOG_LEVEL)) {
    const level = env.LOG_LEVEL.trim().toLowerCase();
    if (!(level in LEVELS)) {
      problems.push(`LOG_LEVEL must be one of ${Object.keys(LEVELS).join(', ')} (got ${JSON.stringify(env.LOG_LEVEL)})`);
    } else {
      config.logLevel = level;
    }
  }

  loadTurnConfig(env, config, problems);

  loadRedisConfig(env, config, problems);

  if (!isUnset(env.NODE_ID)) {
    const nodeId = env.NODE_ID.trim();
    if (NODE_ID_RE.test(nodeId)) config.nodeId = nodeId;
    else problems.push(`NODE_ID must be 1-64 characters of A-Z, a-z, 0-9, ".", "_" and "-" (got ${JSON.stringify(env.NODE_ID)})`);
  }

  for (const [name, times, other] of AT_LEAST) {
    const [value, floor] = [config[keyOf(name)], times * config[keyOf(other)]];
    if (value < floor) problems.push(`${name} (${value}) must be at least ${times === 1 ? '' : `${times} × `}${other} (${floor})`);
  }
  if (config.metricsPort !== null && config.metricsPort === config.port && config.port !== 0) problems.push('METRICS_PORT must differ from PORT');

  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(config);
}

function isOrigin(text) {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === text.replace(/\/$/, '');
  } catch {
    return false;
  }
}

/**
 * NAME or NAME_FILE (the file wins, surrounding whitespace trimmed). Calls
 * `use` with the value when one is set; the value never appears in a problem.
 */
function loadSecret(env, name, problems, use) {
  const fileVar = `${name}_FILE`;
  if (!isUnset(env[fileVar])) {
    const file = env[fileVar].trim();
    try {
      const value = readFileSync(file, 'utf8').trim();
      if (!value) problems.push(`${fileVar} ${JSON.stringify(file)} is empty`);
      else use(value);
    } catch (err) {
      problems.push(`${fileVar} ${JSON.stringify(file)} cannot be read (${err.code ?? err.message})`);
    }
  } else if (!isUnset(env[name])) {
    use(env[name].trim());
  }
}

const isRedisUrl = (raw) => {
  try {
    const u = new URL(raw);
    return (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '';
  } catch {
    return false;
  }
};

/** REDIS_URL / REDIS_CLUSTER_NODES / REDIS_PUBSUB. Passwords are never echoed. */
function loadRedisConfig(env, config, problems) {
  const hasUrl = !isUnset(env.REDIS_URL);
  const hasNodes = !isUnset(env.REDIS_CLUSTER_NODES);
  if (hasUrl) {
    const raw = env.REDIS_URL.trim();
    if (isRedisUrl(raw)) config.redisUrl = raw;
    else problems.push(`REDIS_URL must be a redis://[user:password@]host[:port][/db] or rediss:// URL (got ${describeRedisUrl(raw)})`);
  }
  if (hasNodes) {
    // host:port is shorthand for redis://host:port.
    const seeds = env.REDIS_CLUSTER_NODES.split(',').map((s) => s.trim()).filter(Boolean);
    const urls = seeds.map((s) => (s.includes('://') ? s : `redis://${s}`));
    const bad = urls.filter((u) => !isRedisUrl(u) || new URL(u).pathname.length > 1 || !new URL(u).port);
    const schemes = new Set(urls.filter(isRedisUrl).map((u) => new URL(u).protocol));
    const auths = new Set(urls.filter(isRedisUrl).map((u) => `${new URL(u).username}:${new URL(u).password}`));
    if (seeds.length === 0) {
      problems.push('REDIS_CLUSTER_NODES must list at least one host:port (comma-separated)');
    } else if (bad.length) {
      problems.push(`REDIS_CLUSTER_NODES entries must be host:port or redis://[user:password@]host:port (no /db: a Redis Cluster has only db 0) (bad: ${bad.map(describeRedisUrl).join(', ')})`);
    } else if (schemes.size > 1 || auths.size > 1) {
      // node-redis applies one set of credentials and TLS to every node it
      // discovers; differing seeds would mean some nodes get the wrong ones.
      problems.push('REDIS_CLUSTER_NODES entries must all use the same scheme (redis:// or rediss://) and the same user/password');
    } else {
      config.redisClusterNodes = Object.freeze(urls);
    }
  }
  if (hasUrl && hasNodes) problems.push('set either REDIS_URL (one Redis server) or REDIS_CLUSTER_NODES (a Redis Cluster), not both');
  if (!isUnset(env.REDIS_PUBSUB)) {
    const mode = env.REDIS_PUBSUB.trim().toLowerCase();
    if (mode !== 'classic' && mode !== 'sharded') problems.push(`REDIS_PUBSUB must be classic or sharded (got ${JSON.stringify(env.REDIS_PUBSUB)})`);
    else if (!hasUrl && !hasNodes) problems.push('REDIS_PUBSUB is set but neither REDIS_URL nor REDIS_CLUSTER_NODES is: it only applies to cluster mode');
    else config.redisPubsub = mode;
  }
}

/**
 * TURN_SECRET / TURN_SECRET_FILE / TURN_URLS / STUN_URLS. The secret itself
 * never appears in a problem message.
 */
function loadTurnConfig(env, config, problems) {
  let secret = null;
  if (!isUnset(env.TURN_SECRET_FILE)) {
    // The file wins over TURN_SECRET so a secret mounted by the init system
    // (systemd LoadCredential, a Kubernetes secret) overrides a stale env.
    const file = env.TURN_SECRET_FILE.trim();
    try {
      // Trim the trailing newline `echo secret > file` leaves behind.
      secret = readFileSync(file, 'utf8').trim();
      if (!secret) problems.push(`TURN_SECRET_FILE ${JSON.stringify(file)} is empty`);
    } catch (err) {
      problems.push(`TURN_SECRET_FILE ${JSON.stringify(file)} cannot be read (${err.code ?? err.message})`);
      secret = '';
    }
  } else if (!isUnset(env.TURN_SECRET)) {
    secret = env.TURN_SECRET.trim();
  }

  if (!isUnset(env.TURN_URLS)) {
    const [urls, bad] = parseUrlList(env.TURN_URLS, TURN_URL_RE);
    if (bad.length) {
      problems.push(`TURN_URLS entries must look like turn:host[:port][?transport=udp|tcp] or turns:… (bad: ${bad.map((b) => JSON.stringify(b)).join(', ')})`);
    } else {
      config.turnUrls = urls;
    }
  }
  if (!isUnset(env.STUN_URLS)) {
    const [urls, bad] = parseUrlList(env.STUN_URLS, STUN_URL_RE);
    if (bad.length) problems.push(`STUN_URLS entries must look like stun:host[:port] (bad: ${bad.map((b) => JSON.stringify(b)).join(', ')})`);
    else config.stunUrls = urls;
  }

  // A secret without URLs (or the reverse) is a half-finished deployment;
  // failing loudly beats silently handing out no TURN servers.
  const hasUrls = !isUnset(env.TURN_URLS);
  if (secret && !hasUrls) problems.push('TURN_SECRET/TURN_SECRET_FILE is set but TURN_URLS is empty: set TURN_URLS to the TURN server URLs');
  if (hasUrls && secret === null) problems.push('TURN_URLS is set but neither TURN_SECRET nor TURN_SECRET_FILE is: the TURN server needs the shared secret');
  if (secret) config.turnSecret = secret;
}
