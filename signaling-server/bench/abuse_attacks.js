// The attacks of issue 11, one function each, for bench/abuse.js. Every one
// is bounded by `seconds` and by a count, uses raw WebSocket clients
// (bench/raw_client.js) from loopback addresses of its own (127.0.N.x, so
// per-address limits see it as a stranger, not as the legit users on
// 127.0.0.1), and returns what the attacker got out of it:
//   { got: number, unit: string, note?: string }
// Relayed messages are counted by the orchestrator from the server's
// metrics; `got` is what the attacker could see for itself. `maxPayload` is
// the server's MAX_PAYLOAD_BYTES: attacks that send large payloads send the
// largest the server accepts, as an attacker who read PROTOCOL.md would.

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { rawConnect } from './raw_client.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const addr = (net, host) => `127.0.${net}.${host}`;

/** Connect and register; resolves with { conn, id, token, events } or null if refused. */
export async function register(port, { auth = '', localAddress, headers, onEvent } = {}) {
  const events = { count: 0, byType: {} };
  let id = null;
  let token = null;
  let resolveId;
  const gotId = new Promise((r) => (resolveId = r));
  const conn = rawConnect(
    port,
    auth,
    (event, arg) => {
      events.count++;
      events.byType[event] = (events.byType[event] ?? 0) + 1;
      if (event === 'your_id') {
        id = arg;
        resolveId(true);
      }
      if (event === 'registered') token = arg?.token ?? null;
      if (event === 'server_error' && !id) resolveId(false);
      onEvent?.(event, arg);
    },
    { localAddress, headers },
  );
  const ok = await conn.ready;
  if (!ok) return null;
  const registered = await Promise.race([gotId, conn.closed.then(() => false), sleep(3000).then(() => false)]);
  if (!registered) {
    conn.ws.terminate();
    return null;
  }
  return {
    conn,
    id,
    events,
    get token() {
      return token;
    },
  };
}

// Send frames as fast as `perSec` allows while the socket can take them
// (an attacker that ignored backpressure would only fill its own memory).
async function pump(conn, perSec, seconds, frame) {
  const end = Date.now() + seconds * 1000;
  const interval = 1000 / perSec;
  let next = Date.now();
  let sent = 0;
  while (Date.now() < end && conn.ws.readyState === conn.ws.OPEN) {
    if (conn.ws.bufferedAmount < 4 * 1024 * 1024) {
      conn.send(typeof frame === 'function' ? frame(sent) : frame);
      sent++;
    }
    next += interval;
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
    else if (sent % 50 === 0) await sleep(0);
  }
  return sent;
}

const offer = (to, sdp, callId) => `42${JSON.stringify(['offer_sdp', { targetClientId: to, callId, sdp }])}`;

// 3a: a hundred sockets from ten addresses, in calls among themselves, each
// pushing 50 offers a second with `sdpBytes` of SDP.
async function byteFlood(port, seconds, sdpBytes) {
  const sockets = [];
  for (let ip = 0; ip < 10; ip++) {
    const group = (await Promise.all(Array.from({ length: 10 }, () => register(port, { localAddress: addr(23, 1 + ip) })))).filter(Boolean);
    sockets.push(...group);
  }
  const receivers = sockets.filter((_, i) => i % 10 === 0);
  let received = 0;
  for (const r of receivers) r.conn.ws.on('message', () => received++);
  const pairs = sockets.map((s, i) => [s, receivers[Math.floor(i / 10)]]).filter(([s, r]) => s !== r);
  for (const [s, r] of pairs) s.conn.send(offer(r.id, 'v=0', 'flood'));
  await sleep(300);
  const sdp = 'f'.repeat(sdpBytes);
  await Promise.all(pairs.map(([s, r]) => pump(s.conn, 50, seconds, offer(r.id, sdp, 'flood'))));
  for (const s of sockets) s.conn.ws.terminate();
  return { got: received, unit: `frames received by the flood targets (${Math.round(sdpBytes / 1024)} KiB offers)` };
}


