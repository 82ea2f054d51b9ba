import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePayload, schemas, validate } from '../src/schema.js';

const MAX = 1024;
const code = (fn) => {
  try {
    fn();
  } catch (err) {
    return err.code;
  }
  return 'no error';
};

test('decodes objects and JSON strings to the same object', () => {
  const obj = { targetClientId: 'abc', sdp: 'x' };
  assert.deepEqual(decodePayload([obj], MAX).data, obj);
  assert.deepEqual(decodePayload([JSON.stringify(obj)], MAX).data, obj);
  assert.equal(decodePayload([JSON.stringify(obj)], MAX).bytes, JSON.stringify(obj).length);
});

test('ignores a trailing ack callback', () => {
  assert.deepEqual(decodePayload([{ a: 1 }, () => {}], MAX).data, { a: 1 });
  assert.equal(code(() => decodePayload([() => {}], MAX)), 'INVALID_PAYLOAD');
});

for (const [name, args] of [
  ['missing', []],
  ['undefined', [undefined]],
  ['number', [42]],
  ['boolean', [true]],
  ['null', [null]],
  ['array', [[1, 2]]],
  ['buffer', [Buffer.from('{}')]],
  ['arraybuffer', [new ArrayBuffer(4)]],
  ['bad JSON string', ['{nope']],
  ['JSON string of a number', ['5']],
  ['JSON string of null', ['null']],
  ['JSON string of an array', ['[]']],
  ['JSON string of a string', ['"x"']],
]) {
  test(`decode rejects ${name} with INVALID_PAYLOAD`, () => {
    assert.equal(code(() => decodePayload(args, MAX)), 'INVALID_PAYLOAD');
  });
}

test('size limit counts UTF-8 bytes of the serialized payload', () => {
  assert.equal(code(() => decodePayload(['x'.repeat(MAX + 1)], MAX)), 'PAYLOAD_TOO_LARGE');
  assert.equal(code(() => decodePayload(['é'.repeat(MAX / 2 + 1)], MAX)), 'PAYLOAD_TOO_LARGE');
  assert.equal(code(() => decodePayload([{ sdp: 'x'.repeat(MAX) }], MAX)), 'PAYLOAD_TOO_LARGE');
  const fits = JSON.stringify({ sdp: 'x'.repeat(MAX - 10) });
  assert.equal(fits.length, MAX);
  assert.equal(code(() => decodePayload([fits], MAX)), 'no error');
});

test('offer/answer schemas', () => {
  for (const event of ['offer_sdp', 'answer_sdp']) {
    const s = schemas[event];
    assert.deepEqual(validate(s, { targetClientId: 'abc', sdp: 'raw', extra: 1 }), { targetClientId: 'abc', sdp: 'raw' });
    const sdpObj = { type: 'offer', sdp: 'v=0' };
    assert.equal(validate(s, { targetClientId: 'abc', sdp: sdpObj, callId: 'c1' }).sdp, sdpObj);
    assert.equal(validate(s, { targetClientId: 'abc', sdp: { type: 'answer', sdp: '' } }).sdp.type, 'answer');
    assert.equal(code(() => validate(s, { sdp: 'x' })), 'INVALID_PAYLOAD');
    assert.equal(code(() => validate(s, { targetClientId: 'abc' })), 'INVALID_PAYLOAD');
    assert.equal(code(() => validate(s, { targetClientId: 5, sdp: 'x' })), 'INVALID_PAYLOAD');
    assert.equal(code(() => validate(s, { targetClientId: 'A!', sdp: 'x' })), 'INVALID_ID');
    assert.equal(code(() => validate(s, { targetClientId: 'abc', sdp: '' })), 'INVALID_PAYLOAD');
    assert.equal(code(() => validate(s, { targetClientId: 'abc', sdp: 7 })), 'INVALID_PAYLOAD');
    assert.equal(code(() => validate(s, { targetClientId: 'abc', sdp: { type: 'pranswer', sdp: 'x' } })), 'INVALID_PAYLOAD');
    assert.equal(code(() => validate(s, { targetClientId: 'abc', sdp: { type: 'offer' } })), 'INVALID_PAYLOAD');
    assert.equal(code(() => validate(s, { targetClientId: 'abc', sdp: 'x', callId: 'bad id' })), 'INVALID_PAYLOAD');
    assert.equal(code(() => validate(s, { targetClientId: 'abc', sdp: 'x', callId: 3 })), 'INVALID_PAYLOAD');
  }
});

