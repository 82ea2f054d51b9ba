// get_ice_servers: the client asks for a fresh ICE server list, e.g. before
// a call when the TURN credential from connect time is close to expiry.
// There is nothing to validate, so any payload (or none) is accepted: a
// client library that sends `{}`, `null` or nothing must all work.

export const acceptsAnyPayload = true;

export function handle(ctx, { from, reply }) {
  reply('ice_servers', ctx.iceServers.issue(from));
}
