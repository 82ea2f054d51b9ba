// Relayed SDP without serializing it again. Encoding the relayed packet was
// the largest single cost of a relay (JSON.stringify escaping ~1.3 KB of SDP
// that is itself JSON in the seed format: ≈ 3.4 µs of ≈ 25, bench/relay_cost.js),
// and the SDP's JSON text is already at hand: it arrived as a JSON string
// literal (or object) inside the payload's text, which JSON.parse has just
// accepted. So the relayed Socket.IO packet is built from that text; every
// other field is one the schema validated and is serialized as usual.

import { endOfString } from './json_limits.js';

/** Socket.IO EVENT packet type, default namespace, no ack id. */
const EVENT = '2';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isSpace = (c) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

// text[start, end) without the white space before `end`.
function valueText(text, start, end) {
  let e = end;
  while (e > start && isSpace(text.charCodeAt(e - 1))) e--;
  return text.slice(start, e);
}

/**
 * The JSON text of the value of the top-level field `key` in `text`, the
 * JSON text of an object that JSON.parse accepted (and whose depth was
 * checked), or undefined. Like JSON.parse, the last of duplicate keys wins.
 * A key written with escapes (which might spell `key`) gives undefined:
 * then the caller serializes as usual. One pass; string bodies are skipped
 * with indexOf.
 * @param {string} text
 * @param {string} key plain ASCII, no quotes or backslashes
 */
export function rawFieldValue(text, key) {
  let depth = 0;
  let expectKey = false;
  let start = -1; // value of a matching key being read
  let found;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = endOfString(text, i);
      if (end < 0) return undefined;
      if (depth === 1 && expectKey) {
        expectKey = false;
        for (let j = i + 1; j < end; j++) if (text.charCodeAt(j) === BACKSLASH) return undefined;
        if (end - i - 1 === key.length && text.startsWith(key, i + 1)) {
          // Past the colon and any space: the value starts here.
          let j = end + 1;
          while (isSpace(text.charCodeAt(j)) || text.charCodeAt(j) === 0x3a /* : */) j++;
          start = j;
          i = j - 1;
          continue;
        }
      }
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth === 0) expectKey = c === 0x7b;
      depth++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
      if (depth === 0 && start >= 0) {
        found = valueText(text, start, i);
        start = -1;
      }
    } else if (c === 0x2c /* , */ && depth === 1) {
      if (start >= 0) {
        found = valueText(text, start, i);
        start = -1;
      }
      expectKey = true;
    }
  }
  return found;
}

/**
 * The Socket.IO packet text for `socket.emit(event, payload)`, with the
 * value of `rawKey` taken as given JSON text (see rawFieldValue) instead of
 * serialized. Fields are written in the payload's order.
 * @param {string} event a plain event name (no escaping needed)
 * @param {Record<string, unknown>} payload
 * @param {string} rawKey
 * @param {string} rawText
 */
export function encodeEventWithRaw(event, payload, rawKey, rawText) {
  let out = `${EVENT}["${event}",{`;
  let first = true;
  for (const key in payload) {
    const v = payload[key];
    if (v === undefined) continue;
    out += `${first ? '' : ','}"${key}":${key === rawKey ? rawText : JSON.stringify(v)}`;
    first = false;
  }
  return `${out}}]`;
}

/**
 * The pre-encoded relay of an SDP-carrying payload, or undefined when the
 * SDP's text is not known exactly (then the relay encodes as usual).
 * @param {string} event
 * @param {Record<string, unknown>} payload holds `sdp`
 * @param {string | undefined} text the received payload's JSON text
 */
export function encodeSdpRelay(event, payload, text) {
  if (text === undefined) return undefined;
  const sdp = rawFieldValue(text, 'sdp');
  return sdp === undefined ? undefined : encodeEventWithRaw(event, payload, 'sdp', sdp);
}
