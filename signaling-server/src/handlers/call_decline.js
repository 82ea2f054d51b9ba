// call_decline: callee → caller, the user rejected the call.
import { schemas } from '../schema.js';
import { withOptional } from './common.js';

export const schema = schemas.call_decline;

export function handle(ctx, { from, value, bytes, receivedAt, ip }) {
  const payload = withOptional({ from }, value, 'callId', 'reason');
  return ctx.relay.send({ event: 'call_decline', from, to: value.targetClientId, payload, bytes, receivedAt, ip });
}
