// A bare Engine.IO v4 / Socket.IO v5 client over one WebSocket, for the
// fuzzer: it can send frames no real client library would produce (broken
// packets, deep nesting, binary attachments, garbage auth), and costs far
// less than socket.io-client per connection.

import WebSocket from 'ws';

/**
 * @param {number} port
 * @param {string} authJson what follows "40" in the CONNECT packet ('' = none)
 * @param {(event: string, arg: unknown) => void} onEvent server → client events
 * @param {{ localAddress?: string, headers?: Record<string, string> }} [opts]
 *   localAddress: a 127.x.y.z source address, so that each simulated
 *   client can come from an address of its own
 * @returns {{ ws: WebSocket, ready: Promise<boolean>, closed: Promise<void>, send: (frame: string|Buffer) => void, emit: (event: string, ...args: unknown[]) => void }}
 */
export function rawConnect(port, authJson, onEvent, { localAddress, headers } = {}) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false, localAddress, headers });
  let resolveReady;
  const ready = new Promise((r) => (resolveReady = r));
  const closed = new Promise((resolve) => {
    ws.on('close', () => {
      resolveReady(false);
      resolve();
    });
    ws.on('error', () => {});
  });
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const frame = data.toString();
    const type = frame[0];
    if (type === '0') ws.send(`40${authJson}`); // engine.io open → socket.io connect
    else if (type === '2') ws.send('3'); // ping → pong
    else if (frame.startsWith('40')) resolveReady(true);
    else if (frame.startsWith('44')) onEvent('connect_error', frame.slice(2));
    else if (frame.startsWith('41')) onEvent('disconnect', null);
    else if (frame.startsWith('42')) {
      try {
        const [event, arg] = JSON.parse(frame.slice(2));
        onEvent(event, arg);
      } catch {
        // Not ours to judge.
      }
    }
  });
  const send = (frame) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(frame);
  };
  return { ws, ready, closed, send, emit: (event, ...args) => send(`42${JSON.stringify([event, ...args])}`) };
}
