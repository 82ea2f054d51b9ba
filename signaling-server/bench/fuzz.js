#!/usr/bin/env node
// npm run fuzz [-- --messages N --seconds S]
// ≥ 100,000 malformed messages against a real server process while two
// legit clients keep calling each other; see bench/fuzz_core.js. Exits 1 if
// the server falls over, a legit round fails, or RSS grows past the limit.

import { parseArgs } from 'node:util';
import { formatSummary, judge, runFuzz } from './fuzz_core.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '55' },
    attackers: { type: 'string', default: '64' },
  },
});
const messages = Number(values.messages);
const maxSeconds = Number(values.seconds);

console.log(`fuzzing: ≥ ${messages} malformed messages, at most ${maxSeconds} s, ${values.attackers} paced attackers + 3 flooders + garbage auth`);
const result = await runFuzz({ messages, maxSeconds, attackers: Number(values.attackers), progress: (l) => console.log(l) });
console.log(`\n${formatSummary(result)}`);
const problems = judge(result, { minMessages: messages, maxPeakRssMb: 512 });
if (problems.length) {
  console.log(`\nFAIL:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log('\nPASS');
process.exit(0);
