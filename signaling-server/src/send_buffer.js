// A cap on what the server holds for one connection that is not reading.
// A client that stops reading (but keeps its TCP connection, and even keeps
// answering heartbeats) would otherwise make every message relayed to it
// pile up in memory: in engine.io's write buffer while the transport waits
// for the previous batch to drain, then in ws's and the socket's buffers.
// Like Prosody's max_send_buffer_size and uWS's maxBackpressure: past
// MAX_SEND_BUFFER_BYTES the connection is dropped and everything held for
// it is freed. The client sees its transport close and reconnects; until it
// has, its ID is offline and messages to it go to the bounded offline queue.

// Strings are counted by length (what they occupy in memory); whatever
// the transport has not written yet is ws's bufferedAmount.
const sizeOf = (p) => (typeof p.data === 'string' ? p.data.length : p.data?.byteLength ?? 0) + 1;
const wsOf = (conn) => (conn.transport?.name === 'websocket' ? conn.transport.socket : null);

/**
 * Track one engine.io connection's unsent bytes.
 * @param {import('engine.io').Socket} conn
 * @param {number} maxBytes
 * @param {(pendingBytes: number) => void} onOverflow called once, after the
 *   connection has been dropped
 */
export function capSendBuffer(conn, maxBytes, onOverflow) {
  let overflowed = false;
  // What the packets in `counted` (conn.writeBuffer, which engine.io
  // replaces with a new array whenever it hands it over or clears it)
  // weigh: kept as packets are added while the connection is backed up, so
  // that a burst of packets queued behind a busy transport costs one
  // addition each, not a walk over all those before it. Not kept otherwise:
  // holding on to a buffer engine.io has handed over would keep its last
  // packets alive for as long as the connection idles.
  let counted = null;
  let countedBytes = 0;

  conn.on('packetCreate', (packet) => {
    if (overflowed) return;
    // Emitted just before the packet is pushed to the write buffer. The
    // common case, a connection keeping up: engine.io hands each packet to
    // the transport at once. While ws waits for the socket to take the last
    // batch, engine.io keeps new packets in its writeBuffer, so a backed-up
    // connection shows there first; only then is it looked at.
    const buffer = conn.writeBuffer;
    if (buffer.length < 4) {
      counted = null;
      return;
    }
    if (buffer !== counted) {
      counted = buffer;
      countedBytes = 0;
      for (const p of buffer) countedBytes += sizeOf(p);
    }
    countedBytes += sizeOf(packet);
    const bytes = (wsOf(conn)?.bufferedAmount ?? 0) + countedBytes;
    if (bytes <= maxBytes) return;
    overflowed = true;
    counted = null;
    drop(conn);
    onOverflow(bytes);
  });
}

/**
 * Drop the connection at once, freeing its buffers: a graceful close would
 * queue a close frame behind the data the client is not reading and hold
 * everything for ws's 30 s closing timeout.
 */
function drop(conn) {
  const ws = wsOf(conn);
  if (ws && typeof ws.terminate === 'function') ws.terminate();
  else conn.close(true);
}
