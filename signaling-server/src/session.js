// Per-connection lifecycle: authenticate (claim an ID), dispatch client
// events to handlers, release the ID on disconnect.
//
// All work for one socket runs through a promise chain. That gives two
// guarantees the async registry would otherwise break: events are handled
// (and relayed) in the order the client sent them — an ICE candidate never
// overtakes its offer — and nothing is dispatched before the socket owns an
// ID, nor released before the claim finished.
//
// Two ways to end a session from here:
//   kick      the refusal is final (ID_TAKEN, INVALID_ID, INVALID_TOKEN,
//             SESSION_REPLACED): error, then a Socket.IO DISCONNECT packet;
//             clients do not reconnect on "io server disconnect", and with
//             the same auth they would only be refused again.
//   softKick  the refusal is for now (RATE_LIMITED, REGISTRY_FULL, INTERNAL
//             during connect, flooding): error, then the transport is
//             closed. Clients see "transport close" and reconnect by
//             themselves after their back-off — by then the budget that
//             refused them has refilled (it is kept per ID and address, so
//             reconnecting sooner gains nothing).

import { isStrongToken } from './auth_guard.js';
import { ClientError, ErrorCode, emitError, makeError } from './errors.js';
import { gateFrames } from './frame_gate.js';
import { handlers } from './handlers/index.js';
import { isPromise } from './maybe_async.js';
import { generateId, generateToken, isValidCallId, isValidId, isValidToken } from './ids.js';
import { RATE_LIMIT_SIGNAL } from './parser.js';
import { readerPauseMs } from './reader_pause.js';
import { decodePayload, validate } from './schema.js';
import { capSendBuffer } from './send_buffer.js';

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
  dropAfterGrace(socket.conn);
}

/**
 * Send `error`, then close the transport once it has been written: the
 * client reconnects on its own (see the file comment).
 */
export function softKick(socket, error, sendError = emitError) {
  sendError(socket, error);
  const conn = socket.conn;
  // engine.io closes once its write buffer has drained, so the error goes
  // out first; a client not reading its socket is dropped after the grace.
  conn.close();
  dropAfterGrace(conn);
}

function dropAfterGrace(conn) {
  const timer = setTimeout(() => {
    if (conn.readyState !== 'closed') {
      const ws = conn.transport?.name === 'websocket' ? conn.transport.socket : null;
      if (ws?.terminate) ws.terminate();
      else conn.close(true);
    }
  }, KICK_GRACE_MS);
  timer.unref();
  conn.once('close', () => clearTimeout(timer));
}

/**
 * @param {object} ctx server context: { io, registry, relay, config, log,
 *   warn (throttled logger), sendError, iceServers, iceRequests, authGuard,
 *   registrations, clientIp, addressKey, addressOf (src/admission.js), offenders (src/offenders.js), metrics, pending,
 *   timers (setTimeout for the reader pauses) }
 * @param {import('socket.io').Socket} socket
 */
export function attachSession(ctx, socket) {
  const session = new Session(ctx, socket);
  const { decoder } = session;
  // The few functions a connection needs (listeners and callbacks) share
  // one small context; everything else is a method. A closure per method
  // per connection was ≈ 1 KB of heap for every idle client
  // (bench/conn_memory.js).
  if (decoder) {
    decoder.onThrottle = (waitMs) => session.pauseReader(waitMs);
    // From now on the budgets see WebSocket frames before they are decoded.
    gateFrames(socket.conn, decoder, (err) => session.frameGateFailed(err));
  }
  capSendBuffer(socket.conn, ctx.config.maxSendBufferBytes, (bytes) => session.sendBufferOverflow(bytes));
  // Every client event comes here ([event, ...args]), in place of
  // Socket.IO's own dispatch: that would pass it through its middleware
  // chain and a process.nextTick to emit it to `socket.on(event)`
  // listeners, of which there are none (a closure, a tick and an emit per
  // message for nothing), and an `onAny` listener would cost every socket
  // an array of listeners. (Socket.IO's own events, 'disconnect' included,
  // do not go this way.)
  socket.dispatch = (packet) => session.onEvent(packet[0], packet.slice(1));
  socket.on('disconnect', (reason) => session.onDisconnect(reason));
  session.enqueue(() => session.authenticate());
}

