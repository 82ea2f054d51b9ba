// busy: callee → caller, already in another call.
import { schemas } from '../schema.js';
import { withOptional } from './common.js';

export const schema = schemas.busy;

export function handle(ctx, { from, value, bytes, receivedAt, ip }) {
  const payload = withOptional({ from }, value, 'callId');
  return ctx.relay.send({ event: 'busy', from, to: value.targetClientId, payload, bytes, receivedAt, ip });
}
