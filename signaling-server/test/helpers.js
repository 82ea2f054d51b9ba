// Shared test utilities (not a test file itself: `npm test` only runs
// test/*.test.js).

import { io as ioc } from 'socket.io-client';
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

/**
 * Start an in-process server on an ephemeral port.
 * @returns {Promise<{server: ReturnType<typeof createSignalingServer>, url: string, port: number, clients: any[]}>}
 */
export async function startServer(config = {}, deps = {}) {
  // Functional tests fire hundreds of messages in tight loops; the rate
  // limiter has its own tests (rate_limit.test.js) at realistic limits.
  const server = createSignalingServer(
    { port: 0, host: '127.0.0.1', rateLimitPerSec: 100_000, rateLimitBurst: 100_000, ...config },
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