class Session {
  constructor(ctx, socket) {
    this.ctx = ctx;
    this.socket = socket;
    /** @type {string|null} */
    this.id = null;
    const conn = socket.conn;
    const address = ctx.addressOf?.(conn.request);
    this.ip = address?.ip ?? ctx.clientIp(conn.request);
    // Budgets are kept per address key (an IPv6 address by its prefix); logs
    // name the address itself.
    this.key = address?.key ?? ctx.addressKey(this.ip);
    // The connection's decoder (src/parser.js) spends from the address's
    // budgets from now on, and from the ID's once registered.
    this.decoder = socket.client.decoder;
    this.budget = this.decoder?.budget;
    this.budget?.setIp(this.key);
    // The last step still running for this socket, or null when none is.
    this.tail = null;
    // { ws, timer } while the reader is paused.
    this.paused = null;
  }

  frameGateFailed(err) {
    this.ctx.log.error({ err, id: this.id, socketId: this.socket.id }, 'frame gate failed');
    this.socket.conn.close();
  }

  sendBufferOverflow(bytes) {
    const { ctx } = this;
    ctx.metrics?.dropped('send_buffer');
    ctx.warn.warn('send buffer overflow', { id: this.id, socketId: this.socket.id, ip: this.ip, bytes, limit: ctx.config.maxSendBufferBytes }, 'send buffer overflow');
  }

  // A failure becomes INTERNAL for this socket only and never reaches the
  // process. `event` is the client event being handled (absent for
  // connect/disconnect work).
  failed(err, event) {
    const { ctx, socket } = this;
    ctx.log.error({ err, event: describeEvent(event), id: this.id, socketId: socket.id }, 'handler failed');
    if (!socket.connected) return;
    const what = event === undefined ? 'your connection' : event;
    const error = makeError(ErrorCode.INTERNAL, `internal server error while handling ${what}`, { event });
    // Without an ID the connection is useless: end it so the client
    // notices and reconnects, instead of idling unregistered.
    if (this.id) ctx.sendError(socket, error);
    else softKick(socket, error, ctx.sendError);
  }

  // Run `fn` after everything queued before it. When nothing is pending it
  // runs at once, and if it finishes without waiting (memory stores, online
  // target: the usual relay) nothing is queued at all; otherwise later work
  // waits for it. Returns the pending promise, or undefined if done.
  enqueue(fn, event) {
    if (this.tail !== null) return this.track(this.tail.then(fn).catch((err) => this.failed(err, event)));
    let result;
    try {
      result = fn();
    } catch (err) {
      this.failed(err, event);
      return undefined;
    }
    return isPromise(result) ? this.track(result.catch((err) => this.failed(err, event))) : undefined;
  }

  track(p) {
    this.tail = p;
    p.then(() => {
      if (this.tail === p) this.tail = null;
    });
    return p;
  }

  // Stop reading this connection while its budget refills (ws only; see
  // src/reader_pause.js).
  // Frames refused while already paused (the rest of the chunk being read)
  // change nothing; each new pause is a strike until a frame is admitted.
  pauseReader(waitMs) {
    const transport = this.socket.conn.transport;
    if (transport?.name !== 'websocket') return;
    const ws = transport.socket;
    if (!ws || ws.isPaused || ws.readyState !== 1) return;
    ws.pause();
    const timer = this.ctx.timers.setTimeout(() => this.resumeReader(), readerPauseMs(waitMs, ++this.decoder.strikes));
    timer.unref();
    this.paused = { ws, timer };
  }

  resumeReader() {
    const { paused } = this;
    if (paused === null) return;
    this.ctx.timers.clearTimeout(paused.timer);
    paused.ws.resume();
    this.paused = null;
  }

  reject(code, message, id, { soft = false, retryAfterMs } = {}) {
    const { ctx, socket } = this;
    const error = makeError(code, message, { retryAfterMs });
    if (soft) softKick(socket, error, ctx.sendError);
    else kick(socket, error, ctx.sendError);
    // Log the requested ID only once it is known to be well-formed.
    ctx.warn.warn(`rejected ${code}`, { code, id, socketId: socket.id, ip: this.ip }, 'connection rejected');
  }

  // Tell a socket (possibly on another node) it lost its ID, then drop it.
  replace(oldSocketId, id) {
    const { io, sendError, log } = this.ctx;
    const error = makeError(ErrorCode.SESSION_REPLACED, `id ${id} was claimed by a new connection with its token`);
    const local = io.of('/').sockets.get(oldSocketId);
    if (local) {
      kick(local, error, sendError);
    } else {
      sendError(io.to(oldSocketId), error);
      io.in(oldSocketId).disconnectSockets();
    }
    log.info({ id, socketId: oldSocketId, replacedBy: this.socket.id }, 'session replaced');
  }

