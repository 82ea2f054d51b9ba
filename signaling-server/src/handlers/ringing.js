// ringing: callee → caller, so the caller can show "ringing…".
import { schemas } from '../schema.js';
import { withOptional } from './common.js';

export const schema = schemas.ringing;

export function handle(ctx, { from, value, bytes, receivedAt, ip }) {
  const payload = withOptional({ from }, value, 'callId');
  return ctx.relay.send({ event: 'ringing', from, to: value.targetClientId, payload, bytes, receivedAt, ip });
}
