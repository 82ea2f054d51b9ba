// The address a connection really comes from. Every per-address budget
// (connections, registrations, message and byte rates) is keyed by it, so
// it must not be something a client can choose: X-Forwarded-For is only
// believed when the TCP peer is a proxy the operator listed in
// TRUSTED_PROXIES, and then only the hops those proxies appended.

import { BlockList, isIP } from 'node:net';

/**
 * "203.0.113.7" or "10.0.0.0/8" or "2001:db8::/32" → {address, prefix, type},
 * or null when it is neither an IP address nor a CIDR range.
 */
export function parseCidr(text) {
  const [address, bits, extra] = String(text).split('/');
  if (extra !== undefined) return null;
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  if (bits === undefined) return { address, prefix: max, type: version === 4 ? 'ipv4' : 'ipv6' };
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return null;
  return { address, prefix: Number(bits), type: version === 4 ? 'ipv4' : 'ipv6' };
}

/** "::ffff:1.2.3.4" (an IPv4 client on a dual-stack socket) → "1.2.3.4". */
export function normalizeIp(address) {
  if (typeof address !== 'string') return '';
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1] : address;
}

/** An IPv6 address ("2001:db8::1", "fe80::1%eth0", "::1.2.3.4") as eight 16-bit groups, or null. */
function ipv6Groups(ip) {
  let text = ip.split('%')[0];
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const part = (s) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const front = part(head);
  const back = part(rest);
  const zeros = rest === undefined ? 0 : 8 - front.length - back.length;
  const groups = [...front, ...Array(Math.max(zeros, 0)).fill(0), ...back];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/**
 * The key every per-address budget is kept under. An IPv4 address is its own
 * key, but one IPv6 subscriber routinely holds a whole /64 (or more), and
 * could otherwise take a fresh budget from each of its 2^64 addresses: IPv6
 * addresses are keyed by their first `ipv6Prefix` bits ("2001:db8:1:2::/64").
 * @param {string} ip
 * @param {number} ipv6Prefix 1..128
 */
export function addressKey(ip, ipv6Prefix) {
  if (isIP(ip) !== 6 || ipv6Prefix >= 128) return ip;
  const groups = ipv6Groups(ip);
  if (!groups) return ip;
  const masked = groups.map((g, i) => {
    const bits = Math.min(Math.max(ipv6Prefix - i * 16, 0), 16);
    return bits === 16 ? g : bits === 0 ? 0 : g & ((0xffff << (16 - bits)) & 0xffff);
  });
  return `${masked.map((g) => g.toString(16)).join(':')}/${ipv6Prefix}`;
}

/**
 * @param {readonly string[]} trustedProxies IPs / CIDR ranges
 * @returns {(req: import('node:http').IncomingMessage) => string}
 */
export function createClientIpResolver(trustedProxies) {
  if (trustedProxies.length === 0) return (req) => normalizeIp(req.socket?.remoteAddress);
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const { address, prefix, type } = parseCidr(entry);
    trusted.addSubnet(address, prefix, type);
  }
  const isTrusted = (ip) => {
    const version = isIP(ip);
    return version !== 0 && trusted.check(ip, version === 4 ? 'ipv4' : 'ipv6');
  };

  return (req) => {
    let ip = normalizeIp(req.socket?.remoteAddress);
    if (!isTrusted(ip)) return ip;
    // Walk the chain from the right: each trusted proxy vouches for the hop
    // before it. The first address not ours is the client; anything further
    // left was written by the client and proves nothing.
    const header = req.headers?.['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((h) => normalizeIp(h.trim())).filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      if (isIP(hops[i]) === 0) return ip; // garbage: stop at the last good hop
      ip = hops[i];
      if (!isTrusted(ip)) return ip;
    }
    return ip;
  };
}
