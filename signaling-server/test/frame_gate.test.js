// src/frame_gate.js against stand-ins for engine.io's connection and ws:
// which frames reach engine.io's listener, what the budget is told, and
// that nothing thrown while refusing escapes into ws's read loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createBudgets } from '../src/budgets.js';
import { DEFAULTS } from '../src/config.js';
import { gateFrames } from '../src/frame_gate.js';
import { createGuardedParser } from '../src/parser.js';
import { fakeClock } from './helpers.js';

// An engine.io connection on `transportName`, whose transport's ws has
// engine.io's one 'message' listener (recording what it was handed).
function fakeConn(transportName) {
  const delivered = [];
  const ws = new EventEmitter();
  ws.on('message', (data, isBinary) => delivered.push([String(data), isBinary]));
  const conn = new EventEmitter();
  conn.transport = { name: transportName, socket: ws };
  return { conn, ws, delivered };
}

// A decoder stand-in that admits `admitted` packets, then refuses.
function fakeDecoder(admitted) {
  const calls = [];
  return {
    gated: false,
    calls,
    admitPacket(bytes, reply, head) {
      calls.push({ bytes, reply, head: String(head) });
      return calls.length <= admitted;
    },
  };
}

test('frame gate: Engine.IO messages are charged by their bytes before engine.io sees them; refused ones never reach it', () => {
  const { conn, ws, delivered } = fakeConn('websocket');
  const decoder = fakeDecoder(1);
  assert.equal(gateFrames(conn, decoder, assert.fail), true);
  assert.equal(decoder.gated, true);
  const offer = `42${JSON.stringify(['offer_sdp', { targetClientId: 'b-b-b', sdp: 'é'.repeat(600) }])}`;
  ws.emit('message', Buffer.from(offer), false);
  ws.emit('message', Buffer.from(offer), false);
  ws.emit('message', Buffer.from('3'), false); // a pong: not a Socket.IO packet, not charged
  ws.emit('message', Buffer.from([1, 2, 3]), true); // an attachment: the decoder charges it
  assert.deepEqual(delivered, [[offer, false], ['3', false], ['\u0001\u0002\u0003', true]]);
  // UTF-8 bytes without the "4": 'é' is two.
  assert.deepEqual(
    decoder.calls.map((c) => [c.bytes, c.reply]),
    [
      [Buffer.byteLength(offer) - 1, false],
      [Buffer.byteLength(offer) - 1, false],
    ],
  );
});

test('frame gate: small automatic replies are told apart for their own allowance', () => {
  const { conn, ws } = fakeConn('websocket');
  const decoder = fakeDecoder(10);
  gateFrames(conn, decoder, assert.fail);
  ws.emit('message', Buffer.from(`42${JSON.stringify(['busy', { targetClientId: 'b-b-b', callId: 'c' }])}`), false);
  ws.emit('message', Buffer.from(`42${JSON.stringify(['busy', { targetClientId: 'b-b-b', callId: 'c', pad: 'x'.repeat(600) }])}`), false);
  ws.emit('message', Buffer.from(`42${JSON.stringify(['send_ice', { targetClientId: 'b-b-b', candidate: 'c' }])}`), false);
  assert.deepEqual(
    decoder.calls.map((c) => c.reply),
    [true, false, false],
  );
});

test('frame gate: long-polling stays with the decoder\'s check until the connection upgrades to WebSocket', () => {
  const { conn, delivered } = fakeConn('polling');
  const decoder = fakeDecoder(0);
  assert.equal(gateFrames(conn, decoder, assert.fail), false);
  assert.equal(decoder.gated, false);
  const upgraded = fakeConn('websocket');
  conn.transport = upgraded.conn.transport;
  conn.emit('upgrade', conn.transport);
  assert.equal(decoder.gated, true);
  upgraded.ws.emit('message', Buffer.from('42["send_ice",{}]'), false);
  assert.deepEqual(upgraded.delivered, [], 'refused on the new transport');
  assert.deepEqual(delivered, []);
});

test('frame gate: an exception while refusing closes that connection instead of escaping into ws', () => {
  const { conn, ws, delivered } = fakeConn('websocket');
  const decoder = {
    gated: false,
    admitPacket() {
      throw new Error('boom');
    },
  };
  const errors = [];
  gateFrames(conn, decoder, (err) => errors.push(err.message));
  assert.doesNotThrow(() => ws.emit('message', Buffer.from('42["send_ice",{}]'), false));
  assert.deepEqual(errors, ['boom']);
  assert.deepEqual(delivered, []);
});

test('frame gate: a refused binary packet\'s attachments are skipped, read from the frame\'s header', () => {
  const clock = fakeClock();
  const budgets = createBudgets({ ...DEFAULTS, rateLimitBurst: 1 }, { now: clock.now });
  const { Decoder } = createGuardedParser(budgets);
  const decoder = new Decoder();
  assert.equal(decoder.admitPacket(10, false, Buffer.from('42["a",{}]')), true);
  assert.equal(decoder.admitPacket(40, false, Buffer.from('452-["a",{"_placeholder":true,"num":0}]')), false);
  assert.equal(decoder.skipAttachments, 2);
});