test('security code fields: 64 lower-case hex digits, each on its own event', () => {
  const hex = 'ab'.repeat(32);
  assert.deepEqual(validate(schemas.offer_sdp, { targetClientId: 'abc', sdp: 'x', sasCommit: hex, sasNonce: hex }), {
    targetClientId: 'abc',
    sdp: 'x',
    sasCommit: hex,
  });
  assert.deepEqual(validate(schemas.answer_sdp, { targetClientId: 'abc', sdp: 'x', sasCommit: hex, sasNonce: hex }), {
    targetClientId: 'abc',
    sdp: 'x',
    sasNonce: hex,
  });
  assert.deepEqual(validate(schemas.offer_sdp, { targetClientId: 'abc', sdp: 'x', sasCommit: null }), { targetClientId: 'abc', sdp: 'x' });
  assert.deepEqual(validate(schemas.sas_reveal, { targetClientId: 'abc', callId: 'c', nonce: hex }), { targetClientId: 'abc', callId: 'c', nonce: hex });
  for (const bad of ['ab'.repeat(31), 'ab'.repeat(33), 'AB'.repeat(32), 'g'.repeat(64), ` ${hex}`, 5, {}, []]) {
    assert.equal(code(() => validate(schemas.offer_sdp, { targetClientId: 'abc', sdp: 'x', sasCommit: bad })), 'INVALID_PAYLOAD', `commit ${bad}`);
    assert.equal(code(() => validate(schemas.answer_sdp, { targetClientId: 'abc', sdp: 'x', sasNonce: bad })), 'INVALID_PAYLOAD', `nonce ${bad}`);
    assert.equal(code(() => validate(schemas.sas_reveal, { targetClientId: 'abc', nonce: bad })), 'INVALID_PAYLOAD', `reveal ${bad}`);
  }
  assert.equal(code(() => validate(schemas.sas_reveal, { targetClientId: 'abc' })), 'INVALID_PAYLOAD');
  assert.equal(code(() => validate(schemas.sas_reveal, { targetClientId: 'abc', nonce: null })), 'INVALID_PAYLOAD');
});

test('null optional fields count as absent; null required fields as missing', () => {
  assert.deepEqual(validate(schemas.ringing, { targetClientId: 'abc', callId: null }), { targetClientId: 'abc' });
  assert.equal(code(() => validate(schemas.ringing, { targetClientId: null })), 'INVALID_PAYLOAD');
});

test('send_ice schema', () => {
  const s = schemas.send_ice;
  assert.deepEqual(validate(s, { targetClientId: 'abc', candidate: '' }), { targetClientId: 'abc', candidate: '' });
  assert.deepEqual(validate(s, { targetClientId: 'abc', candidate: 'c', mid: null, mLineIndex: null }), {
    targetClientId: 'abc',
    candidate: 'c',
    mid: null,
    mLineIndex: null,
  });
  assert.equal(validate(s, { targetClientId: 'abc', candidate: 'c', mid: '0', mLineIndex: 0 }).mLineIndex, 0);
  assert.equal(code(() => validate(s, { targetClientId: 'abc' })), 'INVALID_PAYLOAD');
  assert.equal(code(() => validate(s, { targetClientId: 'abc', candidate: null })), 'INVALID_PAYLOAD');
  assert.equal(code(() => validate(s, { targetClientId: 'abc', candidate: 1 })), 'INVALID_PAYLOAD');
  assert.equal(code(() => validate(s, { targetClientId: 'abc', candidate: 'c', mid: 0 })), 'INVALID_PAYLOAD');
  assert.equal(code(() => validate(s, { targetClientId: 'abc', candidate: 'c', mLineIndex: 1.5 })), 'INVALID_PAYLOAD');
  assert.equal(code(() => validate(s, { targetClientId: 'abc', candidate: 'c', mLineIndex: -1 })), 'INVALID_PAYLOAD');
  assert.equal(code(() => validate(s, { targetClientId: 'abc', candidate: 'c', mLineIndex: '0' })), 'INVALID_PAYLOAD');
});

test('reason rules and hangup default', () => {
  assert.deepEqual(validate(schemas.call_hangup, { targetClientId: 'abc' }), { targetClientId: 'abc', reason: 'hangup' });
  assert.equal(validate(schemas.call_hangup, { targetClientId: 'abc', reason: 'timeout' }).reason, 'timeout');
  assert.deepEqual(validate(schemas.call_decline, { targetClientId: 'abc' }), { targetClientId: 'abc' });
  assert.equal(validate(schemas.call_decline, { targetClientId: 'abc', reason: 'r'.repeat(64) }).reason.length, 64);
  assert.equal(code(() => validate(schemas.call_decline, { targetClientId: 'abc', reason: 'r'.repeat(65) })), 'INVALID_PAYLOAD');
  assert.equal(code(() => validate(schemas.call_hangup, { targetClientId: 'abc', reason: 1 })), 'INVALID_PAYLOAD');
});

test('inherited properties are not fields', () => {
  const data = Object.create({ targetClientId: 'abc' });
  assert.equal(code(() => validate(schemas.busy, data)), 'INVALID_PAYLOAD');
  const polluted = JSON.parse('{"__proto__": {"targetClientId": "abc"}}');
  assert.equal(code(() => validate(schemas.busy, polluted)), 'INVALID_PAYLOAD');
});

test('every client event has a schema with targetClientId', () => {
  assert.deepEqual(Object.keys(schemas).sort(), ['answer_sdp', 'busy', 'call_decline', 'call_hangup', 'offer_sdp', 'ringing', 'sas_reveal', 'send_ice']);
  for (const s of Object.values(schemas)) assert.ok(s.targetClientId.required);
});
