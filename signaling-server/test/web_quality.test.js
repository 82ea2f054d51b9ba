// The web client's quality line from getStats (public/quality.js), with the
// desktop's thresholds and wording (src/ui/widget/quality.rs tests, ported).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPoor, qualityBadge, qualityBetween, qualitySummary, sampleFromStats } from '../public/quality.js';

const sample = (at, received, lost, bytes, rttMs, jitterMs) => ({ at, packetsReceived: received, packetsLost: lost, bytesReceived: bytes, bytesSent: bytes, rttMs, jitterMs });

test('good call numbers over an interval', () => {
  const first = sample(0, 100, 0, 4000, 40, 2);
  const second = sample(1000, 150, 0, 8000, 42, 3);
  const q = qualityBetween(first, second);
  assert.equal(q.lossPercent, 0);
  assert.ok(Math.abs(q.kbpsIn - 32) < 1e-9, JSON.stringify(q));
  assert.equal(qualitySummary(q), 'RTT 42 ms · loss 0.0 % · jitter 3 ms · 32↑ 32↓ kbit/s');
  assert.equal(qualitySummary(qualityBetween(null, second)), 'RTT 42 ms · loss 0.0 % · jitter 3 ms · – kbit/s');
  assert.equal(isPoor(q), false);
  assert.deepEqual(qualityBadge(q), { label: 'Good connection', detail: qualitySummary(q), tone: 'ok' });
  assert.deepEqual(qualityBadge(null), { label: 'Measuring…', detail: '', tone: 'muted' });
});

test('loss, RTT or jitter make it poor; unknown or sub-millisecond RTT reads as such', () => {
  const lossy = qualityBetween(sample(0, 100, 0, 0, 40, 2), sample(1000, 190, 10, 0, 40, 2));
  assert.ok(Math.abs(lossy.lossPercent - 10) < 1e-9);
  assert.equal(isPoor(lossy), true);
  assert.equal(qualityBadge(lossy).label, 'Poor connection');
  assert.equal(isPoor(qualityBetween(null, sample(0, 10, 0, 0, 450, 2))), true);
  assert.equal(isPoor(qualityBetween(null, sample(0, 10, 0, 0, 40, 45))), true);
  assert.match(qualitySummary(qualityBetween(null, sample(0, 1, 0, 0, null, 0))), /^RTT – /);
  assert.match(qualitySummary(qualityBetween(null, sample(0, 1, 0, 0, 0.4, 0))), /^RTT <1 ms /);
});

test('a getStats report: audio RTP counters, the selected pair’s RTT (else RTCP’s), jitter in ms', () => {
  const report = [
    { id: 'T', type: 'transport', selectedCandidatePairId: 'P' },
    { id: 'P', type: 'candidate-pair', currentRoundTripTime: 0.042 },
    { id: 'Q', type: 'candidate-pair', currentRoundTripTime: 0.9 },
    { id: 'I', type: 'inbound-rtp', kind: 'audio', packetsReceived: 500, packetsLost: 3, bytesReceived: 40_000, jitter: 0.004 },
    { id: 'V', type: 'inbound-rtp', kind: 'video', packetsReceived: 9999, packetsLost: 99, bytesReceived: 9_999_999, jitter: 1 },
    { id: 'O', type: 'outbound-rtp', kind: 'audio', bytesSent: 41_000 },
    { id: 'R', type: 'remote-inbound-rtp', kind: 'audio', roundTripTime: 0.05 },
  ];
  assert.deepEqual(sampleFromStats(report, 7), { at: 7, rttMs: 42, jitterMs: 4, packetsReceived: 500, packetsLost: 3, bytesReceived: 40_000, bytesSent: 41_000 });
  assert.equal(sampleFromStats(report.filter((s) => s.type !== 'transport'), 0).rttMs, 50);
  assert.equal(sampleFromStats([], 0).rttMs, null);
});
