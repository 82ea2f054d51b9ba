// socket.io packet decoder with the abuse checks that must happen *before*
// a frame is parsed: socket.io builds one Decoder per connection (the
// documented `parser` server option), so it is the cheapest place to
//   - spend the sender's budgets (src/budgets.js): a refused frame costs a
//     few token-bucket updates, not a JSON.parse (over WebSocket this
//     happens earlier still, on the frame before it becomes a string:
//     src/frame_gate.js calls admitPacket), and
//   - refuse frames nested deeper than any payload may be, before V8's
//     parser spends tens of milliseconds on them.
//
// It also measures what a payload weighs as it arrives (PAYLOAD_BYTES in
// src/json_limits.js): the frame is the payload's JSON as the client sent
// it, so the session never serializes a payload again to learn its size.
//
// The decoder cannot reach the socket, so it reports rate limiting in-band:
// it emits a decoded EVENT whose name is a Symbol. Symbols cannot travel
// over the wire, so no client can forge the signal. The session turns it
// into a RATE_LIMITED error or a disconnect. The session reaches the other
// way through `socket.client.decoder`: it tells the budget the client's
// address and ID, and installs `onThrottle(waitMs)` to pause the
// connection's reader; `strikes` counts those pauses since the last frame it
// admitted (src/reader_pause.js).

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isReplyFrame } from './budgets.js';
import { MAX_PAYLOAD_DEPTH, PAYLOAD_BYTES, PAYLOAD_TEXT, exceedsDepth } from './json_limits.js';

// socket.io-parser's entry for `import` under node is its debug build,
// which calls debug() (disabled, but still called) several times for every
// packet it decodes and encodes; its plain ESM build is the same code
// without those calls. Found next to the CommonJS build the package names
// for `require`, wherever the package was installed.
const cjsEntry = pathToFileURL(createRequire(import.meta.url).resolve('socket.io-parser'));
const { Decoder, Encoder, PacketType, protocol } = await import(new URL('../esm/index.js', cjsEntry).href);

export const RATE_LIMIT_SIGNAL = Symbol('voicecall.rateLimited');

// Event names whose JSON text is the name between two quotes.
const PLAIN_EVENT = /^[a-z_]{1,32}$/;

// The event array around the payload adds one level.
const MAX_FRAME_DEPTH = MAX_PAYLOAD_DEPTH + 1;

/**
 * @param {ReturnType<import('./budgets.js').createBudgets>} budgets
 * @returns a module-like object for `new Server(…, { parser })`
 */
export function createGuardedParser(budgets) {
  class GuardedDecoder extends Decoder {
    constructor(opts) {
      super(opts);
      this.budget = budgets.connection();
      /** @type {((ms: number) => void) | null} set by the session */
      this.onThrottle = null;
      // Reader pauses since the last admitted frame (counted by the
      // session): one that keeps pushing is paused for longer each time.
      this.strikes = 0;
      // Attachments still to come for a binary packet we dropped.
      this.skipAttachments = 0;
      // Set once src/frame_gate.js spends the budget on every WebSocket
      // frame before it is decoded.
      this.gated = false;
    }

    /**
     * Spend this connection's budgets on one Socket.IO packet of `bytes`;
     * false if refused (then already handled: attachments skipped, reader
     * paused, the session told). `head` is the packet's text, or the
     * WebSocket frame holding it, whichever is at hand (src/frame_gate.js).
     * @param {number} bytes
     * @param {boolean} reply the packet is an automatic reply (isReplyFrame)
     * @param {string|Buffer} head
     */
    admitPacket(bytes, reply, head) {
      const verdict = this.budget.admit(bytes, reply);
      if (verdict === 'ok') {
        this.strikes = 0;
        return true;
      }
      this.skipAttachments = declaredAttachments(head);
      this.onThrottle?.(this.budget.waitMs(bytes));
      if (verdict !== 'drop') {
        const info = { dropped: this.budget.takeDropped(), disconnect: verdict === 'disconnect' };
        this.emitReserved('decoded', { type: PacketType.EVENT, nsp: '/', data: [RATE_LIMIT_SIGNAL, info] });
      }
      return false;
    }

    add(frame) {
      if (typeof frame !== 'string') {
        // A binary attachment: paid for by its packet (at most
        // maxAttachments of them). Those of a dropped packet are dropped
        // too, or the base decoder would fail on an unexpected attachment.
        if (this.skipAttachments > 0) {
          this.skipAttachments--;
          return undefined;
        }
        this.budget.chargeBytes(frame.byteLength ?? frame.length ?? 0);
        return super.add(frame);
      }
      // Over WebSocket the budget was spent on the frame before it became
      // a string (src/frame_gate.js); long-polling packets are charged
      // here. frame.length (UTF-16 units) is what the string occupies and
      // at most what it weighs on the wire; exact UTF-8 byte counts are not
      // worth an extra pass over every frame.
      if (!this.gated && !this.admitPacket(frame.length, isReplyFrame(frame), frame)) return undefined;
      // Throwing makes socket.io close the connection ("parse error"), as
      // for any other malformed packet.
      if (exceedsDepth(frame, MAX_FRAME_DEPTH)) {
        throw new Error(`packet nested deeper than ${MAX_FRAME_DEPTH} levels`);
      }
      return super.add(frame);
    }

    decodeString(str) {
      const packet = super.decodeString(str);
      const data = packet.data;
      // ["event", {payload}]: the payload's JSON is the frame after
      // `["event",` and before the closing `]` (an ack id or a namespace in
      // the header only makes the figure a few bytes larger, never smaller).
      if (Array.isArray(data) && data.length === 2 && typeof data[0] === 'string' && data[1] !== null && typeof data[1] === 'object') {
        const open = str.indexOf('[');
        const payload = data[1];
        payload[PAYLOAD_BYTES] = Buffer.byteLength(str, 'utf8') - (open + data[0].length + 5);
        // The payload's own text, when the frame is exactly `2["event",{…}]`
        // (no space, no escape in the event name): the 2-element array
        // JSON.parse accepted, so what lies between is the payload. Binary
        // packets are left out (their text holds placeholders).
        const start = open + data[0].length + 4;
        if (
          packet.type === PacketType.EVENT &&
          PLAIN_EVENT.test(data[0]) &&
          str.charCodeAt(start) === 0x7b /* { */ &&
          str.charCodeAt(str.length - 2) === 0x7d /* } */ &&
          str.startsWith(`["${data[0]}",`, open)
        ) {
          payload[PAYLOAD_TEXT] = str.slice(start, str.length - 1);
        }
      }
      return packet;
    }
  }
  return { Encoder, Decoder: GuardedDecoder, PacketType, protocol };
}

// "51-[…]" / "61-[…]": a BINARY_EVENT/BINARY_ACK followed by 1 attachment.
// `head` is the packet's text or the WebSocket frame holding it ("451-[…]").
function declaredAttachments(head) {
  const text = typeof head === 'string' ? head : head.latin1Slice(1, Math.min(head.length, 5));
  const m = /^[56](\d{1,2})-/.exec(text);
  return m ? Math.min(Number(m[1]), 10) : 0;
}
