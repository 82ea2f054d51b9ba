// sas_reveal: caller → callee, the caller's security-code nonce, sent once the
// answer is in. The server passes it on like any call message; it cannot use
// it to change the code (PROTOCOL.md, "The security code").
import { schemas } from '../schema.js';
import { withOptional } from './common.js';

export const schema = schemas.sas_reveal;

export function handle(ctx, { from, value, bytes, receivedAt, ip }) {
  const payload = withOptional({ from, nonce: value.nonce }, value, 'callId');
  return ctx.relay.send({ event: 'sas_reveal', from, to: value.targetClientId, payload, bytes, receivedAt, ip });
}
