// Per-connection message rate limiting: a token bucket for the normal limit,
// plus an "excess" counter that decides when a client is flooding so far
// beyond it that the connection is cut.
//
// Verdicts from admit():
//   'ok'         within the limit: process the message
//   'drop'       over the limit: drop silently
//   'notify'     over the limit: drop, and tell the client (RATE_LIMITED).
//                At most once per `noticeIntervalMs`, so the error replies
//                themselves cannot be used to amplify a flood.
//   'disconnect' the over-limit count passed `disconnectFactor × burst`:
//                drop this and everything after it, cut the connection.
//
// The excess counter drains at `ratePerSec`, so a client sending at up to
// twice the limit is throttled forever but never cut; one sending faster is
// cut after roughly disconnectFactor × burst / (sendRate − 2 × ratePerSec)
// seconds — at the defaults (50/s, burst 100): 150 msg/s → ~20 s,
// 500 msg/s → ~2.5 s, a tight loop → a few ms.

const monotonicMs = () => performance.now();

export function createTokenBucket({ ratePerSec, burst, now = monotonicMs }) {
  let tokens = burst;
  let last = now();
  return {
    take() {
      const t = now();
      tokens = Math.min(burst, tokens + ((t - last) * ratePerSec) / 1000);
      last = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}

export function createFloodGuard({
  ratePerSec,
  burst,
  now = monotonicMs,
  noticeIntervalMs = 1000,
  disconnectFactor = 10,
}) {
  const bucket = createTokenBucket({ ratePerSec, burst, now });
  const cutoff = disconnectFactor * burst;
  let excess = 0;
  let excessAt = now();
  let lastNotice = -Infinity;
  let dropped = 0;
  let cut = false;

  return {
    admit() {
      if (cut) return 'drop';
      if (bucket.take()) return 'ok';
      const t = now();
      excess = Math.max(0, excess - ((t - excessAt) * ratePerSec) / 1000) + 1;
      excessAt = t;
      dropped++;
      if (excess > cutoff) {
        cut = true;
        return 'disconnect';
      }
      if (t - lastNotice >= noticeIntervalMs) {
        lastNotice = t;
        return 'notify';
      }
      return 'drop';
    },
    /** Messages dropped since the last call (for the error message/logs). */
    takeDropped() {
      const d = dropped;
      dropped = 0;
      return d;
    },
  };
}
