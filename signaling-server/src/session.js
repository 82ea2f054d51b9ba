// Per-connection lifecycle: authenticate (claim an ID), dispatch client
// events to handlers, release the ID on disconnect.
//
// All work for one socket runs through a promise chain. That gives two
// guarantees the async registry would otherwise break: events are handled
// (and relayed) in the order the client sent them — an ICE candidate never
// overtakes its offer — and nothing is dispatched before the socket owns an
// ID, nor released before the claim finished.

import { ClientError, ErrorCode, emitError, makeError } from './errors.js';
import { handlers } from './handlers/index.js';
import { generateId, generateToken, isValidCallId, isValidId, isValidToken } from './ids.js';
import { RATE_LIMIT_SIGNAL } from './parser.js';
import { decodePayload, validate } from './schema.js';

const MAX_ID_ATTEMPTS = 8;
const KICK_GRACE_MS = 5000;

/**
 * Send `error`, then end the socket.io session with a DISCONNECT packet,
 * which travels after the error on the same ordered transport. The client
 * sees reason "io server disconnect" (socket.io clients do not auto-
 * reconnect on it) and closes the transport itself. Closing it from our side
 * right away would, on long-polling, leave engine.io waiting up to 30 s for
 * the next poll; so only a client that ignores the DISCONNECT gets its
 * transport dropped, after a grace period.
 * @param {(target: object, error: object) => void} [sendError] counts the
 *   error in metrics; defaults to the plain emitter
 */
export function kick(socket, error, sendError = emitError) {
  sendError(socket, error);
  socket.disconnect();
  const conn = socket.conn;
  const timer = setTimeout(() => {
    if (conn.readyState === 'open') conn.close(true);
  }, KICK_GRACE_MS);
  timer.unref();
  conn.once('close', () => clearTimeout(timer));
}

/**
 * @param {object} ctx server context: { io, registry, relay, config, log,
 *   sendError, iceServers, pending }
 * @param {import('socket.io').Socket} socket
 */
