// Load-generating child for bench/throughput.js: socket.io clients in
// pairs, each pair ping-ponging a seed-format offer_sdp (a JSON *string*
// payload whose sdp is itself a JSON string, as the course project's
// clients send it) in a closed loop: whoever receives one sends one back.
// Clients are spread over source addresses 127.0.0.<first>…, like users
// coming from many addresses rather than one.
//
// IPC: { cmd: 'start', url, pairs, firstIp, ips } → { type: 'ready', clients }
//      { cmd: 'measure' } → counting from now
//      { cmd: 'report' } → { type: 'report', messages, seconds, disconnects, errors }
//      { cmd: 'stop' }

import { io as ioc } from 'socket.io-client';
import { SEED_SDP } from './seed_sdp.js';

let counting = false;
let messages = 0;
let since = performance.now();
let disconnects = 0;
let errors = 0;
let stopped = false;
const sockets = [];

const seedOffer = (target) => JSON.stringify({ targetClientId: target, sdp: JSON.stringify({ type: 'offer', sdp: SEED_SDP }) });

function connect(url, localAddress) {
  return new Promise((resolve, reject) => {
    const socket = ioc(url, { transports: ['websocket'], reconnection: false, forceNew: true, localAddress, timeout: 20_000 });
    socket.once('your_id', (id) => {
      socket.vcId = id;
      resolve(socket);
    });
    socket.once('connect_error', reject);
    socket.on('server_error', () => errors++);
    socket.on('disconnect', () => {
      if (!stopped) disconnects++;
    });
  });
}

async function start({ url, pairs, firstIp, ips }) {
  const address = (n) => `127.0.${Math.floor((firstIp + (n % ips)) / 250)}.${2 + ((firstIp + (n % ips)) % 250)}`;
  let n = 0;
  const batch = 25;
  for (let made = 0; made < pairs; made += batch) {
    const group = await Promise.all(
      Array.from({ length: Math.min(batch, pairs - made) }, async () => {
        const a = await connect(url, address(n++));
        const b = await connect(url, address(n++));
        return [a, b];
      }),
    );
    for (const [a, b] of group) {
      sockets.push(a, b);
      for (const [me, peer] of [[a, b], [b, a]]) {
        me.on('offer_sdp', () => {
          if (counting) messages++;
          if (!stopped) me.emit('offer_sdp', seedOffer(peer.vcId));
        });
      }
    }
  }
  // Every pair starts its loop once all are connected.
  for (let i = 0; i < sockets.length; i += 2) sockets[i].emit('offer_sdp', seedOffer(sockets[i + 1].vcId));
  process.send({ type: 'ready', clients: sockets.length });
}

process.on('message', async (m) => {
  if (m.cmd === 'start') {
    try {
      await start(m);
    } catch (err) {
      process.send({ type: 'failed', error: String(err?.message ?? err) });
    }
  } else if (m.cmd === 'measure') {
    messages = 0;
    counting = true;
    since = performance.now();
  } else if (m.cmd === 'report') {
    process.send({ type: 'report', messages, seconds: (performance.now() - since) / 1000, disconnects, errors });
  } else if (m.cmd === 'stop') {
    stopped = true;
    for (const s of sockets) s.close();
    process.exit(0);
  }
});
