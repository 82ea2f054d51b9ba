// The Redis connections of a cluster-mode node: a command connection and a
// subscriber connection, to one Redis server (REDIS_URL: createClient) or to
// a Redis Cluster (REDIS_CLUSTER_NODES: createCluster).
//
// Why a layer of our own over node-redis for the cluster case: node-redis 4's
// cluster client only re-reads the slot map when a live node answers MOVED.
// When a master dies and its replica takes over, every command for that
// master's slots goes to the dead address forever ("The client is offline"),
// and its sharded subscriptions are dropped, not moved (measured with
// test/support/redis_cluster.js). So every TOPOLOGY_CHECK_MS this layer asks
// a live master for CLUSTER SLOTS; when the answer differs from the client's
// map (or no master answers) it builds a fresh pair of cluster clients from
// the seeds plus every address seen so far, re-issues every subscription the
// adapter holds, and drops the old pair. Callers hold proxies that always
// forward to the current pair, so the registry, the queue and the socket.io
// adapter never see the swap.
//
// The subscriber proxy also counts pub/sub deliveries to this node and the
// command proxy counts publishes: the bench (bench/cluster.js) and
// /metrics read them to show what each relayed message costs Redis.

import { createClient, createCluster } from 'redis';

const CONNECT_TIMEOUT_MS = 5000;
const TOPOLOGY_CHECK_MS = 1000;

const SUBSCRIBE = { subscribe: 'sub', pSubscribe: 'psub', sSubscribe: 'ssub' };
const UNSUBSCRIBE = { unsubscribe: 'sub', pUnsubscribe: 'psub', sUnsubscribe: 'ssub' };
const KIND_TO_SUBSCRIBE = { sub: 'subscribe', psub: 'pSubscribe', ssub: 'sSubscribe' };

const isPromise = (v) => typeof v?.then === 'function';
// Methods of a client that are not Redis commands (not counted).
const NOT_COMMANDS = new Set(['on', 'once', 'off', 'emit', 'removeListener', 'removeAllListeners', 'listeners', 'connect', 'disconnect', 'quit', 'duplicate', 'nodeClient', 'getRandomNode', 'getSlotRandomNode']);

/** Parse a seed ("host:port" or a redis:// URL) into a node-redis root node. */
export function seedToRootNode(seed) {
  return { url: seed.includes('://') ? seed : `redis://${seed}` };
}

export async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * @param {object} opts
 * @param {string|null} [opts.url] one Redis server
 * @param {string[]} [opts.clusterNodes] seeds of a Redis Cluster
 * @param {object} opts.scripts node-redis scripts (defineScript) to attach
 * @param {ReturnType<import('./log.js').createLogger>} opts.log
 * @param {(err: Error, connection: string) => void} opts.onError rate-limited by the caller
 */
