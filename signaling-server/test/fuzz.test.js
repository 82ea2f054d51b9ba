// The fuzzer, small: 5,000 malformed messages (npm run fuzz does 100,000+).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSummary, judge, runFuzz } from '../bench/fuzz_core.js';

test('5,000 malformed messages: server stays up, legit calls unaffected', async () => {
  const result = await runFuzz({ messages: 5000, maxSeconds: 30, attackers: 40, floodSockets: 1, floodPerSocket: 1500 });
  const problems = judge(result, { minMessages: 5000, maxPeakRssMb: 400 });
  assert.deepEqual(problems, [], formatSummary(result));
});
