// send_ice: trickle ICE in either direction. `mid` is always present on the
// wire (null when unknown) because old clients read it unconditionally;
// mLineIndex only when the sender gave one.
import { schemas } from '../schema.js';
import { withOptional } from './common.js';

export const schema = schemas.send_ice;

export function handle(ctx, { from, value, bytes, receivedAt, ip }) {
  const payload = withOptional(
    { from, candidate: value.candidate, mid: value.mid ?? null },
    value,
    'mLineIndex',
    'callId',
  );
  return ctx.relay.send({ event: 'send_ice', from, to: value.targetClientId, payload, bytes, receivedAt, ip });
}
