#!/usr/bin/env node
// A bare socket.io relay like the course project's seed server, as the
// baseline for bench/throughput.js and bench/relay_cost.js: socket.io with
// its defaults, clients keyed by socket id, `your_id` on connect, and
// offer_sdp / answer_sdp / send_ice parsed from their JSON string and
// forwarded with `from`. No validation, no limits, no registry, no logs.
//
// PORT=0 node bench/bare_relay.js  → prints {"msg":"listening","port":…}
// PING_INTERVAL_MS / PING_TIMEOUT_MS: the heartbeat (default: socket.io's,
// 25 s / 20 s); bench/throughput.js gives it the same as the server it is
// compared with, so both pay for the same heartbeats.

import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';

/** The relay on its own HTTP server (not listening yet). */
export function createBareRelay({ pingInterval, pingTimeout } = {}) {
  const httpServer = http.createServer();
  const io = new Server(httpServer, { ...(pingInterval ? { pingInterval } : {}), ...(pingTimeout ? { pingTimeout } : {}) });
  const clients = new Map();

  function relay(socket, event, data) {
    let message;
    try {
      message = typeof data === 'string' ? JSON.parse(data) : data;
    } catch {
      return;
    }
    const target = clients.get(message?.targetClientId);
    if (!target) return;
    if (event === 'send_ice') target.emit(event, { from: socket.id, candidate: message.candidate, mid: message.mid });
    else target.emit(event, { from: socket.id, sdp: message.sdp });
  }

  io.on('connection', (socket) => {
    clients.set(socket.id, socket);
    socket.emit('your_id', socket.id);
    for (const event of ['offer_sdp', 'answer_sdp', 'send_ice']) socket.on(event, (data) => relay(socket, event, data));
    socket.on('disconnect', () => clients.delete(socket.id));
  });
  return { httpServer, io };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const ms = (name) => (process.env[name] ? Number(process.env[name]) : undefined);
  const { httpServer, io } = createBareRelay({ pingInterval: ms('PING_INTERVAL_MS'), pingTimeout: ms('PING_TIMEOUT_MS') });
  httpServer.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ msg: 'listening', port: httpServer.address().port })}\n`);
  });
  process.on('SIGTERM', () => io.close(() => process.exit(0)));
}
