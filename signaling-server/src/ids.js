// Client IDs, tokens and call IDs: generation and syntax checks.
// Generated IDs are meant to be read aloud / typed by people, hence the
// alphabet without look-alikes (0/o, 1/l/i) and the 3-3-3 grouping.

import { randomBytes, randomInt } from 'node:crypto';

export const ID_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';

const GROUP = `[${ID_ALPHABET}]{3}`;
export const GENERATED_ID_RE = new RegExp(`^${GROUP}-${GROUP}-${GROUP}$`);
// Every generated ID also matches this, so one check covers both kinds.
export const CUSTOM_ID_RE = /^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$/;
export const TOKEN_RE = /^[A-Za-z0-9_-]{16,128}$/;
export const CALL_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** A fresh ID like `k7m-q2x-9fd` (31^9 ≈ 2.6e13 possibilities). */
export function generateId() {
  const groups = [];
  for (let g = 0; g < 3; g++) {
    let group = '';
    // randomInt is unbiased, unlike `byte % 31`.
    for (let i = 0; i < 3; i++) group += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}

/** 32 random bytes, base64url (43 chars) — matches TOKEN_RE. */
export function generateToken() {
  return randomBytes(32).toString('base64url');
}

export const isValidId = (v) => typeof v === 'string' && CUSTOM_ID_RE.test(v);
export const isGeneratedId = (v) => typeof v === 'string' && GENERATED_ID_RE.test(v);
export const isValidToken = (v) => typeof v === 'string' && TOKEN_RE.test(v);
export const isValidCallId = (v) => typeof v === 'string' && CALL_ID_RE.test(v);
