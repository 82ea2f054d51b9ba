// Depth and size limits for client JSON. Legitimate payloads nest at most 3
// levels ({sdp: {type, sdp}}), but V8 spends ~50 ms parsing a 270 KB frame
// of "[[[[…" and JSON.stringify/socket.io's encoder overflow the stack on it.
// So depth is checked on the raw text *before* JSON.parse (a linear scan
// that stops at the first bracket past the limit), and on already-parsed
// values without recursion.

/** Deepest nesting a client payload may have (the payload object is 1). */
export const MAX_PAYLOAD_DEPTH = 32;

/**
 * Set by the decoder (src/parser.js) on an object payload: its size in UTF-8
 * bytes as it arrived (the frame less the event envelope), so nobody has to
 * serialize it again to learn it. A symbol: never relayed, validated or
 * logged, and no client can set it.
 */
export const PAYLOAD_BYTES = Symbol('voicecall.payloadBytes');

/**
 * Set by the decoder next to PAYLOAD_BYTES when the frame is laid out as
 * socket.io's encoder writes it: the payload's JSON text exactly as it
 * arrived, so the relay can reuse parts of it (src/relay_encoding.js).
 */
export const PAYLOAD_TEXT = Symbol('voicecall.payloadText');

/**
 * True if the JSON text nests arrays/objects deeper than `maxDepth`.
 * Brackets inside strings do not count. Runs in O(length) with an early
 * exit, and skips string bodies with indexOf (SDP is mostly string).
 * Garbage input is fine: JSON.parse rejects it afterwards.
 */
export function exceedsDepth(text, maxDepth) {
  // A text this short cannot hold more than maxDepth open brackets.
  if (text.length <= maxDepth) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i = endOfString(text, i);
      if (i < 0) return false;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}

// Index of the quote closing the string opened at `start`, or -1.
export function endOfString(text, start) {
  let i = start;
  for (;;) {
    i = text.indexOf('"', i + 1);
    if (i < 0) return -1;
    // A quote preceded by an odd number of backslashes is escaped.
    let backslashes = 0;
    for (let j = i - 1; text.charCodeAt(j) === 0x5c; j--) backslashes++;
    if (backslashes % 2 === 0) return i;
  }
}

/**
 * Check a parsed value without recursion (so no stack overflow) and without
 * serializing it: returns 'deep' if it nests deeper than `maxDepth`,
 * 'large' if it certainly serializes to more than `maxBytes`, 'binary' if
 * it holds binary data anywhere (socket.io rebuilds Buffers from binary
 * attachments at any depth, e.g. inside a forwarded `sdp` object), else null.
 *
 * The size is a lower bound: a container is charged its minimum size (two
 * brackets, one byte per element, the commas, its keys) *before* its
 * children are looked at, so a 60,000-element array is refused in O(1);
 * a child then adds only what it needs beyond the one byte already counted.
 */
export function inspectValue(value, maxDepth, maxBytes) {
  const stack = [value, 1];
  let bytes = 1; // the top-level value's one byte
  while (stack.length) {
    const depth = stack.pop();
    const v = stack.pop();
    if (typeof v === 'string') {
      bytes += v.length + 1; // two quotes, minus the byte already counted
    } else if (v !== null && typeof v === 'object') {
      if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return 'binary';
      if (depth > maxDepth) return 'deep';
      if (Array.isArray(v)) {
        bytes += 1 + 2 * v.length - (v.length ? 1 : 0); // "[]" + elements + commas − 1
        if (bytes > maxBytes) return 'large';
        for (let i = 0; i < v.length; i++) {
          const child = v[i];
          if (typeof child === 'string' || (child !== null && typeof child === 'object')) stack.push(child, depth + 1);
        }
      } else {
        const keys = Object.keys(v);
        bytes += 1 + 2 * keys.length - (keys.length ? 1 : 0);
        for (const key of keys) bytes += key.length + 3; // "key":
        if (bytes > maxBytes) return 'large';
        for (const key of keys) {
          const child = v[key];
          if (typeof child === 'string' || (child !== null && typeof child === 'object')) stack.push(child, depth + 1);
        }
      }
    }
    if (bytes > maxBytes) return 'large';
  }
  return null;
}
