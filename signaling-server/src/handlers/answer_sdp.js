// answer_sdp: callee → caller; same shape and passthrough rules as offer_sdp.
import { schemas } from '../schema.js';
import { withOptional } from './common.js';

export const schema = schemas.answer_sdp;

export function handle(ctx, { from, value, bytes, receivedAt, ip }) {
  const payload = withOptional({ from, sdp: value.sdp }, value, 'callId', 'sasNonce');
  return ctx.relay.send({ event: 'answer_sdp', from, to: value.targetClientId, payload, bytes, receivedAt, ip });
}
