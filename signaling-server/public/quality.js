// The in-call quality line from RTCPeerConnection.getStats(): round-trip time,
// loss, jitter and bitrate, with the desktop app's thresholds and wording
// (src/ui/widget/quality.rs), so both ends of a call read alike.

export const POOR_LOSS_PERCENT = 5;
export const POOR_RTT_MS = 300;
export const POOR_JITTER_MS = 30;

/**
 * @typedef {{ at: number, rttMs: number | null, jitterMs: number, packetsReceived: number,
 *   packetsLost: number, bytesReceived: number, bytesSent: number }} Sample
 */

/**
 * One sample from a stats report (the report's values, e.g. [...report.values()]).
 * @param {Iterable<object>} entries
 * @param {number} at when the report was taken (ms)
 * @returns {Sample}
 */
export function sampleFromStats(entries, at) {
  const all = [...entries];
  const byId = new Map(all.map((s) => [s.id, s]));
  const sample = { at, rttMs: null, jitterMs: 0, packetsReceived: 0, packetsLost: 0, bytesReceived: 0, bytesSent: 0 };
  let pairRtt = null;
  let remoteRtt = null;
  for (const s of all) {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      sample.packetsReceived += s.packetsReceived ?? 0;
      sample.packetsLost += s.packetsLost ?? 0;
      sample.bytesReceived += s.bytesReceived ?? 0;
      sample.jitterMs = Math.max(sample.jitterMs, (s.jitter ?? 0) * 1000);
    } else if (s.type === 'outbound-rtp' && s.kind === 'audio') {
      sample.bytesSent += s.bytesSent ?? 0;
    } else if (s.type === 'transport' && s.selectedCandidatePairId) {
      const pair = byId.get(s.selectedCandidatePairId);
      if (typeof pair?.currentRoundTripTime === 'number') pairRtt = pair.currentRoundTripTime * 1000;
    } else if (s.type === 'remote-inbound-rtp' && typeof s.roundTripTime === 'number') {
      remoteRtt = s.roundTripTime * 1000;
    }
  }
  // The ICE pair's STUN round trip is measured every few seconds from the
  // start; RTCP's needs a receiver report first.
  sample.rttMs = pairRtt ?? remoteRtt;
  return sample;
}

/**
 * @typedef {{ rttMs: number | null, lossPercent: number, jitterMs: number,
 *   kbpsOut: number | null, kbpsIn: number | null }} Quality
 */

/**
 * Numbers between two samples (`previous` null for the first, which then
 * counts from the start of the call and has no bitrate yet).
 * @param {Sample | null} previous
 * @param {Sample} current
 * @returns {Quality}
 */
export function qualityBetween(previous, current) {
  const before = previous ?? { at: current.at, packetsReceived: 0, packetsLost: 0, bytesReceived: 0, bytesSent: 0 };
  const seconds = previous ? (current.at - previous.at) / 1000 : 0;
  const received = Math.max(0, current.packetsReceived - before.packetsReceived);
  const lost = Math.max(0, current.packetsLost - before.packetsLost);
  const kbps = (now, then) => (seconds > 0 ? (Math.max(0, now - then) * 8) / seconds / 1000 : null);
  return {
    rttMs: current.rttMs,
    lossPercent: received + lost > 0 ? (100 * lost) / (received + lost) : 0,
    jitterMs: current.jitterMs,
    kbpsOut: kbps(current.bytesSent, before.bytesSent),
    kbpsIn: kbps(current.bytesReceived, before.bytesReceived),
  };
}

export function isPoor(q) {
  return q.lossPercent > POOR_LOSS_PERCENT || (q.rttMs !== null && q.rttMs > POOR_RTT_MS) || q.jitterMs > POOR_JITTER_MS;
}

/** "RTT 42 ms · loss 0.0 % · jitter 3 ms · 32↑ 32↓ kbit/s" */
export function qualitySummary(q) {
  let rtt;
  if (q.rttMs === null) rtt = 'RTT –';
  else if (q.rttMs < 1) rtt = 'RTT <1 ms';
  else rtt = `RTT ${q.rttMs.toFixed(0)} ms`;
  const rate = q.kbpsOut !== null && q.kbpsIn !== null ? `${q.kbpsOut.toFixed(0)}↑ ${q.kbpsIn.toFixed(0)}↓ kbit/s` : '– kbit/s';
  return `${rtt} · loss ${q.lossPercent.toFixed(1)} % · jitter ${q.jitterMs.toFixed(0)} ms · ${rate}`;
}

/** The badge: label, numbers and tone ("Measuring…" before any stats). */
export function qualityBadge(q) {
  if (!q) return { label: 'Measuring…', detail: '', tone: 'muted' };
  return isPoor(q) ? { label: 'Poor connection', detail: qualitySummary(q), tone: 'bad' } : { label: 'Good connection', detail: qualitySummary(q), tone: 'ok' };
}
