// call_hangup: either side ends the call. `reason` is always present on the
// wire (schema default "hangup") so receivers need no fallback.
import { schemas } from '../schema.js';
import { withOptional } from './common.js';

export const schema = schemas.call_hangup;

export function handle(ctx, { from, value, bytes, receivedAt, ip }) {
  const payload = withOptional({ from }, value, 'callId');
  payload.reason = value.reason;
  return ctx.relay.send({ event: 'call_hangup', from, to: value.targetClientId, payload, bytes, receivedAt, ip });
}