export const ATTACKS = {
  // 1. A receiver that never reads (but keeps answering heartbeats), five
  //    senders relaying offers of the largest size accepted (63 KiB in the
  //    issue) to it at 44/s each.
  async 'slow reader'({ port, seconds, maxPayload }) {
    const receiver = await register(port, { localAddress: addr(21, 1) });
    const senders = (await Promise.all(Array.from({ length: 5 }, (_, i) => register(port, { localAddress: addr(21, 2 + i) })))).filter(Boolean);
    for (const s of senders) receiver.conn.send(offer(s.id, 'v=0', 'slow'));
    await sleep(300);
    receiver.conn.ws._socket.pause();
    const pongs = setInterval(() => receiver.conn.send('3'), 2000);
    const sdp = 'v'.repeat(maxPayload - 200);
    const sent = await Promise.all(senders.map((s) => pump(s.conn, 44, seconds, offer(receiver.id, sdp, 'slow'))));
    clearInterval(pongs);
    const cut = receiver.conn.ws.readyState !== receiver.conn.ws.OPEN;
    for (const c of [receiver, ...senders]) c.conn.ws.terminate();
    return { got: sent.reduce((a, b) => a + b, 0), unit: `${Math.round(sdp.length / 1024)} KiB offers sent at it (reader ${cut ? 'dropped' : 'still connected'})` };
  },

  // 2. Ten strangers, each inside its own limits, offer calls to the legit
  //    user, who answers each with `busy` on its own.
  async reflection({ port, seconds, legit }) {
    const attackers = (await Promise.all(Array.from({ length: 10 }, (_, i) => register(port, { localAddress: addr(22, 1 + i) })))).filter(Boolean);
    let busy = 0;
    for (const a of attackers) a.events.byType.busy = 0;
    await Promise.all(attackers.map((a, i) => pump(a.conn, 45, seconds, (n) => offer(legit.b, 'v=0', `r${i}-${n}`))));
    await sleep(300);
    for (const a of attackers) {
      busy += a.events.byType.busy ?? 0;
      a.conn.ws.terminate();
    }
    return { got: busy, unit: 'busy replies provoked' };
  },

  // 3a. A hundred sockets from ten addresses, each pushing 50 offers a
  //     second of the largest size accepted (64 KiB in the issue) inside
  //     calls among themselves.
  async 'byte flood'({ port, seconds, maxPayload }) {
    return byteFlood(port, seconds, maxPayload - 200);
  },

  // 3a'. The same with the issue's 64 KiB offers, whatever the server
  //      accepts: what frames above MAX_PAYLOAD_BYTES cost it.
  async 'byte flood 64 KiB'({ port, seconds }) {
    return byteFlood(port, seconds, 64 * 1024 - 200);
  },

  // 3b. One address floods one target, reconnecting (same ID) after every cut;
  //     after a few cuts its handshakes are refused (ADDRESS_BLOCKED).
  async 'reconnect flood'({ port, seconds }) {
    const target = await register(port, { localAddress: addr(24, 1) });
    let received = 0;
    target.conn.ws.on('message', (d) => String(d).startsWith('42["send_ice"') && received++);
    const first = await register(port, { localAddress: addr(24, 2) });
    first.conn.send(offer(target.id, 'v=0', 'rc'));
    await sleep(300);
    const token = first.token;
    const id = first.id;
    let conn = first.conn;
    const end = Date.now() + seconds * 1000;
    let reconnects = 0;
    let refused = 0;
    const frame = `42${JSON.stringify(['send_ice', { targetClientId: target.id, callId: 'rc', candidate: 'x' }])}`;
    while (Date.now() < end) {
      while (conn.ws.readyState === conn.ws.OPEN && Date.now() < end) {
        for (let i = 0; i < 200; i++) conn.send(frame);
        await sleep(1);
      }
      conn.ws.terminate();
      if (Date.now() >= end || !token) break;
      const again = await register(port, { auth: JSON.stringify({ id, token }), localAddress: addr(24, 2) });
      if (!again) {
        refused++;
        await sleep(50);
        continue;
      }
      conn = again.conn;
      reconnects++;
    }
    conn.ws.terminate();
    target.conn.ws.terminate();
    return { got: Math.round(received / seconds), unit: `msgs/s reached the target (${reconnects} reconnects, ${refused} refused)` };
  },

  // 3c. Fill the offline queue: offers of the largest size accepted (64 KiB
  //     in the issue) to thousands of IDs nobody holds.
  async 'queue fill'({ port, seconds, maxPayload }) {
    const sockets = [];
    for (let ip = 0; ip < 10; ip++) sockets.push(...(await Promise.all(Array.from({ length: 5 }, () => register(port, { localAddress: addr(25, 1 + ip) })))).filter(Boolean));
    const sdp = 'q'.repeat(maxPayload - 200);
    const sent = await Promise.all(sockets.map((s, i) => pump(s.conn, 50, seconds, (n) => offer(`gone-${i}-${n}`, sdp, 'q'))));
    for (const s of sockets) s.conn.ws.terminate();
    return { got: sent.reduce((a, b) => a + b, 0), unit: 'offers sent to absent IDs (none deliverable)' };
  },

  // 3d. One address opens as many connections as it can.
  async 'connection flood'({ port, seconds }) {
    const end = Date.now() + seconds * 1000;
    const open = [];
    let attempts = 0;
    while (Date.now() < end && attempts < 3000) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => register(port, { localAddress: addr(26, 1) })));
      attempts += 50;
      open.push(...batch.filter(Boolean));
    }
    for (const c of open) c.conn.ws.terminate();
    return { got: open.length, unit: `connections accepted of ${attempts}` };
  },

  // 4. One address registers new IDs as fast as it can.
  async 'registration flood'({ port, seconds }) {
    const end = Date.now() + seconds * 1000;
    let ids = 0;
    let attempts = 0;
    while (Date.now() < end && attempts < 20_000) {
      const batch = await Promise.all(Array.from({ length: 20 }, () => register(port, { localAddress: addr(27, 1) })));
      attempts += 20;
      for (const c of batch) {
        if (c) {
          ids++;
          c.conn.ws.terminate();
        }
      }
    }
    return { got: ids, unit: `IDs created of ${attempts} attempts` };
  },

  // 5. Message anyone, learn who is online: call events with no call, to
  //    the legit users, an unknown and an offline ID; and the PEER_NOT_FOUND
  //    timing of unknown vs offline.
  async 'presence probe'({ port, seconds, legit }) {
    const offline = await register(port, { localAddress: addr(28, 9) });
    offline.conn.ws.terminate();
    await sleep(200);
    const errors = [];
    const probe = await register(port, { localAddress: addr(28, 1), onEvent: (event, arg) => event === 'server_error' && errors.push({ ...arg, at: Date.now() }) });
    const events = ['answer_sdp', 'send_ice', 'ringing', 'busy', 'call_decline'];
    const frame = (n) => `42${JSON.stringify([events[n % 5], { targetClientId: [legit.a, legit.b, 'nobody-at-all', offline.id][n % 4], callId: 'p', sdp: 'v=0', candidate: 'c' }])}`;
    const sent = await pump(probe.conn, 40, Math.max(1, seconds - 1), frame);
    // Timing: an offer to an unknown and one to an offline ID.
    const t0 = Date.now();
    probe.conn.send(offer('nobody-at-all', 'v=0', 'tu'));
    probe.conn.send(offer(offline.id, 'v=0', 'to'));
    const deadline = Date.now() + 7000;
    while (Date.now() < deadline && !(errors.some((e) => e.callId === 'tu') && errors.some((e) => e.callId === 'to'))) await sleep(20);
    const tu = errors.find((e) => e.callId === 'tu');
    const to = errors.find((e) => e.callId === 'to');
    probe.conn.ws.terminate();
    const notInCall = errors.filter((e) => e.code === 'NOT_IN_CALL').length;
    return { got: 0, unit: `(${notInCall}/${sent} NOT_IN_CALL; PEER_NOT_FOUND unknown ${tu ? tu.at - t0 : '–'} ms, offline ${to ? to.at - t0 : '–'} ms)` };
  },

  // 6. Claim an ID that belonged to someone who went offline.
  async 'recycled ID'({ port, seconds }) {
    const owner = await register(port, { auth: JSON.stringify({ id: 'someones-id' }), localAddress: addr(29, 1) });
    owner.conn.ws.terminate();
    await sleep(200);
    const end = Date.now() + seconds * 1000;
    let won = 0;
    let tries = 0;
    while (Date.now() < end && tries < 200) {
      tries++;
      const c = await register(port, { auth: JSON.stringify({ id: 'someones-id', token: randomBytes(32).toString('base64url') }), localAddress: addr(29, 2 + (tries % 200)) });
      if (c) {
        won++;
        c.conn.ws.terminate();
      }
    }
    return { got: won, unit: `claims of an owner's offline ID won (${tries} tries)` };
  },

  // 7. One socket asks for TURN credentials in a loop.
  async 'TURN minting'({ port, seconds }) {
    const usernames = new Set();
    let replies = 0;
    const c = await register(port, {
      localAddress: addr(30, 1),
      onEvent: (event, arg) => {
        if (event !== 'ice_servers') return;
        replies++;
        for (const s of arg.iceServers ?? []) if (s.username) usernames.add(s.username);
      },
    });
    await pump(c.conn, 40, seconds, '42["get_ice_servers",{}]');
    await sleep(200);
    c.conn.ws.terminate();
    return { got: usernames.size, unit: `distinct TURN usernames (${replies} ice_servers replies)` };
  },

  // 8. Guess the token of an offline ID as fast as possible from one address.
  async 'token guessing'({ port, seconds }) {
    const owner = await register(port, { auth: JSON.stringify({ id: 'guess-me' }), localAddress: addr(31, 9) });
    owner.conn.ws.terminate();
    await sleep(200);
    const end = Date.now() + seconds * 1000;
    const codes = {};
    let tries = 0;
    while (Date.now() < end && tries < 20_000) {
      const guess = async () => {
        let conn;
        const answer = await new Promise((resolve) => {
          const auth = JSON.stringify({ id: 'guess-me', token: randomBytes(32).toString('base64url') });
          conn = rawConnect(port, auth, (event, arg) => {
            if (event === 'server_error') resolve(arg.code);
            if (event === 'your_id') resolve('WON');
          }, { localAddress: addr(31, 1) });
          conn.closed.then(() => resolve('CLOSED'));
          setTimeout(() => resolve('TIMEOUT'), 3000).unref();
        });
        conn.ws.terminate();
        return answer;
      };
      const batch = await Promise.all(Array.from({ length: 20 }, guess));
      tries += 20;
      for (const code of batch) codes[code] = (codes[code] ?? 0) + 1;
    }
    return { got: codes.ID_TAKEN ?? 0, unit: `guesses checked (${JSON.stringify(codes)})` };
  },

  // 9. A Buffer nested inside `sdp`, inside a call.
  async 'binary in sdp'({ port, seconds }) {
    const receiver = await register(port, { localAddress: addr(32, 1) });
    let received = 0;
    receiver.conn.ws.on('message', (d) => String(d).startsWith('45') && received++);
    const sender = await register(port, { localAddress: addr(32, 2) });
    sender.conn.send(offer(receiver.id, 'v=0', 'bin'));
    await sleep(200);
    const frame = `451-${JSON.stringify(['offer_sdp', { targetClientId: receiver.id, callId: 'bin', sdp: { type: 'offer', sdp: 'v=0', extra: { _placeholder: true, num: 0 } } }])}`;
    const end = Date.now() + seconds * 1000;
    let sent = 0;
    while (Date.now() < end && sent < 2000) {
      sender.conn.send(frame);
      sender.conn.send(Buffer.from('binary payload'));
      sent++;
      await sleep(25);
    }
    await sleep(200);
    sender.conn.ws.terminate();
    receiver.conn.ws.terminate();
    return { got: received, unit: `binary offers delivered of ${sent}` };
  },

  // 10. /metrics as fast as 50 connections can ask.
  async 'metrics flood'({ port, seconds }) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 50, localAddress: addr(33, 1) });
    const end = Date.now() + seconds * 1000;
    let served = 0;
    const one = () =>
      new Promise((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/metrics', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        });
        req.on('error', () => resolve(0));
      });
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (Date.now() < end) if ((await one()) === 200) served++;
      }),
    );
    agent.destroy();
    return { got: served, unit: '/metrics responses served' };
  },

  // 11. A web page elsewhere drives visitors' browsers at the server; and a
  //     client claims another address in X-Forwarded-For.
  async 'foreign origin'({ port, seconds }) {
    const end = Date.now() + seconds * 1000;
    let accepted = 0;
    let tries = 0;
    while (Date.now() < end && tries < 500) {
      const batch = await Promise.all(Array.from({ length: 10 }, (_, i) => register(port, { localAddress: addr(34, 1 + (i % 5)), headers: { Origin: 'https://evil.example', 'X-Forwarded-For': `203.0.113.${i}` } })));
      tries += 10;
      for (const c of batch) {
        if (c) {
          accepted++;
          c.conn.ws.terminate();
        }
      }
    }
    return { got: accepted, unit: `cross-origin connections accepted of ${tries}` };
  },
};
