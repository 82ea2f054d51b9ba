// The relayed SDP's text: where the decoder finds the payload's JSON text,
// and where rawFieldValue finds a field's value in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAYLOAD_TEXT } from '../src/json_limits.js';
import { createGuardedParser } from '../src/parser.js';
import { rawFieldValue } from '../src/relay_encoding.js';

function decode(frame) {
  const budgets = { connection: () => ({ admit: () => 'ok', chargeBytes() {} }) };
  const { Decoder } = createGuardedParser(budgets);
  const decoder = new Decoder();
  let packet;
  decoder.on('decoded', (p) => (packet = p));
  decoder.add(frame);
  return packet;
}

test('the decoder keeps the payload text only when the frame is exactly 2["event",{…}]', () => {
  const payload = '{"targetClientId":"you","sdp":{"type":"offer","sdp":"v=0\\r\\n"}}';
  assert.equal(decode(`2["offer_sdp",${payload}]`).data[1][PAYLOAD_TEXT], payload);
  assert.equal(decode(`21["offer_sdp",${payload}]`).data[1][PAYLOAD_TEXT], payload, 'an ack id changes nothing');
  for (const frame of [`2[ "offer_sdp",${payload}]`, `2["offer_sdp", ${payload}]`, `2["offer_sdp",${payload} ]`, `2["offer\\u005fsdp",${payload}]`]) {
    const packet = decode(frame);
    assert.equal(JSON.stringify(packet.data[1]), JSON.stringify(JSON.parse(payload)), frame);
    assert.equal(packet.data[1][PAYLOAD_TEXT], undefined, frame);
  }
});

test('rawFieldValue: the last top-level value of the key, as written; undefined when a key is escaped', () => {
  const text = '{"a":{"sdp":1},"x":"sdp","sdp" : "first" ,"sdp":{"type":"offer","sdp":"a\\"b"} }';
  assert.equal(rawFieldValue(text, 'sdp'), '{"type":"offer","sdp":"a\\"b"}');
  assert.deepEqual(JSON.parse(rawFieldValue(text, 'sdp')), JSON.parse(text).sdp);
  assert.equal(rawFieldValue('{"sdp":"s\\\\"}', 'sdp'), '"s\\\\"');
  assert.equal(rawFieldValue('{"a":1}', 'sdp'), undefined);
  assert.equal(rawFieldValue('{"s\\u0064p":2,"sdp":1}', 'sdp'), undefined);
});

test('rawFieldValue agrees with JSON.parse on 2,000 generated payloads (strings full of quotes, backslashes, brackets, commas)', () => {
  let seed = 42;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return Math.floor((seed / 2 ** 31) * n);
  };
  const pieces = ['"', '\\', '\\"', '\\\\"', '{', '}', '[', ']', ',', ':', 'sdp', '"sdp":', ' ', '\n', 'é', '\u2028', 'v=0\r\n'];
  const str = () => Array.from({ length: rand(8) }, () => pieces[rand(pieces.length)]).join('');
  const value = (depth) => {
    switch (depth > 2 ? rand(3) : rand(5)) {
      case 0:
        return str();
      case 1:
        return rand(1000) - 500;
      case 2:
        return [null, true, false][rand(3)];
      case 3:
        return Array.from({ length: rand(4) }, () => value(depth + 1));
      default:
        return Object.fromEntries(Array.from({ length: rand(4) }, () => [rand(3) ? str() : 'sdp', value(depth + 1)]));
    }
  };
  let found = 0;
  for (let i = 0; i < 2000; i++) {
    const payload = Object.fromEntries(Array.from({ length: 1 + rand(4) }, () => [rand(2) ? 'sdp' : str(), value(0)]));
    const text = JSON.stringify(payload, null, rand(3) === 0 ? ' '.repeat(rand(3)) : undefined);
    const raw = rawFieldValue(text, 'sdp');
    // A key written with an escape: not looked into (the caller encodes as usual).
    const escapedKey = Object.keys(payload).some((k) => JSON.stringify(k).includes('\\'));
    if (!Object.hasOwn(payload, 'sdp') || escapedKey) assert.equal(raw, undefined, text);
    else {
      assert.deepEqual(JSON.parse(raw), payload.sdp, text);
      found++;
    }
  }
  assert.ok(found > 500, `only ${found} payloads with a findable sdp`);
});
