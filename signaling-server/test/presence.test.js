// No presence oracle, checked on the relay itself with a mocked clock:
// unknown and offline targets take the same path and get the same answer at
// the same moment. (Its own file: mocking the process's timers must not
// touch the sockets other tests are still closing.)
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCallPolicy, createMemoryCallStore } from '../src/calls.js';
import { DEFAULTS } from '../src/config.js';
import { createMemoryLimiter } from '../src/limiter.js';
import { silentLogger } from '../src/log.js';
import { createMemoryRegistry } from '../src/registry.js';
import { createRelay } from '../src/relay.js';
import { RELAXED_LIMITS } from './helpers.js';

test('no presence oracle: unknown and offline targets get the identical answer at the identical time (mocked clock)', async (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const sent = [];
  const fakeSocket = (id) => ({ id, emit: (event, payload) => sent.push({ to: id, event, payload }) });
  const sockets = new Map([['s-caller', fakeSocket('s-caller')]]);
  const io = { of: () => ({ sockets }), to: (id) => fakeSocket(id) };
  const registry = createMemoryRegistry({ idTtlMs: 1e9 });
  t.after(() => registry.close());
  await registry.claim('caller', 'c'.repeat(32), 's-caller');
  await registry.claim('was-here', 'w'.repeat(32), 's-was-here');
  await registry.release('was-here', 's-was-here');
  const config = { ...DEFAULTS, ...RELAXED_LIMITS };
  const calls = createCallPolicy({ store: createMemoryCallStore(), limiter: createMemoryLimiter(), config });
  const errors = [];
  const relay = createRelay({ io, registry, calls, log: silentLogger, offlineQueueMs: 5000, sendError: (target, e) => errors.push({ e, at: Date.now() }) });
  t.after(() => relay.close());
  const send = (to, event) => relay.send({ event, from: 'caller', to, payload: { from: 'caller', sdp: 'v=0', callId: 'k' }, bytes: 10, ip: '192.0.2.1' });
  const flush = () => new Promise((resolve) => setImmediate(resolve));
  for (const to of ['was-here', 'never-was']) {
    await send(to, 'offer_sdp');
    await send(to, 'send_ice');
  }
  mock.timers.tick(4999);
  await flush();
  assert.equal(errors.length, 0, 'nothing before OFFLINE_QUEUE_MS');
  mock.timers.tick(1);
  await flush();
  const shape = ({ e }) => ({ ...e, targetClientId: 'T', message: e.message.replace(/was-here|never-was/, 'T') });
  assert.equal(errors.length, 4);
  const byTarget = (id) => errors.filter(({ e }) => e.targetClientId === id).map(shape);
  assert.deepEqual(byTarget('was-here'), byTarget('never-was'));
  assert.deepEqual(sent, [], 'nothing was delivered anywhere');
});

