// Payload decoding and validation: one schema per client event.
//
// Old course-project clients send every payload as a JSON *string*, newer
// ones send objects; both decode to the same plain object here so handlers
// never see the difference. Validation failures throw ClientError with the
// code the protocol promises (see PROTOCOL.md).

import { ClientError, ErrorCode } from './errors.js';
import { isValidCallId, isValidId } from './ids.js';
import { MAX_PAYLOAD_DEPTH, PAYLOAD_BYTES, PAYLOAD_TEXT, exceedsDepth, inspectValue } from './json_limits.js';

const MAX_REASON_CHARS = 64;
const MAX_MLINE_INDEX = 65535;

const isPlainObject = (v) => Object.prototype.toString.call(v) === '[object Object]';

function describe(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (Buffer.isBuffer(v) || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return 'binary data';
  return `a ${typeof v}`;
}

const invalid = (message) => new ClientError(ErrorCode.INVALID_PAYLOAD, message);

/**
 * Turn the raw socket.io event arguments into a plain object.
 * @param {unknown[]} args arguments as received (an ack callback, if any, is ignored)
 * @param {number} maxBytes
 * @returns {{ data: Record<string, unknown>, bytes: number, text: string | undefined }}
 *   text: the payload's JSON text as received, when known exactly
 */
export function decodePayload(args, maxBytes) {
  const raw = args.length > 0 && typeof args[0] !== 'function' ? args[0] : undefined;
  if (raw === undefined) throw invalid('payload is missing: expected a JSON object or a JSON string');

  let data;
  let bytes;
  let text;
  if (typeof raw === 'string') {
    text = raw;
    bytes = Buffer.byteLength(raw, 'utf8');
    // Size first: never spend time parsing something we will reject anyway.
    if (bytes > maxBytes) throw tooLarge(bytes, maxBytes);
    if (exceedsDepth(raw, MAX_PAYLOAD_DEPTH)) throw tooDeep();
    try {
      data = JSON.parse(raw);
    } catch {
      throw invalid('payload string is not valid JSON');
    }
    if (!isPlainObject(data)) throw invalid(`payload JSON must be an object, got ${describe(data)}`);
  } else if (isPlainObject(raw)) {
    data = raw;
    // Walk cheaply (bounded depth, early exit) before serializing: a deep
    // value would overflow JSON.stringify's stack, a huge one waste time.
    const problem = inspectValue(raw, MAX_PAYLOAD_DEPTH, maxBytes);
    if (problem === 'deep') throw tooDeep();
    if (problem === 'binary') throw invalid('binary data is not accepted anywhere in a payload');
    if (problem === 'large') throw new ClientError(ErrorCode.PAYLOAD_TOO_LARGE, `payload is larger than the limit of ${maxBytes} bytes`);
    // Measured by the decoder as it arrived; serialized only when it was not
    // (a payload that did not come from a frame).
    bytes = raw[PAYLOAD_BYTES] ?? Buffer.byteLength(JSON.stringify(raw), 'utf8');
    if (bytes > maxBytes) throw tooLarge(bytes, maxBytes);
    text = raw[PAYLOAD_TEXT];
  } else {
    throw invalid(`payload must be a JSON object or a JSON string, got ${describe(raw)}`);
  }
  return { data, bytes, text };
}

function tooDeep() {
  return invalid(`payload nests deeper than ${MAX_PAYLOAD_DEPTH} levels`);
}

function tooLarge(bytes, maxBytes) {
  return new ClientError(ErrorCode.PAYLOAD_TOO_LARGE, `payload is ${bytes} bytes, the limit is ${maxBytes}`);
}

// ---- field types -----------------------------------------------------------
// A field spec: { required?, nullable?, default?, check(value, name) }.
// `null` means "absent" for optional fields unless the field is nullable
// (serde's Option<T> serializes None as null, so Rust clients send nulls).

const targetClientId = {
  required: true,
  check(v, name) {
    if (typeof v !== 'string') throw invalid(`${name} must be a string, got ${describe(v)}`);
    if (!isValidId(v)) throw new ClientError(ErrorCode.INVALID_ID, `${name} "${v.slice(0, 64)}" is not a valid client id`);
  },
};

const sdp = {
  required: true,
  check(v, name) {
    if (typeof v === 'string') {
      if (v.length === 0) throw invalid(`${name} must not be empty`);
      return;
    }
    if (!isPlainObject(v)) throw invalid(`${name} must be a string or an object {type, sdp}, got ${describe(v)}`);
    if (v.type !== 'offer' && v.type !== 'answer') throw invalid(`${name}.type must be "offer" or "answer"`);
    if (typeof v.sdp !== 'string') throw invalid(`${name}.sdp must be a string`);
  },
};

const callId = {
  check(v, name) {
    if (!isValidCallId(v)) throw invalid(`${name} must match ^[A-Za-z0-9_-]{1,64}$`);
  },
};

const reason = {
  check(v, name) {
    if (typeof v !== 'string') throw invalid(`${name} must be a string, got ${describe(v)}`);
    if (v.length > MAX_REASON_CHARS) throw invalid(`${name} must be at most ${MAX_REASON_CHARS} characters`);
  },
};

const candidate = {
  required: true,
  // "" is meaningful: end-of-candidates.
  check(v, name) {
    if (typeof v !== 'string') throw invalid(`${name} must be a string, got ${describe(v)}`);
  },
};

const mid = {
  nullable: true,
  check(v, name) {
    if (v !== null && typeof v !== 'string') throw invalid(`${name} must be a string or null, got ${describe(v)}`);
  },
};

const mLineIndex = {
  nullable: true,
  check(v, name) {
    if (v !== null && !(Number.isInteger(v) && v >= 0 && v <= MAX_MLINE_INDEX)) {
      throw invalid(`${name} must be a non-negative integer or null`);
    }
  },
};

// The security code's commitment (PROTOCOL.md, "The security code"): a SHA-256
// digest or a 256-bit nonce, as exactly 64 lower-case hex digits.
const HEX_256 = /^[0-9a-f]{64}$/;

const hex256 = {
  check(v, name) {
    if (typeof v !== 'string' || !HEX_256.test(v)) throw invalid(`${name} must be 64 lower-case hex digits`);
  },
};

// ---- one schema per event --------------------------------------------------

export const schemas = Object.freeze({
  offer_sdp: { targetClientId, sdp, callId, sasCommit: hex256 },
  answer_sdp: { targetClientId, sdp, callId, sasNonce: hex256 },
  sas_reveal: { targetClientId, callId, nonce: { ...hex256, required: true } },
  send_ice: { targetClientId, candidate, mid, mLineIndex, callId },
  ringing: { targetClientId, callId },
  call_decline: { targetClientId, callId, reason },
  call_hangup: { targetClientId, callId, reason: { ...reason, default: 'hangup' } },
  busy: { targetClientId, callId },
});

/**
 * Validate a decoded payload against a schema. Returns a new object holding
 * only the schema's fields (unknown fields are dropped); absent optional
 * fields are left out unless they have a default.
 * @throws {ClientError}
 */
const ENTRIES = new WeakMap(); // schema → [name, spec][], computed once

export function validate(schema, data) {
  let entries = ENTRIES.get(schema);
  if (!entries) ENTRIES.set(schema, (entries = Object.entries(schema)));
  const out = {};
  for (const [name, spec] of entries) {
    let v = Object.hasOwn(data, name) ? data[name] : undefined;
    if (v === null && !spec.nullable) v = undefined;
    if (v === undefined) {
      if (spec.required) throw invalid(`missing field "${name}"`);
      if (spec.default !== undefined) out[name] = spec.default;
      continue;
    }
    spec.check(v, name);
    out[name] = v;
  }
  return out;
}
