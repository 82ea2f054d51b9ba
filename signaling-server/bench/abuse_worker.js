// Child process of bench/abuse.js: runs one attack from bench/abuse_attacks.js
// and reports what the attacker got. Separate from the orchestrator so the
// attacker's CPU use lands on the machine, as a real attacker's would, not
// in the event loop that times the legit users.
//
// IPC: { attack, port, seconds, legit, maxPayload } → { type: 'done', got, unit } | { type: 'failed', error }

import { ATTACKS } from './abuse_attacks.js';

process.once('message', async ({ attack, port, seconds, legit, maxPayload }) => {
  try {
    const result = await ATTACKS[attack]({ port, seconds, legit, maxPayload });
    process.send({ type: 'done', ...result }, () => process.exit(0));
  } catch (err) {
    process.send({ type: 'failed', error: String(err?.stack ?? err) }, () => process.exit(1));
  }
});
