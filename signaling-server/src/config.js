// Environment → config. All problems are collected and reported together so
// an operator fixes a bad deployment in one round trip instead of several.

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { LEVELS } from './log.js';

export const DEFAULTS = Object.freeze({
  port: 3000,
  host: '127.0.0.1',
  idTtlSeconds: 86400,
  maxPayloadBytes: 65536,
  offlineQueueMs: 5000,
  pingIntervalMs: 5000,
  pingTimeoutMs: 5000,
  logLevel: 'info',
  // TURN REST API credentials (see src/turn.js). No secret and no URLs =
  // clients get an empty ICE server list.
  turnSecret: null,
  turnUrls: Object.freeze([]),
  stunUrls: Object.freeze([]),
  turnTtlSeconds: 86400,
  // Both unset = single-process mode with in-memory state. REDIS_URL: one
  // Redis server; REDIS_CLUSTER_NODES: seeds of a Redis Cluster.
  redisUrl: null,
  redisClusterNodes: Object.freeze([]),
  // 'classic' | 'sharded'; null = the default for the Redis kind (see cluster.js).
  redisPubsub: null,
  // Shows up in every log record so a cluster's logs can be told apart.
  nodeId: sanitizeNodeId(hostname()),
  rateLimitPerSec: 50,
  rateLimitBurst: 100,
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

// Integer env vars: [env name, config key, min, max]. Bounds exist to catch
// unit mistakes (seconds vs. milliseconds) rather than to enforce policy.
const INTEGER_VARS = [
  ['PORT', 'port', 0, 65535],
  ['ID_TTL_SECONDS', 'idTtlSeconds', 1, 365 * 86400],
  ['MAX_PAYLOAD_BYTES', 'maxPayloadBytes', 1024, 16 * 1024 * 1024],
  ['OFFLINE_QUEUE_MS', 'offlineQueueMs', 0, 10 * 60 * 1000],
  ['PING_INTERVAL_MS', 'pingIntervalMs', 100, 10 * 60 * 1000],
  ['PING_TIMEOUT_MS', 'pingTimeoutMs', 100, 10 * 60 * 1000],
  // Below 60 s a client could not even finish a call setup with the
  // credential; above 30 days a leaked credential stays useful too long.
  ['TURN_TTL_SECONDS', 'turnTtlSeconds', 60, 30 * 86400],
  ['RATE_LIMIT_PER_SEC', 'rateLimitPerSec', 1, 100_000],
  ['RATE_LIMIT_BURST', 'rateLimitBurst', 1, 100_000],
];

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

  for (const [name, key, min, max] of INTEGER_VARS) {
    const raw = env[name];
    if (isUnset(raw)) continue;
    const text = raw.trim();
    // Strict digits only: parseInt('5s') === 5 would hide mistakes.
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got ${JSON.stringify(raw)})`);
    } else {
      config[key] = value;
    }
  }

  if (!isUnset(env.HOST)) {
    const host = env.HOST.trim();
    if (/\s/.test(host)) problems.push(`HOST must be a hostname or IP address (got ${JSON.stringify(env.HOST)})`);
    else config.host = host;
  }

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

  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(config);
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
