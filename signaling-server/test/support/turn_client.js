// A minimal TURN client (RFC 5766 / RFC 5389) for tests against a real
// coturn: Allocate with the long-term-credential challenge, CreatePermission
// and Send indications, over UDP, TCP or TLS. Only what the tests need; it
// also verifies the MESSAGE-INTEGRITY of success responses, which proves the
// server derived the same key from the credential as we did.

import { createHash, createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';

const MAGIC = 0x2112a442;
export const Method = { ALLOCATE: 0x003, CREATE_PERMISSION: 0x008, SEND: 0x006 };
const Attr = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_TRANSPORT: 0x0019,
  XOR_MAPPED_ADDRESS: 0x0020,
};
const SUCCESS = 0x100;
const ERROR = 0x110;

function attribute(type, value) {
  const pad = (4 - (value.length % 4)) % 4;
  const out = Buffer.alloc(4 + value.length + pad);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(value.length, 2);
  value.copy(out, 4);
  return out;
}

function xorAddress({ address, port }) {
  const v = Buffer.alloc(8);
  v[1] = 0x01; // IPv4
  v.writeUInt16BE(port ^ (MAGIC >>> 16), 2);
  const ip = address.split('.').reduce((n, part) => (n << 8) | Number(part), 0) >>> 0;
  v.writeUInt32BE((ip ^ MAGIC) >>> 0, 4);
  return v;
}

function parseXorAddress(v) {
  const port = v.readUInt16BE(2) ^ (MAGIC >>> 16);
  const ip = (v.readUInt32BE(4) ^ MAGIC) >>> 0;
  return { address: [24, 16, 8, 0].map((s) => (ip >>> s) & 0xff).join('.'), port };
}

/** The long-term credential key: MD5(username ":" realm ":" password). */
export const longTermKey = (username, realm, password) =>
  createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest();

/**
 * Encode a message. With `key`, MESSAGE-INTEGRITY is appended: HMAC-SHA1
 * over everything before it, with the header length already counting it.
 */
export function encode(type, attrs, { key, txId = randomBytes(12) } = {}) {
  const body = Buffer.concat(attrs.map(([t, v]) => attribute(t, v)));
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(body.length + (key ? 24 : 0), 2);
  header.writeUInt32BE(MAGIC, 4);
  txId.copy(header, 8);
  let msg = Buffer.concat([header, body]);
  if (key) msg = Buffer.concat([msg, attribute(Attr.MESSAGE_INTEGRITY, createHmac('sha1', key).update(msg).digest())]);
  return { msg, txId };
}

export function decode(buf) {
  const type = buf.readUInt16BE(0);
  const length = buf.readUInt16BE(2);
  const attrs = new Map();
  let integrityOffset = -1;
  for (let off = 20; off + 4 <= 20 + length; ) {
    const t = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 2);
    if (t === Attr.MESSAGE_INTEGRITY) integrityOffset = off;
    if (!attrs.has(t)) attrs.set(t, buf.subarray(off + 4, off + 4 + len));
    off += 4 + len + ((4 - (len % 4)) % 4);
  }
  const out = { type, method: type & 0x3eef, cls: type & 0x0110, txId: buf.subarray(8, 20), attrs, raw: buf };
  if (attrs.has(Attr.ERROR_CODE)) {
    const v = attrs.get(Attr.ERROR_CODE);
    out.errorCode = (v[2] & 0x7) * 100 + v[3];
    out.reason = v.subarray(4).toString('utf8');
  }
  for (const [name, t] of [['realm', Attr.REALM], ['nonce', Attr.NONCE]]) {
    if (attrs.has(t)) out[name] = attrs.get(t).toString('utf8');
  }
  if (attrs.has(Attr.XOR_RELAYED_ADDRESS)) out.relayed = parseXorAddress(attrs.get(Attr.XOR_RELAYED_ADDRESS));
  if (attrs.has(Attr.XOR_MAPPED_ADDRESS)) out.mapped = parseXorAddress(attrs.get(Attr.XOR_MAPPED_ADDRESS));
  if (attrs.has(Attr.LIFETIME)) out.lifetime = attrs.get(Attr.LIFETIME).readUInt32BE(0);
  out.integrityOffset = integrityOffset;
  return out;
}

/** Check a response's MESSAGE-INTEGRITY with `key`. */
export function integrityOk(res, key) {
  if (res.integrityOffset < 0) return false;
  const upTo = Buffer.from(res.raw.subarray(0, res.integrityOffset));
  upTo.writeUInt16BE(res.integrityOffset - 20 + 24, 2);
  const want = createHmac('sha1', key).update(upTo).digest();
  return want.equals(res.attrs.get(Attr.MESSAGE_INTEGRITY));
}

