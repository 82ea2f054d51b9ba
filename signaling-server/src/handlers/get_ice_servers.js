// get_ice_servers: the client asks for a fresh ICE server list, e.g. before
// a call when the TURN credential from connect time is close to expiry.
// There is nothing to validate, so any payload (or none) is accepted: a
// client library that sends `{}`, `null` or nothing must all work. Requests
// are limited per ID and per address (ICE_REQUESTS_PER_MIN/_BURST; the
// address gets ten times that): a credential is cheap to mint, but a client
// asking in a loop is broken or probing.

import { ClientError, ErrorCode } from '../errors.js';

export const acceptsAnyPayload = true;

export function handle(ctx, { from, ip, reply }) {
  const wait = ctx.iceRequests.waitMs(from, ip);
  if (wait > 0) {
    throw new ClientError(ErrorCode.RATE_LIMITED, `too many get_ice_servers requests: the limit is ${ctx.config.iceRequestsPerMin}/min, burst ${ctx.config.iceRequestBurst}`, { retryAfterMs: wait });
  }
  ctx.iceRequests.take(from, ip);
  reply('ice_servers', ctx.iceServers.issue(from));
}
