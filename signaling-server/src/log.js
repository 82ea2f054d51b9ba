// Minimal JSON-lines logger. One record = one line on stdout, written with a
// single write() so that a supervising process (or the Rust client's tests)
// can parse records line by line without partial interleaving. Writes to a
// pipe or file are synchronous on Linux, so nothing is lost on process.exit().

export const LEVELS = Object.freeze({ debug: 20, info: 30, warn: 40, error: 50, silent: Infinity });

// Fields that must never reach the logs, whatever a caller passes in.
// TURN credentials and the shared secret are as sensitive as tokens.
const REDACTED_KEYS = new Set(['token', 'sdp', 'candidate', 'auth', 'credential', 'iceServers', 'secret', 'turnSecret', 'password']);

function serializeError(err) {
  return { type: err.name, message: err.message, stack: err.stack };
}

function replacer(key, value) {
  if (REDACTED_KEYS.has(key)) return '[redacted]';
  if (value instanceof Error) return serializeError(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/**
 * @param {object} [opts]
 * @param {keyof LEVELS} [opts.level]
 * @param {{ write(s: string): unknown }} [opts.stream] defaults to process.stdout
 * @param {object} [opts.bindings] fields added to every record
 */
export function createLogger({ level = 'info', stream = process.stdout, bindings = {} } = {}) {
  if (!(level in LEVELS)) throw new Error(`unknown log level "${level}"`);
  const threshold = LEVELS[level];

  function write(lvl, fields, msg) {
    if (LEVELS[lvl] < threshold) return;
    // `msg` may be given alone: log.info('started')
    if (typeof fields === 'string') [fields, msg] = [{}, fields];
    const record = { level: lvl, time: new Date().toISOString(), msg, ...bindings, ...fields };
    let line;
    try {
      line = JSON.stringify(record, replacer);
    } catch (err) {
      // A circular structure must not turn a log call into a crash.
      line = JSON.stringify({ level: lvl, time: record.time, msg, logError: String(err) });
    }
    stream.write(line + '\n');
  }

  return {
    level,
    debug: (fields, msg) => write('debug', fields, msg),
    info: (fields, msg) => write('info', fields, msg),
    warn: (fields, msg) => write('warn', fields, msg),
    error: (fields, msg) => write('error', fields, msg),
    child: (extra) => createLogger({ level, stream, bindings: { ...bindings, ...extra } }),
  };
}

/** A logger that drops everything; handy default for in-process tests. */
export const silentLogger = createLogger({ level: 'silent' });
