import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createThrottledLog } from '../src/log_throttle.js';
import { fakeClock, memoryLogger } from './helpers.js';

test('at most `burst` records per kind per interval; the next one says how many were left out', () => {
  const clock = fakeClock();
  const { logger, records } = memoryLogger();
  const warn = createThrottledLog(logger, { intervalMs: 1000, burst: 3, now: clock.now });
  for (let i = 0; i < 1000; i++) warn.warn('rejected ID_TAKEN', { n: i }, 'connection rejected');
  warn.warn('other kind', {}, 'other');
  assert.deepEqual(records.map((r) => [r.msg, r.n]), [['connection rejected', 0], ['connection rejected', 1], ['connection rejected', 2], ['other', undefined]]);
  clock.advance(1000);
  warn.warn('rejected ID_TAKEN', { n: 1000 }, 'connection rejected');
  assert.deepEqual([records.at(-1).n, records.at(-1).suppressed], [1000, 997]);
});
