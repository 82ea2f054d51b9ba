// Log records a stranger can trigger at will (refused connections, wrong
// tokens, bad payloads, rate limits) must not let them fill the disk or
// spend our CPU on JSON.stringify: per kind of record, at most `burst`
// lines per `intervalMs`. The next line written after a quiet spell says
// how many were left out (`suppressed`), so nothing disappears unnoticed.

/**
 * @param {ReturnType<import('./log.js').createLogger>} log
 * @param {{ intervalMs?: number, burst?: number, now?: () => number }} [opts]
 */
export function createThrottledLog(log, { intervalMs = 1000, burst = 10, now = () => performance.now() } = {}) {
  const windows = new Map(); // key → { start, count, suppressed }

  function write(level, key, fields, msg) {
    const t = now();
    let w = windows.get(key);
    if (!w || t - w.start >= intervalMs) {
      const suppressed = w?.suppressed ?? 0;
      // Forget quiet keys so the map stays as small as the set of active ones.
      if (windows.size > 10_000) windows.clear();
      windows.set(key, (w = { start: t, count: 0, suppressed: 0 }));
      if (suppressed > 0) fields = { ...fields, suppressed };
    }
    if (w.count >= burst) {
      w.suppressed++;
      return false;
    }
    w.count++;
    log[level](fields, msg);
    return true;
  }

  return {
    info: (key, fields, msg) => write('info', key, fields, msg),
    warn: (key, fields, msg) => write('warn', key, fields, msg),
    error: (key, fields, msg) => write('error', key, fields, msg),
  };
}
