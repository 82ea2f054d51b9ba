import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientError, ErrorCode, emitError, makeError } from '../src/errors.js';

test('all protocol codes exist', () => {
  assert.deepEqual(Object.keys(ErrorCode).sort(), [
    'ADDRESS_BLOCKED',
    'ID_TAKEN',
    'INTERNAL',
    'INVALID_ID',
    'INVALID_PAYLOAD',
    'INVALID_TARGET',
    'INVALID_TOKEN',
    'NOT_IN_CALL',
    'PAYLOAD_TOO_LARGE',
    'PEER_NOT_FOUND',
    'RATE_LIMITED',
    'REGISTRY_FULL',
    'SESSION_REPLACED',
    'UNKNOWN_EVENT',
  ]);
});

test('makeError omits unknown optional fields and clips echoes', () => {
  assert.deepEqual(makeError('ID_TAKEN', 'taken'), { code: 'ID_TAKEN', message: 'taken' });
  const e = makeError('PEER_NOT_FOUND', 'gone', { event: 'offer_sdp', targetClientId: 'abc', callId: undefined });
  assert.deepEqual(e, { code: 'PEER_NOT_FOUND', message: 'gone', event: 'offer_sdp', targetClientId: 'abc' });
  assert.equal(makeError('UNKNOWN_EVENT', 'x', { event: 'e'.repeat(500) }).event.length, 64);
  assert.throws(() => makeError('NOPE', 'x'));
});

test('emitError emits server_error and error with the same payload', () => {
  const calls = [];
  const err = makeError('INTERNAL', 'oops');
  emitError({ emit: (...a) => calls.push(a) }, err);
  assert.deepEqual(calls, [
    ['server_error', err],
    ['error', err],
  ]);
});

test('ClientError carries the code', () => {
  const e = new ClientError('INVALID_ID', 'bad');
  assert.ok(e instanceof Error);
  assert.equal(e.code, 'INVALID_ID');
});