/**
 * Open a client. transport: 'udp' | 'tcp' | 'tls' (tls: no certificate
 * verification — tests use a self-signed certificate).
 */
export async function connectTurn({ host = '127.0.0.1', port, transport = 'udp' }) {
  const waiting = new Map(); // txId hex → resolve
  const deliver = (buf) => {
    const res = decode(buf);
    const hex = res.txId.toString('hex');
    const resolve = waiting.get(hex);
    if (resolve) {
      waiting.delete(hex);
      resolve(res);
    }
  };

  let write;
  let close;
  if (transport === 'udp') {
    const sock = dgram.createSocket('udp4');
    await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
    sock.on('message', deliver);
    write = (msg) => sock.send(msg, port, host);
    close = () => sock.close();
  } else {
    const stream =
      transport === 'tls'
        ? tls.connect({ host, port, rejectUnauthorized: false })
        : net.connect({ host, port });
    await new Promise((resolve, reject) => {
      stream.once(transport === 'tls' ? 'secureConnect' : 'connect', resolve);
      stream.once('error', reject);
    });
    // STUN over a stream: messages back to back, each 20 + length bytes.
    let pending = Buffer.alloc(0);
    stream.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 20) {
        const total = 20 + pending.readUInt16BE(2);
        if (pending.length < total) break;
        deliver(pending.subarray(0, total));
        pending = pending.subarray(total);
      }
    });
    stream.on('error', () => {});
    write = (msg) => stream.write(msg);
    close = () => stream.destroy();
  }

  /** Send a request and wait for its response (UDP: with retransmits). */
  function request(type, attrs, opts = {}, timeoutMs = 3000) {
    const { msg, txId } = encode(type, attrs, opts);
    return new Promise((resolve, reject) => {
      const timers = [];
      const done = (res) => {
        for (const t of timers) clearTimeout(t);
        resolve(res);
      };
      waiting.set(txId.toString('hex'), done);
      write(msg);
      if (transport === 'udp') for (const at of [250, 750, 1750]) timers.push(setTimeout(() => write(msg), at));
      timers.push(
        setTimeout(() => {
          waiting.delete(txId.toString('hex'));
          reject(new Error(`no TURN response within ${timeoutMs} ms`));
        }, timeoutMs),
      );
    });
  }

  return { request, write, close, transport };
}

const REQUEST_UDP = Buffer.from([17, 0, 0, 0]);

/**
 * Allocate a UDP relay with a long-term credential, answering the 401
 * challenge. Returns { ok: true, relayed, lifetime, session } or
 * { ok: false, errorCode, reason }.
 */
export async function allocate(client, { username, password }) {
  const first = await client.request(Method.ALLOCATE, [[Attr.REQUESTED_TRANSPORT, REQUEST_UDP]]);
  if (first.cls !== ERROR || first.errorCode !== 401 || !first.realm || !first.nonce) {
    throw new Error(`expected a 401 challenge, got class ${first.cls} code ${first.errorCode}`);
  }
  const key = longTermKey(username, first.realm, password);
  const creds = [
    [Attr.USERNAME, Buffer.from(username)],
    [Attr.REALM, Buffer.from(first.realm)],
    [Attr.NONCE, Buffer.from(first.nonce)],
  ];
  const res = await client.request(Method.ALLOCATE, [[Attr.REQUESTED_TRANSPORT, REQUEST_UDP], ...creds], { key });
  if (res.cls === SUCCESS) {
    if (!integrityOk(res, key)) throw new Error('Allocate success response has a bad MESSAGE-INTEGRITY');
    return { ok: true, relayed: res.relayed, mapped: res.mapped, lifetime: res.lifetime, realm: first.realm, session: { key, creds } };
  }
  return { ok: false, errorCode: res.errorCode, reason: res.reason, realm: first.realm };
}

/** CreatePermission for `peer` ({address, port}); → { ok, errorCode? }. */
export async function createPermission(client, session, peer) {
  const res = await client.request(
    Method.CREATE_PERMISSION,
    [[Attr.XOR_PEER_ADDRESS, xorAddress(peer)], ...session.creds],
    { key: session.key },
  );
  return res.cls === SUCCESS ? { ok: true } : { ok: false, errorCode: res.errorCode, reason: res.reason };
}

/** Send indication: relay `data` from our allocation to `peer`. */
export function sendIndication(client, peer, data) {
  // Indication class = bit 4 of the message type.
  const { msg } = encode(Method.SEND | 0x010, [
    [Attr.XOR_PEER_ADDRESS, xorAddress(peer)],
    [Attr.DATA, data],
  ]);
  client.write(msg);
}
