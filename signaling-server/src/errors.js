// Error codes sent to clients and the one helper that emits them.

export const ErrorCode = Object.freeze({
  INVALID_PAYLOAD: 'INVALID_PAYLOAD',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  INVALID_ID: 'INVALID_ID',
  INVALID_TOKEN: 'INVALID_TOKEN',
  INVALID_TARGET: 'INVALID_TARGET',
  ID_TAKEN: 'ID_TAKEN',
  SESSION_REPLACED: 'SESSION_REPLACED',
  PEER_NOT_FOUND: 'PEER_NOT_FOUND',
  UNKNOWN_EVENT: 'UNKNOWN_EVENT',
  RATE_LIMITED: 'RATE_LIMITED',
  NOT_IN_CALL: 'NOT_IN_CALL',
  REGISTRY_FULL: 'REGISTRY_FULL',
  // Only in the message of a refused handshake (HTTP 403), never as server_error.
  ADDRESS_BLOCKED: 'ADDRESS_BLOCKED',
  INTERNAL: 'INTERNAL',
});

// Echoed identifiers come from clients; cap them so an error can't be used
// to bounce large strings back or bloat logs.
const MAX_ECHO = 64;
const clip = (s) => (s.length > MAX_ECHO ? s.slice(0, MAX_ECHO) : s);

/**
 * Build the wire object `{code, message, event?, targetClientId?, callId?}`.
 * Optional fields are omitted (not null) when unknown.
 */
export function makeError(code, message, { event, targetClientId, callId, retryAfterMs } = {}) {
  if (!(code in ErrorCode)) throw new Error(`unknown error code ${code}`);
  const err = { code, message };
  if (typeof event === 'string') err.event = clip(event);
  if (typeof targetClientId === 'string') err.targetClientId = clip(targetClientId);
  if (typeof callId === 'string') err.callId = clip(callId);
  if (Number.isFinite(retryAfterMs)) err.retryAfterMs = Math.max(0, Math.ceil(retryAfterMs));
  return err;
}

/**
 * Emit an error as `server_error` and, for clients of the old course-project
 * server, as `error` — same payload on both.
 * @param {{ emit(event: string, ...args: unknown[]): unknown }} target a
 *   Socket or a broadcast operator such as `io.to(socketId)`
 */
export function emitError(target, error) {
  target.emit('server_error', error);
  target.emit('error', error);
}

/**
 * Carries a client-facing error code through validation code paths. These
 * are expected outcomes, not bugs, and a client sending garbage creates one
 * per message: skip capturing a stack trace, which dominates their cost.
 */
export class ClientError extends Error {
  constructor(code, message, details = {}) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'ClientError';
    this.code = code;
    this.details = details;
  }
}
