// offer_sdp: caller → callee. The SDP is forwarded untouched: old clients
// send it as a JSON string, new ones as {type, sdp}; the receiver gets
// exactly what its peer sent.
import { encodeSdpRelay } from '../relay_encoding.js';
import { schemas } from '../schema.js';
import { withOptional } from './common.js';

export const schema = schemas.offer_sdp;

export function handle(ctx, { from, value, bytes, text, receivedAt, ip }) {
  const payload = withOptional({ from, sdp: value.sdp }, value, 'callId', 'sasCommit');
  // The packet as socket.io would encode it, with the SDP's text as received.
  const encoded = encodeSdpRelay('offer_sdp', payload, text);
  return ctx.relay.send({ event: 'offer_sdp', from, to: value.targetClientId, payload, encoded, bytes, receivedAt, ip });
}
