// The call's security code (short authentication string) with the desktop
// app's hash commitment (crates/core/src/sas, PROTOCOL.md "The security
// code"), so that a browser and a desktop app show the same six digits unless
// someone sits in the middle of the DTLS session — and so that whoever runs
// the signaling server cannot choose certificates until the two codes match.
//
// 1. offer (caller → callee): the caller's fingerprints in the SDP and
//    sasCommit = H(fingerprints ‖ caller nonce);
// 2. answer (callee → caller): the callee's fingerprints and sasNonce;
// 3. sas_reveal (caller → callee): the caller's nonce, only after the answer.
// The callee checks the commitment; a mismatch ends the call.
//
// test/fixtures/sas_vectors.json holds vectors that the Rust code checks too
// (crates/core/src/sas/vectors.rs), so both implementations agree.

const COMMIT_CONTEXT = 'voicecall-commit-v2\0';
const CODE_CONTEXT = 'voicecall-sas-v2\0';
const NONCE_BYTES = 32;
const HEX_256 = /^[0-9a-f]{64}$/;
const encoder = new TextEncoder();

/**
 * @typedef {{ status: 'pending' }
 *   | { status: 'ready', code: string }
 *   | { status: 'unavailable', why: string }} Verification
 * `unavailable` is "not verifiable": an older peer app, or no fingerprint.
 */

/** @type {Verification} */
export const PENDING = Object.freeze({ status: 'pending' });

export const NOT_VERIFIABLE = Object.freeze({
  peer: 'the other app does not support verified calls (an older version)',
  fingerprint: 'no certificate fingerprint in the session description',
  crypto: 'WebCrypto is not available (the page needs HTTPS)',
});

/**
 * Every `a=fingerprint:` value of the SDP (session or media level), trimmed,
 * ASCII upper-cased, without repeats, sorted bytewise, joined by "\n" — as
 * Rust's Fingerprint::from_sdp. null when there is none.
 * @param {string} sdp
 * @returns {string | null}
 */
export function fingerprintFromSdp(sdp) {
  if (typeof sdp !== 'string') return null;
  const values = new Set();
  for (const line of sdp.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('a=fingerprint:')) continue;
    const value = asciiUpper(trimmed.slice('a=fingerprint:'.length).trim());
    if (value !== '') values.add(value);
  }
  if (values.size === 0) return null;
  return [...values].sort(compareUtf8).join('\n');
}

/** The SDP text of an offer_sdp/answer_sdp `sdp` field (raw text, a JSON string or an object). */
export function sdpText(raw) {
  if (raw && typeof raw === 'object') return typeof raw.sdp === 'string' ? raw.sdp : null;
  if (typeof raw !== 'string') return null;
  if (raw.trimStart().startsWith('v=')) return raw;
  try {
    const parsed = JSON.parse(raw);
    return typeof parsed?.sdp === 'string' ? parsed.sdp : null;
  } catch {
    return null;
  }
}

// Rust's to_ascii_uppercase: only a–z change (String#toUpperCase would also
// turn ß into SS).
const asciiUpper = (s) => s.replace(/[a-z]+/g, (m) => m.toUpperCase());

