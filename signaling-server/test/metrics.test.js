// GET /metrics: Prometheus text format, and the numbers move.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectRegistered, fakeClock, once, startServer, waitUntil } from './helpers.js';

/** Parse exposition text into { 'name{labels}': value }. */
function parse(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

async function scrapeNow(url, headers = {}) {
  const res = await fetch(`${url}/metrics`, { headers });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

/** Value of the first series of `name` carrying every given label. */
const find = (m, name, ...labels) => {
  const key = Object.keys(m).find((k) => k.startsWith(`${name}{`) && labels.every((l) => k.includes(l)));
  return key === undefined ? 0 : m[key];
};

test('metrics: clients gauge, relayed/errors counters, latency histogram, process metrics', async (t) => {
  // Scrapes are cached for a second: each one below moves the clock past it.
  const clock = fakeClock();
  const { server, url } = await startServer({ nodeId: 'metrics-node' }, { clock });
  t.after(() => server.close());
  const scrape = (u) => (clock.advance(1000), scrapeNow(u));

  let m = await scrape(url);
  assert.equal(find(m, 'voicecall_connected_clients'), 0);
  assert.ok(Object.keys(m).some((k) => k.startsWith('process_cpu_user_seconds_total')), 'default process metrics');
  assert.ok(Object.keys(m).some((k) => k.startsWith('nodejs_eventloop_lag_seconds')), 'event loop lag');
  assert.ok(Object.keys(m).some((k) => k.includes('node="metrics-node"')), 'node label');
  // Every series carries it, the process's and Node's too.
  const unlabelled = Object.keys(m).filter((k) => !k.includes('node="metrics-node"'));
  assert.deepEqual(unlabelled, []);
  assert.ok(Object.keys(m).some((k) => k.startsWith('process_cpu_user_seconds_total{node="metrics-node"}')));

  const a = await connectRegistered(url);
  const b = await connectRegistered(url);
  t.after(() => {
    a.socket.close();
    b.socket.close();
  });
  m = await scrape(url);
  assert.equal(find(m, 'voicecall_connected_clients'), 2);

  a.socket.emit('offer_sdp', { targetClientId: b.id, sdp: { type: 'offer', sdp: 'v=0' } });
  await once(b.socket, 'offer_sdp');
  for (let i = 0; i < 3; i++) {
    a.socket.emit('send_ice', { targetClientId: b.id, candidate: `c${i}` });
    await once(b.socket, 'send_ice');
  }
  a.socket.emit('ringing', { targetClientId: 'nobody-here' });
  await once(a.socket, 'server_error'); // NOT_IN_CALL
  a.socket.emit('bogus_event', {});
  await once(a.socket, 'server_error');

  m = await scrape(url);
  assert.equal(find(m, 'voicecall_messages_relayed_total', 'event="offer_sdp"'), 1);
  assert.equal(find(m, 'voicecall_messages_relayed_total', 'event="send_ice"'), 3);
  assert.equal(find(m, 'voicecall_errors_total', 'code="NOT_IN_CALL"'), 1);
  assert.equal(find(m, 'voicecall_errors_total', 'code="UNKNOWN_EVENT"'), 1);
  assert.equal(find(m, 'voicecall_relay_latency_seconds_count', 'event="send_ice"'), 3);
  const sum = find(m, 'voicecall_relay_latency_seconds_sum', 'event="send_ice"');
  assert.ok(sum > 0 && sum < 1, `latency sum ${sum}`);
  // Cumulative buckets: the +Inf bucket holds every observation.
  assert.equal(find(m, 'voicecall_relay_latency_seconds_bucket', 'le="+Inf"', 'event="send_ice"'), 3);

  b.socket.close();
  await waitUntil(async () => find(await scrape(url), 'voicecall_connected_clients') === 1);
});

test('METRICS_TOKEN: /metrics only with the bearer token; refused requests cost no render', async (t) => {
  const token = 'a-long-metrics-token';
  const { server, url } = await startServer({ metricsToken: token });
  t.after(() => server.close());
  let renders = 0;
  const render = server.metrics.render;
  server.metrics.render = () => (renders++, render());
  for (const headers of [{}, { authorization: 'Bearer wrong-token-of-same-len' }, { authorization: `Basic ${token}` }, { authorization: `Bearer ${token}x` }]) {
    const res = await fetch(`${url}/metrics`, { headers });
    assert.equal(res.status, 401, JSON.stringify(headers));
    assert.match(res.headers.get('www-authenticate'), /^Bearer/);
    await res.arrayBuffer();
  }
  assert.equal(renders, 0);
  const m = await scrapeNow(url, { authorization: `Bearer ${token}` });
  assert.ok('voicecall_connected_clients{node="' + server.config.nodeId + '"}' in m);
  assert.equal(renders, 1);
});

test('METRICS_PORT: /metrics on its own listener only; /healthz on both', async (t) => {
  const { server, url } = await startServer({ metricsPort: 0, metricsHost: '127.0.0.1' });
  t.after(() => server.close());
  const metricsUrl = `http://127.0.0.1:${server.metricsAddress.port}`;
  const onMain = await fetch(`${url}/metrics`);
  assert.equal(onMain.status, 404);
  await onMain.arrayBuffer();
  assert.ok('voicecall_connected_clients' in Object.fromEntries(Object.keys(await scrapeNow(metricsUrl)).map((k) => [k.replace(/\{.*/, ''), 1])));
  for (const base of [url, metricsUrl]) assert.equal((await fetch(`${base}/healthz`)).status, 200);
});

test('a flood of scrapes costs one render per second', async (t) => {
  const { server, url } = await startServer();
  t.after(() => server.close());
  let renders = 0;
  const render = server.metrics.render;
  server.metrics.render = () => (renders++, render());
  const original = server.metrics.registry.metrics.bind(server.metrics.registry);
  let collected = 0;
  server.metrics.registry.metrics = () => (collected++, original());
  await Promise.all(Array.from({ length: 50 }, () => fetch(`${url}/metrics`).then((r) => r.text())));
  assert.equal(renders, 50);
  assert.equal(collected, 1, 'the 50 requests shared one collection');
});

test('relay latency histogram: a value on a bound counts in that bucket; buckets are cumulative; reset empties it', async () => {
  const { createLatencyHistogram } = await import('../src/latency_histogram.js');
  const h = createLatencyHistogram({ name: 'h_seconds', help: 'h', labelName: 'event', buckets: [0.001, 0.01] });
  for (const v of [0.0005, 0.001, 0.005, 0.01, 0.5]) h.observe('x', v);
  h.observe('y', 0.002);
  const values = h.get().values.map((v) => [v.metricName, v.labels.event, v.labels.le, v.value]);
  assert.deepEqual(values, [
    ['h_seconds_bucket', 'x', 0.001, 2],
    ['h_seconds_bucket', 'x', 0.01, 4],
    ['h_seconds_bucket', 'x', '+Inf', 5],
    ['h_seconds_sum', 'x', undefined, 0.0005 + 0.001 + 0.005 + 0.01 + 0.5],
    ['h_seconds_count', 'x', undefined, 5],
    ['h_seconds_bucket', 'y', 0.001, 0],
    ['h_seconds_bucket', 'y', 0.01, 1],
    ['h_seconds_bucket', 'y', '+Inf', 1],
    ['h_seconds_sum', 'y', undefined, 0.002],
    ['h_seconds_count', 'y', undefined, 1],
  ]);
  h.reset();
  assert.deepEqual(h.get().values, []);
});
