// GET /metrics: Prometheus text format, and the numbers move.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectRegistered, once, startServer, waitUntil } from './helpers.js';

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

async function scrape(url) {
  const res = await fetch(`${url}/metrics`);
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
  const { server, url } = await startServer({ nodeId: 'metrics-node' });
  t.after(() => server.close());

  let m = await scrape(url);
  assert.equal(find(m, 'voicecall_connected_clients'), 0);
  assert.ok(Object.keys(m).some((k) => k.startsWith('process_cpu_user_seconds_total')), 'default process metrics');
  assert.ok(Object.keys(m).some((k) => k.startsWith('nodejs_eventloop_lag_seconds')), 'event loop lag');
  assert.ok(Object.keys(m).some((k) => k.includes('node="metrics-node"')), 'node label');

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
  await once(a.socket, 'server_error');
  a.socket.emit('bogus_event', {});
  await once(a.socket, 'server_error');

  m = await scrape(url);
  assert.equal(find(m, 'voicecall_messages_relayed_total', 'event="offer_sdp"'), 1);
  assert.equal(find(m, 'voicecall_messages_relayed_total', 'event="send_ice"'), 3);
  assert.equal(find(m, 'voicecall_errors_total', 'code="PEER_NOT_FOUND"'), 1);
  assert.equal(find(m, 'voicecall_errors_total', 'code="UNKNOWN_EVENT"'), 1);
  assert.equal(find(m, 'voicecall_relay_latency_seconds_count', 'event="send_ice"'), 3);
  const sum = find(m, 'voicecall_relay_latency_seconds_sum', 'event="send_ice"');
  assert.ok(sum > 0 && sum < 1, `latency sum ${sum}`);
  // Cumulative buckets: the +Inf bucket holds every observation.
  assert.equal(find(m, 'voicecall_relay_latency_seconds_bucket', 'le="+Inf"', 'event="send_ice"'), 3);

  b.socket.close();
  await waitUntil(async () => find(await scrape(url), 'voicecall_connected_clients') === 1);
});
