import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_PAYLOAD_DEPTH, exceedsDepth, inspectValue } from '../src/json_limits.js';

test('exceedsDepth counts brackets outside strings only', () => {
  assert.equal(exceedsDepth('[[1]]', 2), false);
  assert.equal(exceedsDepth('[[[1]]]', 2), true);
  assert.equal(exceedsDepth('{"a":{"b":{}}}', 3), false);
  assert.equal(exceedsDepth('{"a":{"b":{}}}', 2), true);
  assert.equal(exceedsDepth('["[[[[[[", 1]', 1), false);
  assert.equal(exceedsDepth('["\\"[[[[[[", 1]', 1), false, 'escaped quote does not end the string');
  assert.equal(exceedsDepth('["\\\\", [[1]]]', 2), true, 'escaped backslash does end it');
  assert.equal(exceedsDepth('["unterminated [[[[', 1), false, 'garbage is left to JSON.parse');
});

test('exceedsDepth stops early on a huge deep frame', () => {
  const deep = '['.repeat(140_000) + ']'.repeat(140_000);
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) assert.equal(exceedsDepth(deep, 33), true);
  assert.ok(performance.now() - t0 < 50, 'each check is microseconds');
});

test('inspectValue checks depth without recursion', () => {
  let v = 1;
  for (let i = 0; i < 200_000; i++) v = [v];
  assert.equal(inspectValue(v, MAX_PAYLOAD_DEPTH, Infinity), 'deep');
  assert.equal(inspectValue({ a: { b: [1] } }, 3, Infinity), null);
  assert.equal(inspectValue({ a: { b: [1] } }, 2, Infinity), 'deep');
});

test('inspectValue: lower bound on the serialized size', () => {
  assert.equal(inspectValue({ a: 'x'.repeat(100) }, 32, 1000), null);
  assert.equal(inspectValue({ a: 'x'.repeat(1000) }, 32, 1000), 'large');
  assert.equal(inspectValue({ big: new Array(5000).fill(0) }, 32, 1000), 'large');
  // Never claims "large" for something that fits.
  for (const v of [{ a: 'é'.repeat(300) }, { n: [1.5, -2, true, null, 'x'] }, { '': {} }]) {
    const bytes = Buffer.byteLength(JSON.stringify(v));
    assert.equal(inspectValue(v, 32, bytes), null, JSON.stringify(v));
  }
});
