// Who may open a connection at all, decided in engine.io's allowRequest
// before any Socket.IO state exists: a refused handshake costs one HTTP
// response (403). Checked in order:
//   0. the address is not refused for its flood cuts (src/offenders.js);
//      the 403's message starts with ADDRESS_BLOCKED and says how long;
//   1. Origin: browsers only from this server's own pages or ALLOWED_ORIGINS
//      (src/origin.js);
//   2. at most MAX_CONNECTIONS_PER_IP open connections per client address;
//   3. new connections per address: IP_CONNECTS_PER_MIN, bursts of
//      IP_CONNECT_BURST.
// The address is the one src/client_ip.js resolves (X-Forwarded-For only
// from TRUSTED_PROXIES); budgets are kept under its `addressKey` (an IPv6
// address by its IPV6_BUDGET_PREFIX). Both are remembered for the session
// (addressOf), in a WeakMap rather than as properties of the request: two
// more properties turned each request engine.io keeps for its connection's
// lifetime into a 1.6 KB dictionary (bench/conn_memory.js).

import { ErrorCode } from './errors.js';
import { createKeyedBuckets, perMinute } from './rate_limit.js';

// A handshake that passed allowRequest becomes a connection within the same
// request; one that never does (the client vanished mid-upgrade) must not
// hold its slot for ever.
const RESERVATION_MS = 10_000;

/**
 * @param {object} opts
 * @param {(req: import('node:http').IncomingMessage) => string} opts.clientIp
 * @param {(ip: string) => string} [opts.addressKey] the budget key of an address
 * @param {(req: import('node:http').IncomingMessage) => boolean} opts.originAllowed
 * @param {number} opts.maxConnectionsPerIp
 * @param {number} opts.connectsPerMin
 * @param {number} opts.connectBurst
 * @param {{ blockedMs: (ip: string) => number }} opts.offenders
 * @param {(info: {reason: string, ip: string, origin?: string, retryAfterMs?: number}) => void} opts.onRefused
 * @param {() => number} [opts.now]
 */
export function createAdmission({ clientIp, addressKey = (ip) => ip, originAllowed, maxConnectionsPerIp, connectsPerMin, connectBurst, offenders, onRefused, now = () => performance.now() }) {
  const open = new Map(); // ip → open connections
  const reserved = new Map(); // ip → [expiry, …] of handshakes in progress
  const connects = createKeyedBuckets({ ...perMinute(connectsPerMin, connectBurst), now });
  /** @type {WeakMap<object, {ip: string, key: string, reserved: boolean}>} request → its address */
  const addresses = new WeakMap();

  function liveReservations(ip, t) {
    const list = reserved.get(ip);
    if (!list) return 0;
    while (list.length && list[0] <= t) list.shift();
    if (!list.length) reserved.delete(ip);
    return list.length;
  }

  function refuse(reason, ip, req, callback, message = reason, retryAfterMs = undefined) {
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin.slice(0, 200) : undefined;
    onRefused({ reason, ip, origin, retryAfterMs });
    callback(message, false);
  }

  return {
    /** engine.io `allowRequest(req, callback)` */
    allowRequest(req, callback) {
      const ip = clientIp(req);
      const key = addressKey(ip);
      const address = { ip, key, reserved: false };
      addresses.set(req, address);
      const blocked = offenders.blockedMs(key);
      if (blocked > 0) {
        const retryAfterMs = Math.ceil(blocked);
        const message = `${ErrorCode.ADDRESS_BLOCKED}: connections from this address were cut for flooding too often; try again in ${Math.ceil(blocked / 1000)} s (retryAfterMs ${retryAfterMs})`;
        return refuse('address blocked', ip, req, callback, message, retryAfterMs);
      }
      if (!originAllowed(req)) return refuse('origin not allowed', ip, req, callback);
      const t = now();
      if ((open.get(key) ?? 0) + liveReservations(key, t) >= maxConnectionsPerIp) {
        return refuse('too many connections from this address', ip, req, callback);
      }
      if (!connects.take(key)) return refuse('too many new connections from this address', ip, req, callback);
      let list = reserved.get(key);
      if (!list) reserved.set(key, (list = []));
      list.push(t + RESERVATION_MS);
      address.reserved = true;
      callback(null, true);
    },

    /** engine.io 'connection': the reservation becomes an open connection. */
    onConnection(conn) {
      const address = conn.request ? addresses.get(conn.request) : undefined;
      const ip = address?.ip ?? clientIp(conn.request);
      const key = address?.key ?? addressKey(ip);
      if (address?.reserved) {
        address.reserved = false;
        const list = reserved.get(key);
        if (list?.length) list.shift();
        if (list && !list.length) reserved.delete(key);
      }
      open.set(key, (open.get(key) ?? 0) + 1);
      conn.once('close', () => {
        const n = (open.get(key) ?? 1) - 1;
        if (n > 0) open.set(key, n);
        else open.delete(key);
      });
      return ip;
    },

    /** engine.io 'connection_error' after allowRequest: free the slot. */
    onConnectionError({ req }) {
      const address = req ? addresses.get(req) : undefined;
      if (!address?.reserved) return;
      address.reserved = false;
      const list = reserved.get(address.key);
      if (list?.length) list.shift();
    },

    /** The address allowRequest resolved for `req`, if it saw it. */
    addressOf: (req) => (req ? addresses.get(req) : undefined),
    openFrom: (ip) => open.get(ip) ?? 0,
    sweep: () => connects.sweep(),
  };
}
