// Who may connect: the Origin allow-list, the client address (and when
// X-Forwarded-For counts), per-address connection caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressKey, createClientIpResolver, normalizeIp, parseCidr } from '../src/client_ip.js';
import { createOriginCheck } from '../src/origin.js';
import { client, connectRegistered, memoryLogger, once, startServer } from './helpers.js';

const req = (remoteAddress, headers = {}) => ({ socket: { remoteAddress }, headers });

test('client address: the TCP peer, X-Forwarded-For only through trusted proxies', () => {
  const direct = createClientIpResolver([]);
  assert.equal(direct(req('::ffff:192.0.2.7', { 'x-forwarded-for': '1.2.3.4' })), '192.0.2.7');

  const proxied = createClientIpResolver(['127.0.0.1', '10.0.0.0/8', '::1']);
  // nginx on this host, a load balancer at 10.0.0.5 before it.
  assert.equal(proxied(req('127.0.0.1', { 'x-forwarded-for': '198.51.100.9, 10.0.0.5' })), '198.51.100.9');
  // Whatever the client wrote itself (left of the real address) is ignored.
  assert.equal(proxied(req('127.0.0.1', { 'x-forwarded-for': '6.6.6.6, 198.51.100.9' })), '198.51.100.9');
  assert.equal(proxied(req('::1', { 'x-forwarded-for': 'garbage, 198.51.100.9' })), '198.51.100.9');
  assert.equal(proxied(req('127.0.0.1', { 'x-forwarded-for': '198.51.100.9, not-an-ip' })), '127.0.0.1');
  // Not from a trusted proxy: the header proves nothing.
  assert.equal(proxied(req('203.0.113.50', { 'x-forwarded-for': '1.2.3.4' })), '203.0.113.50');
  // No header: the proxy itself.
  assert.equal(proxied(req('127.0.0.1')), '127.0.0.1');

  assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, type: 'ipv4' });
  assert.deepEqual(parseCidr('2001:db8::/32'), { address: '2001:db8::', prefix: 32, type: 'ipv6' });
  for (const bad of ['10.0.0.0/33', 'host.example', '1.2.3.4/8/1', '::1/129', '']) assert.equal(parseCidr(bad), null, bad);
  assert.equal(normalizeIp('::ffff:10.1.2.3'), '10.1.2.3');
});

test('origin: none (native clients) and our own pages pass; other sites only if listed', () => {
  const check = createOriginCheck([]);
  const at = (origin, host = 'voicecall.example.org') => req('127.0.0.1', origin === undefined ? { host } : { host, origin });
  assert.equal(check(at(undefined)), true);
  assert.equal(check(at('https://voicecall.example.org')), true, 'same host (behind TLS termination)');
  assert.equal(check(at('http://127.0.0.1:3000', '127.0.0.1:3000')), true);
  assert.equal(check(at('https://evil.example')), false);
  assert.equal(check(at('https://voicecall.example.org.evil.example')), false);
  assert.equal(check(at('null')), false);
  assert.equal(check(at('https://voicecall.example.org:8443')), false, 'another port is another origin');
  const listed = createOriginCheck(['https://app.example']);
  assert.equal(listed(at('https://app.example')), true);
  assert.equal(listed(at('https://evil.example')), false);
  assert.equal(createOriginCheck(['*'])(at('https://anything.example')), true);
});

test('a page on another site cannot connect; our own page and native clients can', async (t) => {
  const { logger, records } = memoryLogger();
  const { server, url } = await startServer({}, { logger });
  t.after(() => server.close());
  const foreign = client(url, { extraHeaders: { origin: 'https://evil.example' } });
  t.after(() => foreign.close());
  await once(foreign, 'connect_error');
  const refused = records.find((r) => r.msg === 'connection refused');
  assert.deepEqual([refused.reason, refused.origin, refused.ip], ['origin not allowed', 'https://evil.example', '127.0.0.1']);
  for (const polling of [false, true]) {
    const viaPolling = client(url, { extraHeaders: { origin: 'https://evil.example' }, transports: polling ? ['polling'] : ['websocket'] });
    await once(viaPolling, 'connect_error');
    viaPolling.close();
  }
  const own = await connectRegistered(url, { extraHeaders: { origin: url } });
  const native = await connectRegistered(url);
  own.socket.close();
  native.socket.close();
});

