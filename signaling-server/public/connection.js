// The connection to the signaling server: registration with a remembered ID,
// and getting back online after any disconnect with that same ID.
//
// The identity is presented as the desktop client presents it
// (src/signaling/client.rs): Socket.IO `auth` {id, token} on every connect and
// reconnect, the token being the one `registered` gave us (PROTOCOL.md,
// "Identity"). Socket.IO reconnects by itself after a lost transport, but not
// after the server closed the session ("io server disconnect": kicked for
// flooding, an internal error during connect, …); we reconnect then too, with
// a backoff, unless the server ended the session for good (SESSION_REPLACED:
// another tab holds the ID now and reconnecting would steal it back).

/** Errors that come before "io server disconnect" and what they mean for us. */
export function afterServerError(err) {
  switch (err?.code) {
    case 'SESSION_REPLACED':
      return 'replaced';
    case 'ID_TAKEN':
      return 'new-identity';
    case 'INVALID_ID':
    case 'INVALID_TOKEN':
      // Connection-level (no event): our stored identity is unusable. With an
      // event it is about a message we sent, and the connection stays open.
      return err.event ? null : 'new-identity';
    default:
      return null;
  }
}

export const BACKOFF = Object.freeze({ firstMs: 1000, maxMs: 30_000 });

/** Delay before manual reconnect attempt `n` (1-based): doubling, capped, ±50 % jitter. */
export function backoffDelay(n, random = Math.random) {
  const base = Math.min(BACKOFF.maxMs, BACKOFF.firstMs * 2 ** Math.max(0, n - 1));
  return Math.round(base * (0.5 + random()));
}

/** The stored {id, token}, or {} when there is none or it is unreadable. */
export function loadIdentity(storage, key) {
  try {
    const saved = JSON.parse(storage.getItem(key) ?? 'null');
    if (saved && typeof saved.id === 'string' && typeof saved.token === 'string') return { id: saved.id, token: saved.token };
  } catch {
    // Corrupt storage: start over with a fresh ID.
  }
  return {};
}

function saveIdentity(storage, key, id, token) {
  try {
    storage.setItem(key, JSON.stringify({ id, token }));
  } catch {
    // Storage full or disabled (private mode): the ID lasts as long as the page.
  }
}

function forgetIdentity(storage, key) {
  try {
    storage.removeItem(key);
  } catch {
    // As above.
  }
}

/**
 * @param {object} opts
 * @param {(url: string | undefined, options: object) => any} opts.io socket.io-client's io()
 * @param {string} [opts.url] server URL (the page's origin when undefined)
 * @param {Storage} opts.storage localStorage or a stand-in
 * @param {string} opts.key storage key of the identity
 * @param {object} opts.on callbacks: status({server, detail, attempt, canReclaim}), registered({id, reclaimed,
 *   previousId}), iceServers({iceServers, ttl}), serverError(err), message(event, payload)
 * @param {{ setTimeout: typeof setTimeout, clearTimeout: typeof clearTimeout }} [opts.timers]
 * @param {() => number} [opts.random]
 * @param {object} [opts.socketOptions] extra socket.io-client options
 * @param {string[]} [opts.messages] relayed events passed to on.message
 */
export function createConnection({ io, url, storage, key, on, timers = globalThis, random = Math.random, socketOptions = {}, messages = [] }) {
  const remembered = loadIdentity(storage, key);
  const socket = io(url, { auth: remembered, reconnectionDelay: 500, reconnectionDelayMax: 10_000, ...socketOptions });
  let attempt = 0;
  let retryTimer = null;
  // What the last error before a server disconnect said about the session.
  let verdict = null;
  let claimedId = remembered.id ?? null;
  let stopped = false;

  const status = (server, detail = null, extra = {}) => on.status?.({ server, detail, attempt, canReclaim: false, ...extra });

  function retry(detail) {
    attempt += 1;
    status('reconnecting', detail);
    timers.clearTimeout(retryTimer);
    retryTimer = timers.setTimeout(() => {
      retryTimer = null;
      if (!stopped && !socket.connected) socket.connect();
    }, backoffDelay(attempt, random));
  }

  socket.on('registered', ({ id, token, reclaimed }) => {
    attempt = 0;
    verdict = null;
    const previousId = claimedId !== null && claimedId !== id ? claimedId : null;
    claimedId = id;
    if (typeof token === 'string' && token !== '') {
      saveIdentity(storage, key, id, token);
      // Every later connect, automatic or ours, presents it.
      socket.auth = { id, token };
    }
    status('online');
    on.registered?.({ id, reclaimed: Boolean(reclaimed), previousId });
  });

  socket.on('ice_servers', (payload) => on.iceServers?.(payload));

  socket.on('server_error', (err) => {
    const next = afterServerError(err);
    if (next) verdict = { next, err };
    on.serverError?.(err);
  });

  for (const event of messages) socket.on(event, (payload) => on.message?.(event, payload));

  socket.on('disconnect', (reason) => {
    if (stopped || reason === 'io client disconnect') return;
    if (reason !== 'io server disconnect') {
      // Socket.IO reconnects by itself (reconnect_attempt counts the tries).
      attempt = Math.max(attempt, 1);
      status('reconnecting', 'connection lost');
      return;
    }
    const why = verdict;
    verdict = null;
    if (why?.next === 'replaced') {
      status('offline', 'this ID is now open in another tab or window', { canReclaim: true });
      return;
    }
    if (why?.next === 'new-identity') {
      // Our remembered ID belongs to someone else now (or is unusable): take a new one.
      forgetIdentity(storage, key);
      socket.auth = {};
    }
    retry(why ? why.err.message : 'the server closed the connection');
  });

  socket.io.on('reconnect_attempt', (n) => {
    attempt = n;
    status('reconnecting', 'connection lost');
  });
  socket.on('connect_error', (err) => {
    if (!socket.active) {
      // Refused by the server's middleware: Socket.IO will not retry on its own.
      retry(err?.message ?? 'connection refused');
    }
  });

  return {
    socket,
    send: (event, payload) => socket.emit(event, payload),
    get connected() {
      return socket.connected;
    },
    /** Reconnect now (after SESSION_REPLACED: take the ID back into this tab). */
    reconnect() {
      timers.clearTimeout(retryTimer);
      retryTimer = null;
      if (socket.connected) return;
      status('connecting');
      socket.connect();
    },
    close() {
      stopped = true;
      timers.clearTimeout(retryTimer);
      socket.disconnect();
    },
  };
}
