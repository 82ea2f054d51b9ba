// Shared test utilities (not a test file itself: `npm test` only runs
// test/*.test.js).

import { randomBytes } from 'node:crypto';
import { io as ioc } from 'socket.io-client';
import { DEFAULTS } from '../src/config.js';
import { createSignalingServer } from '../src/server.js';
import { createLogger, silentLogger } from '../src/log.js';

/** Collects log records in memory so tests can assert on them. */
export function memoryLogger() {
  const records = [];
  const logger = createLogger({
    level: 'debug',
    stream: { write: (line) => records.push(JSON.parse(line)) },
  });
  return { logger, records };
}

// Functional tests fire hundreds of messages and connections in tight loops
// from one address; every limit has its own tests at realistic values
// (rate_limit.test.js, abuse.test.js, …), which pass DEFAULT_LIMITS.
export const RELAXED_LIMITS = Object.freeze({
  rateLimitPerSec: 100_000,
  rateLimitBurst: 100_000,
  byteRatePerSec: 1e9,
  byteBurst: 1e9,
  ipRateLimitPerSec: 1e7,
  ipRateLimitBurst: 1e7,
  ipByteRatePerSec: 1e10,
  ipByteBurst: 1e10,
  maxConnectionsPerIp: 1e6,
  ipConnectsPerMin: 1e8,
  ipConnectBurst: 1e6,
  ipRegistrationsPerHour: 1e8,
  ipRegistrationBurst: 1e6,
  ipCutsPerHour: 1e8,
  ipCutBurst: 1e6,
  callsPerTargetPerMin: 1e6,
  callsPerTargetBurst: 1e6,
  callsPerSenderPerMin: 1e6,
  callsPerSenderBurst: 1e6,
  callsPerIpPerMin: 1e6,
  callsPerIpBurst: 1e6,
  authFailuresPerIdPerMin: 1e6,
  authFailuresPerIdBurst: 1e6,
  authFailuresPerIpPerMin: 1e6,
  authFailuresPerIpBurst: 1e6,
  iceRequestsPerMin: 1e6,
  iceRequestBurst: 1e6,
});

/** The production values of everything RELAXED_LIMITS relaxes. */
export const DEFAULT_LIMITS = Object.freeze(Object.fromEntries(Object.keys(RELAXED_LIMITS).map((k) => [k, DEFAULTS[k]])));

/**
 * A clock for `startServer(config, { clock })`: `now` drives the budgets
 * and rate limits, `wallNow` the calls, the registry's TTLs and TURN expiry,
 * its setTimeout the offline queue's expiry. Time stands still until
 * advance(ms), which runs the timers that fall due on the way, in order.
 */
export function fakeClock(start = 1_700_000_000_000) {
  let t = 0;
  const timers = new Set();
  return {
    now: () => t,
    wallNow: () => start + t,
    setTimeout(fn, ms) {
      const timer = { at: t + Math.max(ms, 1), fn, ref: () => timer, unref: () => timer };
      timers.add(timer);
      return timer;
    },
    clearTimeout: (timer) => timers.delete(timer),
    advance(ms) {
      const end = t + ms;
      for (;;) {
        let next = null;
        for (const x of timers) if (x.at <= end && (next === null || x.at < next.at)) next = x;
        if (next === null) break;
        timers.delete(next);
        t = next.at;
        next.fn();
      }
      t = end;
      return t;
    },
  };
}

/** A token the server accepts for a new ID (256 random bits). */
export const strongToken = () => randomBytes(32).toString('base64url');

/**
 * Start an in-process server on an ephemeral port.
 * @returns {Promise<{server: ReturnType<typeof createSignalingServer>, url: string, port: number, clients: any[]}>}
 */
export async function startServer(config = {}, deps = {}) {
  const server = createSignalingServer(
    { port: 0, host: '127.0.0.1', ...RELAXED_LIMITS, ...config },
    { logger: silentLogger, ...deps },
  );
  const { port } = await server.listen();
  return { server, port, url: `http://127.0.0.1:${port}` };
}

/**
 * Connect a client without waiting. reconnection is off so a test never
 * races the client's own retry logic.
 */
export function client(url, opts = {}) {
  return ioc(url, { reconnection: false, forceNew: true, transports: ['websocket'], ...opts });
}

/** Resolve with the first argument of the next `event` (rejects after ms). */
export function once(socket, event, ms = 2000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, on);
      reject(new Error(`timed out waiting for "${event}"`));
    }, ms);
    function on(arg) {
      clearTimeout(timer);
      resolve(arg);
    }
    socket.once(event, on);
  });
}

/** Resolve if `event` does NOT arrive within ms; reject if it does. */
export function never(socket, event, ms = 200) {
  return new Promise((resolve, reject) => {
    const on = (arg) => {
      clearTimeout(timer);
      reject(new Error(`unexpected "${event}": ${JSON.stringify(arg)}`));
    };
    const timer = setTimeout(() => {
      socket.off(event, on);
      resolve();
    }, ms);
    socket.once(event, on);
  });
}

/** Record every event a socket receives, in order, as [name, ...args]. */
export function recorder(socket) {
  const events = [];
  socket.onAny((event, ...args) => events.push([event, ...args]));
  return events;
}

/**
 * Connect and wait for the whole connect sequence (your_id, registered,
 * ice_servers). Listeners are attached before the connection opens, so
 * nothing can be missed.
 */
export async function connectRegistered(url, opts = {}) {
  const socket = client(url, opts);
  const events = recorder(socket);
  const [yourId, registered, iceServers] = await Promise.all([
    once(socket, 'your_id'),
    once(socket, 'registered'),
    once(socket, 'ice_servers'),
  ]);
  return { socket, events, id: yourId, token: registered.token, registered, iceServers };
}

export async function waitUntil(predicate, ms = 2000, step = 10) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, step));
  }
  throw new Error('condition not met in time');
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wait until the server has seen `id` go offline. */
export function waitOffline(server, id) {
  return waitUntil(async () => (await server.registry.lookup(id))?.online === false);
}

/**
 * `a` offers `b` a call (the only way a call starts) and waits until `b` has
 * the offer: afterwards every call event between them is relayed.
 */
export async function openCall(a, b, callId = 'call-1') {
  const got = once(b.socket, 'offer_sdp');
  a.socket.emit('offer_sdp', { targetClientId: b.id, callId, sdp: { type: 'offer', sdp: 'v=0' } });
  const offer = await got;
  if (offer.from !== a.id) throw new Error(`offer from ${offer.from}, expected ${a.id}`);
  return callId;
}
