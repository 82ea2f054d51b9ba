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
