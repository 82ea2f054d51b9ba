// offer_sdp: caller → callee. The SDP is forwarded untouched: old clients
// send it as a JSON string, new ones as {type, sdp}; the receiver gets
// exactly what its peer sent.
import { schemas } from '../schema.js';
import { withOptional } from './common.js';

export const schema = schemas.offer_sdp;

export function handle(ctx, { from, value, bytes, receivedAt, ip }) {
  const payload = withOptional({ from, sdp: value.sdp }, value, 'callId', 'sasCommit');
  return ctx.relay.send({ event: 'offer_sdp', from, to: value.targetClientId, payload, bytes, receivedAt, ip });
}
