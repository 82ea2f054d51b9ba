// Process entry point: env → config, start, graceful shutdown.

import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { createSignalingServer } from './server.js';

const SHUTDOWN_TIMEOUT_MS = 5000;

let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  // Human-readable on stderr, and a JSON record for log collectors.
  process.stderr.write(`${err.message}\n`);
  createLogger().error({ problems: err.problems }, 'invalid configuration');
  process.exit(1);
}

// `node` on every record tells a cluster's merged logs apart.
const log = createLogger({ level: config.logLevel, bindings: { node: config.nodeId } });
const server = createSignalingServer(config, { logger: log });

// A stray rejection must not take every caller down with it (Node's default
// is to exit); handlers have their own error paths, this is the backstop.
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
process.on('uncaughtException', (err) => {
  // State may be corrupt after this; exit and let the supervisor restart us.
  log.error({ err }, 'uncaught exception');
  process.exit(1);
});

let stopping = false;
async function shutdown(signal) {
  if (stopping) {
    log.warn({ signal }, 'second signal, exiting immediately');
    process.exit(1);
  }
  stopping = true;
  log.info({ signal }, 'shutting down');
  const timer = setTimeout(() => {
    log.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out');
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  await server.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

try {
  await server.listen();
} catch (err) {
  log.error({ err, host: config.host, port: config.port }, 'failed to listen');
  process.exit(1);
}
