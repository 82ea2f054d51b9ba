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
