// answer_sdp: callee → caller; same shape and passthrough rules as offer_sdp.
import { encodeSdpRelay } from '../relay_encoding.js';
import { schemas } from '../schema.js';
import { withOptional } from './common.js';

export const schema = schemas.answer_sdp;

export function handle(ctx, { from, value, bytes, text, receivedAt, ip }) {
  const payload = withOptional({ from, sdp: value.sdp }, value, 'callId', 'sasNonce');
  // The packet as socket.io would encode it, with the SDP's text as received.
  const encoded = encodeSdpRelay('answer_sdp', payload, text);
  return ctx.relay.send({ event: 'answer_sdp', from, to: value.targetClientId, payload, encoded, bytes, receivedAt, ip });
}
