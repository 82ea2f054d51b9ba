// Tokens: how strong a client-chosen one must be, and how many wrong ones a
// client may try.
//
// Strength. The server issues 256-bit tokens; a client may also bring its
// own when it registers a new ID, but only one that could hold 128 random
// bits: at least 22 characters, length × log2(alphabet in use) ≥ 128, and
// not built from a handful of characters repeated (at least half as many
// distinct characters as a random string of that length over that alphabet
// would show, on average nearly twice that). "aaaaaaaaaaaaaaaa", "tok_" +
// 28 × "x" and dictionary words are refused; random base64url from 22
// characters and random hex from 32 pass. Reclaiming an ID compares with its
// stored token and is not subject to this.
//
// Wrong tokens. Each failed claim of an existing ID spends a token from two
// buckets: (ID, client address) and (client address). While either is
// empty, claims of existing IDs from that address are refused with
// RATE_LIMITED before the token is even looked at. Keyed by address so that
// a guesser elsewhere cannot lock an owner out of its own ID.

import { createKeyedBuckets, perMinute } from './rate_limit.js';

const DIGITS = /[0-9]/;
const LOWER = /[a-z]/;
const UPPER = /[A-Z]/;
const SYMBOLS = /[-_]/;

/** Bits a token of this shape could hold if it were random. */
export function tokenBits(token) {
  let alphabet;
  if (/^[0-9a-f]+$/.test(token) || /^[0-9A-F]+$/.test(token)) alphabet = 16;
  else alphabet = (DIGITS.test(token) ? 10 : 0) + (LOWER.test(token) ? 26 : 0) + (UPPER.test(token) ? 26 : 0) + (SYMBOLS.test(token) ? 2 : 0);
  return { bits: token.length * Math.log2(alphabet), alphabet };
}

/** A token a client may choose for a new ID (format checked elsewhere). */
export function isStrongToken(token) {
  if (typeof token !== 'string' || token.length < 22) return false;
  const { bits, alphabet } = tokenBits(token);
  if (bits < 128) return false;
  return new Set(token).size >= Math.min(alphabet, token.length) / 2;
}

/**
 * @param {object} cfg authFailuresPerIdPerMin, authFailuresPerIdBurst,
 *   authFailuresPerIpPerMin, authFailuresPerIpBurst
 * @param {{ now?: () => number }} [opts]
 */
export function createAuthGuard(cfg, { now = () => performance.now() } = {}) {
  const perIdIp = createKeyedBuckets({ ...perMinute(cfg.authFailuresPerIdPerMin, cfg.authFailuresPerIdBurst), now });
  const perIp = createKeyedBuckets({ ...perMinute(cfg.authFailuresPerIpPerMin, cfg.authFailuresPerIpBurst), now });
  const key = (id, ip) => `${id} ${ip}`;

  return {
    /** 0 if this address may try a token for `id` now, else ms to wait. */
    waitMs(id, ip) {
      return Math.max(perIdIp.waitMs(key(id, ip)), perIp.waitMs(ip));
    },
    /** A wrong (or missing) token for an existing ID. */
    failed(id, ip) {
      perIdIp.get(key(id, ip)).charge(1);
      perIp.get(ip).charge(1);
    },
    sweep: () => perIdIp.sweep() + perIp.sweep(),
  };
}