test('ALLOWED_ORIGINS lets a listed site in', async (t) => {
  const { server, url } = await startServer({ allowedOrigins: ['https://app.example'] });
  t.after(() => server.close());
  const ok = await connectRegistered(url, { extraHeaders: { origin: 'https://app.example' } });
  ok.socket.close();
  const no = client(url, { extraHeaders: { origin: 'https://other.example' } });
  await once(no, 'connect_error');
  no.close();
});

test('behind a trusted proxy, limits and logs use the X-Forwarded-For address; untrusted, the header is ignored', async (t) => {
  const { logger, records } = memoryLogger();
  const { server, url } = await startServer({ trustedProxies: ['127.0.0.1'], maxConnectionsPerIp: 1 }, { logger });
  t.after(() => server.close());
  const as = (ip) => ({ extraHeaders: { 'x-forwarded-for': ip } });
  const first = await connectRegistered(url, as('198.51.100.1'));
  assert.equal(records.find((r) => r.msg === 'connect' && r.id === first.id).ip, '198.51.100.1');
  const second = client(url, as('198.51.100.1'));
  await once(second, 'connect_error');
  second.close();
  const other = await connectRegistered(url, as('198.51.100.2'));
  first.socket.close();
  other.socket.close();

  const { server: direct, url: directUrl } = await startServer({ maxConnectionsPerIp: 1 });
  t.after(() => direct.close());
  const one = await connectRegistered(directUrl, { ...as('198.51.100.3'), localAddress: '127.0.6.1' });
  const spoofed = client(directUrl, { ...as('198.51.100.4'), localAddress: '127.0.6.1' });
  await once(spoofed, 'connect_error');
  spoofed.close();
  one.socket.close();
});

test('address key: IPv4 as it is, IPv6 by its prefix (one subscriber holds a /64)', () => {
  assert.equal(addressKey('198.51.100.7', 64), '198.51.100.7');
  assert.equal(addressKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd', 64), '2001:db8:1:2:0:0:0:0/64');
  assert.equal(addressKey('2001:db8:1:2::1', 64), addressKey('2001:db8:1:2:ffff::9', 64));
  assert.notEqual(addressKey('2001:db8:1:2::1', 64), addressKey('2001:db8:1:3::1', 64));
  assert.equal(addressKey('2001:db8:abcd:12ff::', 56), '2001:db8:abcd:1200:0:0:0:0/56');
  assert.equal(addressKey('fe80::1%eth0', 64), 'fe80:0:0:0:0:0:0:0/64');
  assert.equal(addressKey('64:ff9b::192.0.2.33', 120), '64:ff9b:0:0:0:0:c000:200/120');
  assert.equal(addressKey('2001:db8::1', 128), '2001:db8::1', '128 bits: every address on its own');
  assert.equal(addressKey('not an address', 64), 'not an address');
});

test('IPv6 clients of one /64 share the per-address limits; logs keep each full address', async (t) => {
  const { logger, records } = memoryLogger();
  const { server, url } = await startServer({ trustedProxies: ['127.0.0.1'], maxConnectionsPerIp: 1 }, { logger });
  t.after(() => server.close());
  const as = (ip) => ({ extraHeaders: { 'x-forwarded-for': ip } });
  const first = await connectRegistered(url, as('2001:db8:5:6::1'));
  assert.equal(records.find((r) => r.msg === 'connect' && r.id === first.id).ip, '2001:db8:5:6::1');
  const sameSubscriber = client(url, as('2001:db8:5:6:dead:beef:0:2'));
  await once(sameSubscriber, 'connect_error');
  sameSubscriber.close();
  const refused = records.find((r) => r.msg === 'connection refused');
  assert.deepEqual([refused.reason, refused.ip], ['too many connections from this address', '2001:db8:5:6:dead:beef:0:2']);
  const neighbour = await connectRegistered(url, as('2001:db8:5:7::1'));
  first.socket.close();
  neighbour.socket.close();
});
