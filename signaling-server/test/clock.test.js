// src/clock.js: one clock reading per run of the event loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runMonotonicMs, runWallMs } from '../src/clock.js';

test('run clocks: every caller in one run gets the same reading; the next run reads afresh', async () => {
  await new Promise((r) => setImmediate(r)); // start from a fresh run
  const [m, w] = [runMonotonicMs(), runWallMs()];
  // Time passes within the run (spin past the next millisecond)…
  const until = performance.now() + 2;
  while (performance.now() < until);
  // …but the run's reading stands, for both clocks.
  assert.equal(runMonotonicMs(), m);
  assert.equal(runWallMs(), w);
  await new Promise((r) => setImmediate(r));
  // Bracketed by Date.now() rather than compared within 1 ms: the process can be
  // descheduled between any two lines on a loaded machine.
  const before = Date.now();
  const m2 = runMonotonicMs();
  const w2 = runWallMs();
  const after = Date.now();
  assert.ok(m2 >= m + 2, 'a new run reads the clock again');
  assert.ok(w2 >= before && w2 <= after, `wall ${w2} read in this run, within [${before}, ${after}]`);
});
