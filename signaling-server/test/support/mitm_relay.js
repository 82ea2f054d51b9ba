// A malicious signaling server for the Rust man-in-the-middle test
// (tests/mitm.rs): it speaks enough of PROTOCOL.md for the voicecall client
// (your_id, registered, ice_servers, relayed call events) and lets an attacker
// read and rewrite everything.
//
// Without an attacker it relays honestly. An attacker that connects to the
// "/mitm" namespace receives every call event as `intercept`
// {event, from, to, payload} instead of its target, and makes the server emit
// anything to anyone, under any sender, with `inject` {event, from, to, payload}.
// Prints one JSON line {"msg":"listening","port":N} on stdout, like the real one.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Server } from 'socket.io';

const RELAYED = ['offer_sdp', 'answer_sdp', 'send_ice', 'ringing', 'call_decline', 'call_hangup', 'busy', 'sas_reveal'];
const httpServer = createServer();
const io = new Server(httpServer, { pingInterval: 5000, pingTimeout: 5000 });
const byId = new Map();
let attacker = null;

const payloadOf = (raw) => (typeof raw === 'string' ? JSON.parse(raw) : raw);

function deliver(event, from, to, payload) {
  const target = byId.get(to);
  if (target) target.emit(event, { ...payload, from });
}

io.of('/mitm').on('connection', (socket) => {
  attacker = socket;
  socket.on('inject', ({ event, from, to, payload }) => deliver(event, from, to, payload));
  socket.on('disconnect', () => {
    if (attacker === socket) attacker = null;
  });
  socket.emit('ready', { clients: [...byId.keys()] });
});

io.on('connection', (socket) => {
  const auth = socket.handshake.auth ?? {};
  const id = typeof auth.id === 'string' ? auth.id : `p${randomBytes(4).toString('hex')}`;
  const token = typeof auth.token === 'string' ? auth.token : randomBytes(32).toString('base64url');
  byId.set(id, socket);
  socket.emit('your_id', id);
  socket.emit('registered', { id, token, reclaimed: false });
  socket.emit('ice_servers', { iceServers: [], ttl: 0 });
  socket.on('disconnect', () => {
    if (byId.get(id) === socket) byId.delete(id);
  });
  for (const event of RELAYED) {
    socket.on(event, (raw) => {
      const { targetClientId: to, ...payload } = payloadOf(raw);
      if (attacker) attacker.emit('intercept', { event, from: id, to, payload });
      else deliver(event, id, to, payload);
    });
  }
});

httpServer.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'listening', port: httpServer.address().port }));
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
