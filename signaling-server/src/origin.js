// Which web pages may open a Socket.IO connection. Browsers attach an
// Origin header to every WebSocket handshake and cross-origin request; a
// page on any other site could otherwise register IDs, place calls and use
// up budgets from its visitors' browsers. Native clients send no Origin and
// are not affected.

/**
 * @param {readonly string[]} allowedOrigins exact origins ("https://a.example"),
 *   or "*" for any. The server's own origin (the web client at /) is always
 *   allowed.
 * @returns {(req: import('node:http').IncomingMessage) => boolean}
 */
export function createOriginCheck(allowedOrigins) {
  const any = allowedOrigins.includes('*');
  const allowed = new Set(allowedOrigins);
  return (req) => {
    const origin = req.headers?.origin;
    if (origin === undefined) return true;
    if (any || allowed.has(origin)) return true;
    // Same origin: the page was served by this server (or by the TLS proxy
    // in front of it, which passes Host through). The scheme is not compared:
    // behind TLS termination the server sees http while the page is https.
    try {
      const host = req.headers.host;
      return typeof host === 'string' && new URL(origin).host === host.toLowerCase();
    } catch {
      return false; // "null" (sandboxed frames, file://) and garbage
    }
  };
}