export function attachSession(ctx, socket) {
  const { io, registry, config, log, sendError } = ctx;
  const state = { id: /** @type {string|null} */ (null) };
  let tail = Promise.resolve();

  // Run `fn` after everything queued before it; a failure becomes INTERNAL
  // for this socket only and never reaches the process. `event` is the
  // client event being handled (absent for connect/disconnect work).
  function enqueue(fn, event) {
    tail = tail.then(fn).catch((err) => {
      log.error({ err, event: describeEvent(event), id: state.id, socketId: socket.id }, 'handler failed');
      if (!socket.connected) return;
      const what = event === undefined ? 'your connection' : event;
      const error = makeError(ErrorCode.INTERNAL, `internal server error while handling ${what}`, { event });
      // Without an ID the connection is useless: end it so the client
      // notices and reconnects, instead of idling unregistered.
      if (state.id) sendError(socket, error);
      else kick(socket, error, sendError);
    });
    return tail;
  }

  function reject(code, message, id) {
    kick(socket, makeError(code, message), sendError);
    // Log the requested ID only once it is known to be well-formed.
    log.warn({ code, id, socketId: socket.id }, 'connection rejected');
  }

  // Tell a socket (possibly on another node) it lost its ID, then drop it.
  function replace(oldSocketId, id) {
    const error = makeError(ErrorCode.SESSION_REPLACED, `id ${id} was claimed by a new connection with its token`);
    const local = io.of('/').sockets.get(oldSocketId);
    if (local) {
      kick(local, error, sendError);
    } else {
      sendError(io.to(oldSocketId), error);
      io.in(oldSocketId).disconnectSockets();
    }
    log.info({ id, socketId: oldSocketId, replacedBy: socket.id }, 'session replaced');
  }

  async function authenticate() {
    const auth = socket.handshake.auth ?? {};
    // serde's Option<T> serializes None as null: treat null as absent.
    const wantedId = auth.id ?? undefined;
    const givenToken = auth.token ?? undefined;
    if (wantedId !== undefined && !isValidId(wantedId)) {
      return reject(ErrorCode.INVALID_ID, 'id must be 3-32 characters of a-z, 0-9 and "-", not starting or ending with "-"');
    }
    if (givenToken !== undefined && !isValidToken(givenToken)) {
      return reject(ErrorCode.INVALID_TOKEN, 'token must be 16-128 characters of A-Z, a-z, 0-9, "_" and "-"');
    }

    // A missing token gets a fresh random one: for a free ID that becomes
    // the ID's token; for a taken ID it cannot match, giving ID_TAKEN.
    const token = givenToken ?? generateToken();
    let id = wantedId;
    let result;
    if (id === undefined) {
      for (let i = 0; i < MAX_ID_ATTEMPTS && !result?.ok; i++) {
        id = generateId();
        result = await registry.claim(id, token, socket.id);
      }
      if (!result.ok) throw new Error('could not allocate a unique id');
    } else {
      result = await registry.claim(id, token, socket.id);
      if (!result.ok) return reject(ErrorCode.ID_TAKEN, `id ${id} is already taken`, id);
    }

    state.id = id;
    if (result.previousSocketId && result.previousSocketId !== socket.id) replace(result.previousSocketId, id);
    if (!result.reclaimed) await ctx.relay.failQueued(id);

    socket.emit('your_id', id);
    socket.emit('registered', { id, token, reclaimed: result.reclaimed });
    // Before any queued offer: answering it may already need TURN.
    socket.emit('ice_servers', ctx.iceServers.issue(id));
    log.info(
      { id, socketId: socket.id, reclaimed: result.reclaimed, transport: socket.conn.transport.name },
      'connect',
    );
    if (result.reclaimed) await ctx.relay.deliverQueued(id, socket.id);
  }

  function clientError(event, err, data) {
    const details = { event };
    if (typeof data?.targetClientId === 'string') details.targetClientId = data.targetClientId;
    if (isValidCallId(data?.callId)) details.callId = data.callId;
    sendError(socket, makeError(err.code, err.message, details));
    log.warn({ code: err.code, event, id: state.id, socketId: socket.id }, 'client error');
  }

  async function dispatch(event, args, receivedAt) {
    if (!state.id) return; // rejected during authentication; being disconnected
    const handler = handlers.get(event);
    if (!handler) {
      // Event names are usually strings, but a binary packet can carry any
      // JSON value there; never let one reach a string method.
      const name = String(event);
      const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
      return clientError(name, new ClientError(ErrorCode.UNKNOWN_EVENT, `unknown event "${shown}"`));
    }
    if (handler.acceptsAnyPayload) {
      return handler.handle(ctx, { from: state.id, reply: (name, payload) => socket.emit(name, payload) });
    }
    let data;
    try {
      const decoded = decodePayload(args, config.maxPayloadBytes);
      data = decoded.data;
      const value = validate(handler.schema, data);
      if (value.targetClientId === state.id) {
        throw new ClientError(ErrorCode.INVALID_TARGET, `cannot send ${event} to yourself`);
      }
      await handler.handle(ctx, { from: state.id, value, bytes: decoded.bytes, receivedAt });
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      clientError(event, err, data);
    }
  }

  // Reported by the connection's decoder (src/parser.js), before parsing.
  function onRateLimited({ dropped, disconnect }) {
    const limits = `${config.rateLimitPerSec} messages/s, burst ${config.rateLimitBurst}`;
    if (disconnect) {
      kick(socket, makeError(ErrorCode.RATE_LIMITED, `disconnected for flooding: far more than ${limits}`), sendError);
      log.warn({ code: ErrorCode.RATE_LIMITED, id: state.id, socketId: socket.id, dropped }, 'flood disconnect');
      return;
    }
    sendError(socket, makeError(ErrorCode.RATE_LIMITED, `too many messages: the limit is ${limits}; ${dropped} dropped`));
    log.warn({ code: ErrorCode.RATE_LIMITED, id: state.id, socketId: socket.id, dropped }, 'rate limited');
  }

  async function onDisconnect(reason) {
    if (!state.id) return;
    const released = await registry.release(state.id, socket.id);
    log.info({ id: state.id, socketId: socket.id, reason, released }, 'disconnect');
  }

  socket.onAny((event, ...args) => {
    if (event === RATE_LIMIT_SIGNAL) return onRateLimited(args[0]);
    const receivedAt = performance.now();
    enqueue(() => dispatch(event, args, receivedAt), event);
  });
  socket.on('disconnect', (reason) => {
    // Let server.close() wait for the release so a clean shutdown leaves
    // the registry (Redis) consistent.
    const done = enqueue(() => onDisconnect(reason));
    ctx.pending.add(done);
    done.finally(() => ctx.pending.delete(done));
  });
  enqueue(authenticate);
}

// Only strings are safe to log as event names (see dispatch).
const describeEvent = (event) => (event === undefined ? undefined : String(event).slice(0, 64));