/** Byte-wise order of the UTF-8 encodings, as Rust compares strings. */
function compareUtf8(a, b) {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** A fresh 256-bit nonce as 64 lower-case hex digits. */
export function newNonce(random = globalThis.crypto) {
  return toHex(random.getRandomValues(new Uint8Array(NONCE_BYTES)));
}

/** Whether `v` is a nonce or commitment in its wire form. */
export const isHex256 = (v) => typeof v === 'string' && HEX_256.test(v);

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function fromHex(hex) {
  if (!isHex256(hex)) throw new Error('a nonce must be 64 lower-case hex digits');
  const out = new Uint8Array(NONCE_BYTES);
  for (let i = 0; i < NONCE_BYTES; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** context ‖ for each field: its byte length (4 bytes, big-endian), then its bytes. */
function fields(context, parts) {
  const bytes = [encoder.encode(context)];
  for (const part of parts) {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, part.length, false);
    bytes.push(len, part);
  }
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of bytes) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

function requireSubtle(subtle) {
  if (!subtle) throw new Error(NOT_VERIFIABLE.crypto);
  return subtle;
}

/**
 * H(fingerprint ‖ nonce) as 64 hex digits: the caller's commitment.
 * @param {string} fingerprint canonical (fingerprintFromSdp)
 * @param {string} nonce 64 hex digits
 */
export async function commitment(fingerprint, nonce, subtle = globalThis.crypto?.subtle) {
  const input = fields(COMMIT_CONTEXT, [encoder.encode(fingerprint), fromHex(nonce)]);
  return toHex(new Uint8Array(await requireSubtle(subtle).digest('SHA-256', input)));
}

/**
 * "042 917": both fingerprints and both nonces, each in its role's place.
 * @param {{ callerFingerprint: string, calleeFingerprint: string, callerNonce: string, calleeNonce: string }} input
 */
export async function securityCode({ callerFingerprint, calleeFingerprint, callerNonce, calleeNonce }, subtle = globalThis.crypto?.subtle) {
  const input = fields(CODE_CONTEXT, [encoder.encode(callerFingerprint), encoder.encode(calleeFingerprint), fromHex(callerNonce), fromHex(calleeNonce)]);
  const digest = new DataView(await requireSubtle(subtle).digest('SHA-256', input));
  const n = digest.getUint32(0, false) % 1_000_000;
  const pad = (v) => String(v).padStart(3, '0');
  return `${pad(Math.floor(n / 1000))} ${pad(n % 1000)}`;
}

const unavailable = (why) => ({ status: 'unavailable', why });

/**
 * A later description (an ICE restart) must declare the certificate the code
 * was made from: DTLS does not run again, but a different one means someone
 * is trying (Rust's Exchange::check_later).
 */
function sameCertificate(known, laterSdp) {
  const now = fingerprintFromSdp(laterSdp);
  return known === null || now === null || known === now;
}

/**
 * The caller's side of one call: commit in the first offer, reveal after the
 * first answer (Rust's CallerSide).
 */
export function callerSide({ nonce = newNonce(), subtle = globalThis.crypto?.subtle } = {}) {
  let local = null;
  let remote = null;
  let offered = false;
  let answered = false;
  return {
    /** Only the callee waits for anything. */
    awaitingReveal: () => false,
    sameCertificate: (laterSdp) => sameCertificate(remote, laterSdp),
    /** Extra fields for our offer: sasCommit on the first one only. */
    async offerFields(localSdp) {
      if (offered) return {};
      offered = true;
      local = fingerprintFromSdp(localSdp);
      if (!local || !subtle) return {};
      return { sasCommit: await commitment(local, nonce, subtle) };
    },
    /**
     * The first answer: what to show and the nonce to reveal (null for an
     * older callee, which sent no nonce). null for later answers.
     * @returns {Promise<{ verification: Verification, reveal: string | null } | null>}
     */
    async answered(remoteSdp, calleeNonce) {
      if (answered) return null;
      answered = true;
      remote = fingerprintFromSdp(remoteSdp);
      if (!local || !remote) return { verification: unavailable(NOT_VERIFIABLE.fingerprint), reveal: null };
      if (!isHex256(calleeNonce)) return { verification: unavailable(NOT_VERIFIABLE.peer), reveal: null };
      if (!subtle) return { verification: unavailable(NOT_VERIFIABLE.crypto), reveal: null };
      const code = await securityCode({ callerFingerprint: local, calleeFingerprint: remote, callerNonce: nonce, calleeNonce }, subtle);
      return { verification: { status: 'ready', code }, reveal: nonce };
    },
  };
}

/**
 * The callee's side: our nonce in the first answer, then the caller's reveal
 * checked against its commitment (Rust's CalleeSide).
 * @param {string | null} offerSdp the offer's SDP text
 * @param {unknown} sasCommit the offer's sasCommit field (anything else than 64 hex digits counts as none)
 */
export function calleeSide(offerSdp, sasCommit, { nonce = newNonce(), subtle = globalThis.crypto?.subtle } = {}) {
  const remote = fingerprintFromSdp(offerSdp);
  const commit = isHex256(sasCommit) ? sasCommit : null;
  let local = null;
  /** 'offered' → 'awaiting-reveal' → 'settled' */
  let state = 'offered';
  return {
    /**
     * Extra fields for our first answer, and the verification when there is
     * nothing to wait for.
     * @returns {{ fields: object, verification: Verification | null }}
     */
    answerFields(localSdp) {
      if (state !== 'offered') return { fields: {}, verification: null };
      local = fingerprintFromSdp(localSdp);
      state = 'settled';
      if (!remote || !local) return { fields: {}, verification: unavailable(NOT_VERIFIABLE.fingerprint) };
      if (!commit) return { fields: {}, verification: unavailable(NOT_VERIFIABLE.peer) };
      if (!subtle) return { fields: {}, verification: unavailable(NOT_VERIFIABLE.crypto) };
      state = 'awaiting-reveal';
      return { fields: { sasNonce: nonce }, verification: null };
    },
    /** Media must wait: the caller committed and has not revealed yet. */
    awaitingReveal: () => state === 'awaiting-reveal',
    sameCertificate: (laterSdp) => sameCertificate(remote, laterSdp),
    /**
     * The caller's nonce arrived.
     * @returns {Promise<{ status: 'verified', code: string } | { status: 'failed' } | null>} null when nothing waited for it
     */
    async reveal(callerNonce) {
      if (state !== 'awaiting-reveal') return null;
      state = 'settled';
      if (!isHex256(callerNonce) || (await commitment(remote, callerNonce, subtle)) !== commit) return { status: 'failed' };
      const code = await securityCode({ callerFingerprint: remote, calleeFingerprint: local, callerNonce, calleeNonce: nonce }, subtle);
      return { status: 'verified', code };
    },
  };
}