  // Spend one of this address's new-ID tokens; refuse if there is none.
  chargeRegistration(id) {
    const { ctx, key } = this;
    if (ctx.registrations.take(key)) return true;
    this.reject(ErrorCode.RATE_LIMITED, `too many new ids from your address: the limit is ${ctx.config.ipRegistrationsPerHour}/hour, burst ${ctx.config.ipRegistrationBurst}`, id, {
      soft: true,
      retryAfterMs: ctx.registrations.waitMs(key),
    });
    return false;
  }

  async authenticate() {
    const { ctx, socket, key } = this;
    const { registry } = ctx;
    const auth = socket.handshake.auth ?? {};
    // serde's Option<T> serializes None as null: treat null as absent.
    const wantedId = auth.id ?? undefined;
    const givenToken = auth.token ?? undefined;
    if (wantedId !== undefined && !isValidId(wantedId)) {
      return this.reject(ErrorCode.INVALID_ID, 'id must be 3-32 characters of a-z, 0-9 and "-", not starting or ending with "-"');
    }
    if (givenToken !== undefined && !isValidToken(givenToken)) {
      return this.reject(ErrorCode.INVALID_TOKEN, 'token must be 16-128 characters of A-Z, a-z, 0-9, "_" and "-"');
    }

    // A missing token gets a fresh random one: for a free ID that becomes
    // the ID's token; for a taken ID it cannot match, giving ID_TAKEN.
    const token = givenToken ?? generateToken();
    const tooWeak = () =>
      this.reject(ErrorCode.INVALID_TOKEN, 'token too weak for a new id: send none and keep the one in "registered", or choose at least 128 random bits (e.g. 32 random base64url characters)');
    let id = wantedId;
    let result;
    if (id === undefined) {
      if (givenToken !== undefined && !isStrongToken(givenToken)) return tooWeak();
      if (!this.chargeRegistration(undefined)) return undefined;
      for (let i = 0; i < MAX_ID_ATTEMPTS && !result?.ok && result?.code !== 'REGISTRY_FULL'; i++) {
        id = generateId();
        result = await registry.claim(id, token, socket.id);
      }
      if (result.code === 'REGISTRY_FULL') return this.registryFull();
      if (!result.ok) throw new Error('could not allocate a unique id');
    } else {
      const wait = ctx.authGuard.waitMs(id, key);
      if (wait > 0) {
        return this.reject(ErrorCode.RATE_LIMITED, `too many wrong tokens from your address: try again in ${Math.ceil(wait / 1000)} s`, id, { soft: true, retryAfterMs: wait });
      }
      const existing = await registry.lookup(id);
      if (!existing) {
        // A new ID: the token will protect it for ID_TTL_SECONDS, so it must
        // be one nobody can guess, and new IDs per address are limited.
        if (givenToken !== undefined && !isStrongToken(givenToken)) return tooWeak();
        if (!this.chargeRegistration(id)) return undefined;
      }
      result = await registry.claim(id, token, socket.id);
      if (result.code === 'REGISTRY_FULL') return this.registryFull();
      if (!result.ok) {
        ctx.authGuard.failed(id, key);
        return this.reject(ErrorCode.ID_TAKEN, `id ${id} is already taken`, id);
      }
    }

    this.id = id;
    this.budget?.bindId(id);
    if (result.previousSocketId && result.previousSocketId !== socket.id) this.replace(result.previousSocketId, id);
    if (!result.reclaimed) await ctx.relay.failQueued(id);

    socket.emit('your_id', id);
    socket.emit('registered', { id, token, reclaimed: result.reclaimed });
    // Before any queued offer: answering it may already need TURN.
    socket.emit('ice_servers', ctx.iceServers.issue(id));
    ctx.log.info({ id, socketId: socket.id, ip: this.ip, reclaimed: result.reclaimed, transport: socket.conn.transport.name }, 'connect');
    if (result.reclaimed) await ctx.relay.deliverQueued(id, socket.id);
  }

  registryFull() {
    this.ctx.metrics?.dropped('registry_full');
    return this.reject(ErrorCode.REGISTRY_FULL, 'the server cannot take new ids right now; try again later', undefined, { soft: true, retryAfterMs: 60_000 });
  }

  clientError(event, err, data) {
    const details = { event, retryAfterMs: err.details?.retryAfterMs };
    if (typeof data?.targetClientId === 'string') details.targetClientId = data.targetClientId;
    if (isValidCallId(data?.callId)) details.callId = data.callId;
    this.ctx.sendError(this.socket, makeError(err.code, err.message, details));
    this.ctx.warn.warn(`client error ${err.code}`, { code: err.code, event, id: this.id, socketId: this.socket.id, ip: this.ip }, 'client error');
  }