export function createRedisConnection({ url = null, clusterNodes = [], scripts, log, onError }) {
  const stats = { commands: 0, published: 0, delivered: 0, topologyChanges: 0 };
  const isCluster = clusterNodes.length > 0;

  // Fail commands at once while Redis (or a shard) is unreachable instead of
  // queueing them: a handler then answers INTERNAL right away rather than
  // hanging the client's whole event chain.
  const clientOptions = {
    disableOfflineQueue: true,
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 3000),
    },
  };

  // Every address seen in a slot map, so a swap still finds the cluster when
  // every configured seed is gone.
  const known = new Set(clusterNodes.map((s) => new URL(seedToRootNode(s).url).host));
  const seedAuth = isCluster ? new URL(seedToRootNode(clusterNodes[0]).url) : null;

  function makeCluster() {
    const rootNodes = [...new Set([...clusterNodes.map((s) => seedToRootNode(s).url), ...[...known].map((h) => `${seedAuth.protocol}//${h}`)])].map((u) => ({ url: u }));
    const defaults = { ...clientOptions };
    // Credentials and TLS of the seed URLs apply to the nodes discovered
    // from them too (node-redis only uses a root node's URL for that node).
    if (seedAuth.username) defaults.username = decodeURIComponent(seedAuth.username);
    if (seedAuth.password) defaults.password = decodeURIComponent(seedAuth.password);
    if (seedAuth.protocol === 'rediss:') defaults.socket = { ...defaults.socket, tls: true };
    return createCluster({ rootNodes, defaults, scripts });
  }

  function attachErrors(client, name) {
    // node-redis emits 'error' on every failed reconnect attempt; without a
    // listener that would crash the process.
    client.on('error', (err) => onError(err, name));
    return client;
  }

  let command;
  let subscriber;
  if (isCluster) {
    command = attachErrors(makeCluster(), 'command');
    subscriber = attachErrors(makeCluster(), 'subscriber');
  } else {
    command = attachErrors(createClient({ url, ...clientOptions, scripts }), 'command');
    subscriber = attachErrors(command.duplicate(), 'subscriber');
  }

  // What the adapter subscribed to, to re-issue after a swap: key
  // "<kind>\0<channel>" → { kind, channel, entries: [{ listener, wrapped, bufferMode }] }.
  const subscriptions = new Map();
  const retry = new Set();

  function issue(kind, channel, wrapped, bufferMode) {
    const key = `${kind}\0${channel}`;
    // The adapter never awaits its (un)subscribe calls: a failure here would
    // be an unhandled rejection and a silently missing subscription. Keep it
    // and retry on the next topology tick instead.
    stats.commands++;
    return subscriber[KIND_TO_SUBSCRIBE[kind]](channel, wrapped, bufferMode).then(
      () => retry.delete(key),
      (err) => {
        retry.add(key);
        onError(err, 'subscriber');
      },
    );
  }

  const subscriberProxy = new Proxy(
    {},
    {
      get(_, prop) {
        if (prop in SUBSCRIBE) {
          const kind = SUBSCRIBE[prop];
          return (channels, listener, bufferMode) => {
            const list = Array.isArray(channels) ? channels : [channels];
            const wrapped = (message, channel) => {
              stats.delivered++;
              listener(message, channel);
            };
            return Promise.all(
              list.map((channel) => {
                const key = `${kind}\0${channel}`;
                let sub = subscriptions.get(key);
                if (!sub) subscriptions.set(key, (sub = { kind, channel, entries: [] }));
                sub.entries.push({ listener, wrapped, bufferMode });
                return issue(kind, channel, wrapped, bufferMode);
              }),
            );
          };
        }
        if (prop in UNSUBSCRIBE) {
          const kind = UNSUBSCRIBE[prop];
          return (channels, listener, bufferMode) => {
            const list = Array.isArray(channels) ? channels : [channels];
            return Promise.all(
              list.map((channel) => {
                const key = `${kind}\0${channel}`;
                const sub = subscriptions.get(key);
                let wrapped;
                if (sub) {
                  if (listener) {
                    const i = sub.entries.findIndex((e) => e.listener === listener);
                    if (i >= 0) wrapped = sub.entries.splice(i, 1)[0].wrapped;
                  } else {
                    sub.entries.length = 0;
                  }
                  if (sub.entries.length === 0) {
                    subscriptions.delete(key);
                    retry.delete(key);
                  }
                }
                if (listener && !wrapped) return undefined; // never subscribed through us
                stats.commands++;
                return subscriber[prop](channel, wrapped, bufferMode).catch((err) => onError(err, 'subscriber'));
              }),
            );
          };
        }
        const value = subscriber[prop];
        return typeof value === 'function' ? value.bind(subscriber) : value;
      },
    },
  );

  async function scanAll(options) {
    const out = [];
    const clients = isCluster ? command.masters.map((m) => command.nodeClient(m)) : [command];
    for (const c of clients) {
      const client = await c;
      for await (const key of client.scanIterator(options)) out.push(key);
    }
    return out;
  }

  const commandProxy = new Proxy(
    {},
    {
      get(_, prop) {
        if (prop === 'publish' || prop === 'sPublish') {
          return (...args) => {
            stats.published++;
            stats.commands++;
            return command[prop](...args);
          };
        }
        // SCAN per master in a cluster (a cluster client has no scanIterator).
        if (prop === 'scanIterator') {
          return async function* scan(options) {
            yield* await scanAll(options);
          };
        }
        const value = command[prop];
        if (typeof value !== 'function') return value;
        if (NOT_COMMANDS.has(prop)) return value.bind(command);
        return (...args) => {
          stats.commands++;
          return value.apply(command, args);
        };
      },
    },
  );

  // --- fail-over handling (cluster only) -----------------------------------

  let watcher = null;
  let checking = false;
  let closed = false;

  async function clusterSlotsFromAnyMaster() {
    const ready = command.masters.map((m) => m.client).filter((c) => c && !isPromise(c) && c.isReady);
    for (const client of ready.sort(() => Math.random() - 0.5)) {
      try {
        return await withTimeout(client.clusterSlots(), 1000, 'CLUSTER SLOTS');
      } catch {
        // try the next one
      }
    }
    return null;
  }

  function agrees(slots) {
    for (const range of slots) {
      const addr = `${range.master.ip}:${range.master.port}`;
      if (command.slots[range.from]?.master?.address !== addr || command.slots[range.to]?.master?.address !== addr) return false;
    }
    return true;
  }

  async function connectPair(a, b, what) {
    try {
      await withTimeout(Promise.all([a.connect(), b.connect()]), CONNECT_TIMEOUT_MS, what);
    } catch (err) {
      // Stop the reconnect loops so a failed start can exit.
      await Promise.allSettled([a.disconnect(), b.disconnect()]);
      throw err;
    }
  }

  /** Subscribe again (on the current connection) to what `keys` name. */
  function reissue(keys) {
    return Promise.all(
      keys.map((key) => {
        const sub = subscriptions.get(key);
        retry.delete(key);
        return sub ? Promise.all(sub.entries.map((e) => issue(sub.kind, sub.channel, e.wrapped, e.bufferMode))) : null;
      }),
    );
  }

  async function swap(reason) {
    const nextCommand = attachErrors(makeCluster(), 'command');
    const nextSubscriber = attachErrors(makeCluster(), 'subscriber');
    await connectPair(nextCommand, nextSubscriber, 'reconnecting to the Redis Cluster');
    if (closed) {
      await Promise.allSettled([nextCommand.disconnect(), nextSubscriber.disconnect()]);
      return;
    }
    const [oldCommand, oldSubscriber] = [command, subscriber];
    command = nextCommand;
    subscriber = nextSubscriber;
    stats.topologyChanges++;
    await reissue([...subscriptions.keys()]);
    await Promise.allSettled([oldCommand.disconnect(), oldSubscriber.disconnect()]);
    log.warn({ reason, masters: command.masters.map((m) => m.address), subscriptions: subscriptions.size, failed: retry.size }, 'redis cluster topology changed: reconnected');
  }

  async function checkTopology() {
    if (checking || closed) return;
    checking = true;
    try {
      // One Redis server: node-redis re-subscribes by itself after a
      // reconnect, but only what had succeeded; the rest is ours to retry.
      if (!isCluster) {
        if (retry.size) await reissue([...retry]);
        return;
      }
      const slots = await clusterSlotsFromAnyMaster();
      if (slots) for (const r of slots) for (const n of [r.master, ...r.replicas]) known.add(`${n.ip}:${n.port}`);
      if (!slots) await swap('no master answers');
      else if (!agrees(slots)) await swap('slot map changed');
      else if (retry.size) await reissue([...retry]);
    } catch (err) {
      onError(err, 'topology');
    } finally {
      checking = false;
    }
  }

  return {
    isCluster,
    /** Forwards to the current command connection. */
    command: commandProxy,
    /** Forwards to the current subscriber connection; tracks subscriptions. */
    subscriber: subscriberProxy,
    stats,

    async connect() {
      await connectPair(command, subscriber, 'connecting to Redis');
      if (isCluster) for (const m of [...command.masters, ...command.replicas]) known.add(m.address);
      watcher = setInterval(() => void checkTopology(), TOPOLOGY_CHECK_MS);
      watcher.unref();
    },

    /** Run a topology check (and retry failed subscriptions) now; the watcher does it every second. */
    checkTopology,

    get isOpen() {
      return command.isOpen;
    },

    async close() {
      closed = true;
      clearInterval(watcher);
      await Promise.allSettled([command.quit(), subscriber.quit()]);
    },
  };
}
