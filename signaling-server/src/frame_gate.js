// The connection's budgets, spent on each WebSocket frame as ws hands it
// over, before engine.io turns it into a string. A refused frame then costs
// a length check and a few bucket updates: no 64 KB UTF-8 decode into a new
// heap string (which the next scavenge would have to sweep), no Engine.IO or
// Socket.IO packet handling. Frames past the largest allowed message
// (maxHttpBufferSize, ws `maxPayload`) never get this far: ws refuses those
// by the length in their header and closes the connection.
//
// engine.io's WebSocket transport listens for ws 'message' and passes the
// frame on as a string; the gate takes that listener's place and calls it
// only for frames the budgets admit. The budget check in the decoder
// (src/parser.js) stays for long-polling and is skipped once the gate is in
// place (`decoder.gated`): a frame is charged exactly once.
//
// Sizes are the frame's UTF-8 bytes without Engine.IO's "4": what the
// decoder would have charged for an ASCII packet, more for other text.

import { isReplyFrame, MAX_REPLY_FRAME } from './budgets.js';

const MESSAGE = 0x34; // "4": an Engine.IO message (a Socket.IO packet)

/**
 * Gate the connection's WebSocket transport, now or once it upgrades to one.
 * @param {import('engine.io').Socket} conn
 * @param {{ admitPacket: (bytes: number, reply: boolean, head: Buffer) => boolean, gated: boolean }} decoder
 *   the connection's GuardedDecoder
 * @param {(err: Error) => void} onError a refusal's handling threw: this
 *   runs in ws's read loop, where an exception would take the process down
 *   (socket.io's own decoder call closes the connection on one)
 * @returns {boolean} whether the current transport is gated
 */
export function gateFrames(conn, decoder, onError) {
  conn.on('upgrade', (transport) => gateTransport(transport, decoder, onError));
  return gateTransport(conn.transport, decoder, onError);
}

function admit(decoder, frame, onError) {
  try {
    return decoder.admitPacket(frame.length - 1, isReply(frame), frame);
  } catch (err) {
    onError(err);
    return false;
  }
}

function gateTransport(transport, decoder, onError) {
  if (transport?.name !== 'websocket' || decoder.gated) return decoder.gated;
  const ws = transport.socket;
  const listeners = ws?.listeners('message') ?? [];
  // Only engine.io's own listener is expected; anything else and the
  // decoder keeps charging (never both, never neither).
  if (listeners.length !== 1) return false;
  const deliver = listeners[0];
  ws.removeListener('message', deliver);
  ws.on('message', (data, isBinary) => {
    // Binary frames are attachments, charged by the decoder; ws delivers
    // Buffers (engine.io keeps its default binaryType).
    if (!isBinary && data[0] === MESSAGE && !admit(decoder, data, onError)) return;
    deliver(data, isBinary);
  });
  decoder.gated = true;
  return true;
}

// Only a small frame can be an automatic reply; only those are looked at.
const isReply = (frame) => frame.length <= MAX_REPLY_FRAME + 1 && isReplyFrame(frame.latin1Slice(1, frame.length));