  // Handle one client event: synchronous when nothing has to be waited for,
  // else a promise. Client errors are answered here; anything else throws.
  dispatch(event, args, receivedAt) {
    const from = this.id;
    if (!from) return undefined; // rejected during authentication; being disconnected
    const handler = handlers.get(event);
    if (!handler) {
      // Event names are usually strings, but a binary packet can carry any
      // JSON value there; never let one reach a string method.
      const name = String(event);
      const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
      return this.clientError(name, new ClientError(ErrorCode.UNKNOWN_EVENT, `unknown event "${shown}"`));
    }
    const { ctx, socket } = this;
    let data;
    try {
      let result;
      if (handler.acceptsAnyPayload) {
        result = handler.handle(ctx, { from, ip: this.key, reply: (name, payload) => socket.emit(name, payload) });
      } else {
        const decoded = decodePayload(args, ctx.config.maxPayloadBytes);
        data = decoded.data;
        const value = validate(handler.schema, data);
        if (value.targetClientId === from) {
          throw new ClientError(ErrorCode.INVALID_TARGET, `cannot send ${event} to yourself`);
        }
        result = handler.handle(ctx, { from, value, bytes: decoded.bytes, text: decoded.text, receivedAt, ip: this.key });
      }
      // A closure only for work that has to wait (Redis, an offline target).
      return isPromise(result) ? result.catch((err) => this.answer(event, err, data)) : undefined;
    } catch (err) {
      return this.answer(event, err, data);
    }
  }

  // A client error is answered; anything else is the server's and goes on.
  answer(event, err, data) {
    if (!(err instanceof ClientError)) throw err;
    this.clientError(event, err, data);
  }

  // Reported by the connection's decoder (src/parser.js), before parsing.
  onRateLimited({ dropped, disconnect }) {
    const { ctx, socket, ip } = this;
    const { config, warn } = ctx;
    const limits = `${config.rateLimitPerSec} messages/s (burst ${config.rateLimitBurst}) and ${config.byteRatePerSec} bytes/s (burst ${config.byteBurst}) per client, ${config.ipRateLimitPerSec} messages/s and ${config.ipByteRatePerSec} bytes/s per address`;
    ctx.metrics?.dropped(disconnect ? 'flood' : 'rate');
    if (disconnect) {
      softKick(socket, makeError(ErrorCode.RATE_LIMITED, `disconnected for flooding: far more than ${limits}`), ctx.sendError);
      warn.warn('flood disconnect', { code: ErrorCode.RATE_LIMITED, id: this.id, socketId: socket.id, ip, dropped }, 'flood disconnect');
      // Too many of these and the address is refused at the handshake.
      const blockMs = ctx.offenders.cut(this.key);
      if (blockMs > 0) warn.warn('address blocked', { ip, blockMs }, 'address blocked');
      return;
    }
    ctx.sendError(socket, makeError(ErrorCode.RATE_LIMITED, `too many messages: the limits are ${limits}; ${dropped} dropped`, { retryAfterMs: this.budget?.waitMs(0) }));
    warn.warn('rate limited', { code: ErrorCode.RATE_LIMITED, id: this.id, socketId: socket.id, ip, dropped }, 'rate limited');
  }

  onEvent(event, args) {
    if (event === RATE_LIMIT_SIGNAL) return this.onRateLimited(args[0]);
    const receivedAt = performance.now();
    if (this.tail === null) {
      // Nothing pending (the usual case): no closure, no promise.
      let result;
      try {
        result = this.dispatch(event, args, receivedAt);
      } catch (err) {
        this.failed(err, event);
        return undefined;
      }
      if (isPromise(result)) this.track(result.catch((err) => this.failed(err, event)));
      return undefined;
    }
    this.enqueue(() => this.dispatch(event, args, receivedAt), event);
    return undefined;
  }

  onDisconnect(reason) {
    // A closing connection must read the client's close frame, or it would
    // wait out ws's closing timeout.
    this.resumeReader();
    // Let server.close() wait for the release so a clean shutdown leaves
    // the registry (Redis) consistent.
    const done = this.enqueue(() => this.release(reason));
    if (!done) return;
    const { pending } = this.ctx;
    pending.add(done);
    done.finally(() => pending.delete(done));
  }

  async release(reason) {
    const { id } = this;
    if (!id) return;
    const released = await this.ctx.registry.release(id, this.socket.id);
    this.ctx.log.info({ id, socketId: this.socket.id, reason, released }, 'disconnect');
  }
}

// Only strings are safe to log as event names (see dispatch).
const describeEvent = (event) => (event === undefined ? undefined : String(event).slice(0, 64));
