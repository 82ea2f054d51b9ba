import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GENERATED_ID_RE,
  ID_ALPHABET,
  generateId,
  generateToken,
  isGeneratedId,
  isValidCallId,
  isValidId,
  isValidToken,
} from '../src/ids.js';

test('alphabet has no ambiguous characters', () => {
  assert.equal(ID_ALPHABET, '23456789abcdefghjkmnpqrstuvwxyz');
  for (const c of '01ilo') assert.ok(!ID_ALPHABET.includes(c));
});

test('generated ids are xxx-xxx-xxx from the alphabet and valid ids', () => {
  const seen = new Set();
  for (let i = 0; i < 2000; i++) {
    const id = generateId();
    assert.match(id, GENERATED_ID_RE);
    assert.match(id, /^[23456789abcdefghjkmnpqrstuvwxyz]{3}-[23456789abcdefghjkmnpqrstuvwxyz]{3}-[23456789abcdefghjkmnpqrstuvwxyz]{3}$/);
    assert.ok(isValidId(id) && isGeneratedId(id));
    seen.add(id);
  }
  assert.equal(seen.size, 2000, 'collisions in 2000 draws from 31^9 are practically impossible');
});

test('every alphabet character eventually appears', () => {
  const chars = new Set();
  for (let i = 0; i < 500; i++) for (const c of generateId().replaceAll('-', '')) chars.add(c);
  assert.equal(chars.size, ID_ALPHABET.length);
});

test('custom id format', () => {
  for (const ok of ['abc', 'alice', 'a-b', 'k7m-q2x-9fd', '0ab', 'a'.repeat(32), 'x--y']) assert.ok(isValidId(ok), ok);
  for (const bad of ['ab', 'a'.repeat(33), '-ab', 'ab-', 'Abc', 'a_b', 'a b', 'ünï', '', null, 42, undefined, ['abc']]) {
    assert.ok(!isValidId(bad), String(bad));
  }
});

test('tokens', () => {
  const t = generateToken();
  assert.equal(t.length, 43);
  assert.match(t, /^[A-Za-z0-9_-]+$/);
  assert.ok(isValidToken(t));
  assert.notEqual(generateToken(), t);
  assert.ok(isValidToken('a'.repeat(16)) && isValidToken('a'.repeat(128)));
  for (const bad of ['a'.repeat(15), 'a'.repeat(129), 'abc+defghijklmnop', 'abc=defghijklmnopq', 5, null]) {
    assert.ok(!isValidToken(bad), String(bad));
  }
});

test('call ids', () => {
  for (const ok of ['a', 'call_1', 'A-b_C', 'x'.repeat(64)]) assert.ok(isValidCallId(ok));
  for (const bad of ['', 'x'.repeat(65), 'a b', 'a.b', 7, null]) assert.ok(!isValidCallId(bad));
});
