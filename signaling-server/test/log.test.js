import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../src/log.js';

function capture(level) {
  const lines = [];
  const log = createLogger({ level, stream: { write: (s) => lines.push(s) } });
  return { log, lines };
}

test('one JSON object per line with level, time and msg', () => {
  const { log, lines } = capture('info');
  log.info({ port: 1234, host: '127.0.0.1' }, 'listening');
  assert.equal(lines.length, 1);
  assert.ok(lines[0].endsWith('\n'));
  assert.equal(lines[0].indexOf('\n'), lines[0].length - 1);
  const rec = JSON.parse(lines[0]);
  assert.equal(rec.msg, 'listening');
  assert.equal(rec.level, 'info');
  assert.equal(rec.port, 1234);
  assert.ok(!Number.isNaN(Date.parse(rec.time)));
});

test('level threshold', () => {
  const { log, lines } = capture('warn');
  log.debug('a');
  log.info('b');
  log.warn('c');
  log.error('d');
  assert.deepEqual(lines.map((l) => JSON.parse(l).msg), ['c', 'd']);
  const silent = capture('silent');
  silent.log.error('x');
  assert.equal(silent.lines.length, 0);
});

test('tokens and SDP bodies are redacted, errors serialized', () => {
  const { log, lines } = capture('debug');
  log.info({ token: 'secret-token-value', sdp: 'v=0...', nested: { candidate: 'c' }, err: new Error('boom') }, 'x');
  const text = lines[0];
  assert.ok(!text.includes('secret-token-value'));
  assert.ok(!text.includes('v=0'));
  const rec = JSON.parse(text);
  assert.equal(rec.token, '[redacted]');
  assert.equal(rec.nested.candidate, '[redacted]');
  assert.equal(rec.err.message, 'boom');
});

test('circular fields do not throw', () => {
  const { log, lines } = capture('info');
  const o = {};
  o.self = o;
  log.info({ o }, 'circular');
  assert.equal(JSON.parse(lines[0]).msg, 'circular');
});

test('child loggers add bindings', () => {
  const { log, lines } = capture('info');
  log.child({ component: 'relay' }).info('hi');
  assert.equal(JSON.parse(lines[0]).component, 'relay');
});

test('unknown level is rejected', () => {
  assert.throws(() => createLogger({ level: 'loud' }));
});
