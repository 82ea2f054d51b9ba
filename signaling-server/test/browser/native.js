// The native voicecall client for the browser interop test: run
// `voicecall listen|call --json` and read its events; cut and pad the WAV
// files the two sides play.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const asset = (name) => join(REPO, 'assets', 'audio', name);

/**
 * The voicecall binary under test. The cargo test that drives this file
 * (tests/browser_interop.rs) passes the one cargo just built, so the test
 * never runs a stale or foreign build.
 */
export function voicecallBin() {
  const bin = process.env.VOICECALL_BIN;
  if (!bin) throw new Error('VOICECALL_BIN is not set: run this through `cargo test --test browser_interop`');
  if (!existsSync(bin)) throw new Error(`VOICECALL_BIN=${bin} does not exist`);
  return bin;
}

/**
 * Runs `voicecall ARGS --json`. The first stdout line is the ID, every later
 * one a JSON event.
 * @returns {{ id: Promise<string>, events: object[], waitFor: (pred: (e: object) => boolean, ms?: number) => Promise<object>,
 *             exited: Promise<{code: number|null, signal: string|null}>, stderr: () => string, kill: () => void }}
 */
export function spawnNative(bin, args, { configDir }) {
  const child = spawn(bin, [...args, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      VOICECALL_CONFIG_DIR: configDir,
      RUST_LOG: process.env.VOICECALL_TEST_LOG ?? 'warn,webrtc=error,rtc=error',
    },
  });
  const events = [];
  const waiters = new Set();
  let stderr = '';
  let gotId;
  let noId;
  const id = new Promise((resolve, reject) => {
    gotId = resolve;
    noId = reject;
  });
  let first = true;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (first) {
      first = false;
      gotId(line.trim());
      return;
    }
    let event;
    try {
      event = JSON.parse(line);
    } catch {
      event = { event: 'unparsable', line };
    }
    events.push(event);
    for (const w of waiters) if (w.pred(event)) w.done(event);
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      noId(new Error(`voicecall exited (${code ?? signal}) without an ID: ${stderr}`));
      for (const w of waiters) w.fail(new Error(`voicecall exited (${code ?? signal}); events ${JSON.stringify(events)}; stderr ${stderr}`));
      resolve({ code, signal });
    }),
  );
  // Never an unhandled rejection if nobody awaits the ID.
  id.catch(() => {});
  return {
    id,
    events,
    exited,
    stderr: () => stderr,
    kill: () => child.kill('SIGKILL'),
    waitFor(pred, ms = 10_000) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          done: (e) => {
            clearTimeout(timer);
            waiters.delete(w);
            resolve(e);
          },
          fail: (err) => {
            clearTimeout(timer);
            waiters.delete(w);
            reject(err);
          },
        };
        const timer = setTimeout(() => w.fail(new Error(`timed out; events ${JSON.stringify(events)}; stderr ${stderr}`)), ms);
        waiters.add(w);
      });
    },
  };
}

/** Resolves with the exit, or rejects after `ms`. */
export function exitWithin(native, ms) {
  return Promise.race([
    native.exited,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`voicecall still running after ${ms} ms; events ${JSON.stringify(native.events)}; stderr ${native.stderr()}`)), ms)),
  ]);
}

/** The `fmt ` and `data` chunks of a PCM WAV file. */
function parseWav(buf) {
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV file');
  let fmt = null;
  let data = null;
  for (let at = 12; at + 8 <= buf.length; ) {
    const id = buf.toString('ascii', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    const body = buf.subarray(at + 8, Math.min(buf.length, at + 8 + size));
    if (id === 'fmt ') fmt = body;
    if (id === 'data') data = body;
    at += 8 + size + (size % 2);
  }
  if (!fmt || !data) throw new Error('WAV file without fmt/data chunks');
  return { fmt, data, sampleRate: fmt.readUInt32LE(4), blockAlign: fmt.readUInt16LE(12) };
}

function writeWav(target, fmt, data) {
  const header = Buffer.alloc(20);
  header.write('RIFF', 0);
  header.writeUInt32LE(4 + 8 + fmt.length + 8 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(fmt.length, 16);
  const dataHeader = Buffer.alloc(8);
  dataHeader.write('data', 0);
  dataHeader.writeUInt32LE(data.length, 4);
  writeFileSync(target, Buffer.concat([header, fmt, dataHeader, data]));
}

/** Writes the first `seconds` of a PCM WAV file as a new WAV file. */
export function writeWavExcerpt(source, target, seconds) {
  const { fmt, data, sampleRate, blockAlign } = parseWav(readFileSync(source));
  writeWav(target, fmt, data.subarray(0, Math.min(data.length, Math.round(seconds * sampleRate) * blockAlign)));
}

/** Writes a PCM WAV file with `seconds` of silence before its audio. */
export function writeWavAfterSilence(source, target, seconds) {
  const { fmt, data, sampleRate, blockAlign } = parseWav(readFileSync(source));
  writeWav(target, fmt, Buffer.concat([Buffer.alloc(Math.round(seconds * sampleRate) * blockAlign), data]));
}
