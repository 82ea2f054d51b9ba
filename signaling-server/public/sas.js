// The call's security code (short authentication string), computed exactly as
// the desktop app does (src/rtc/sas.rs), so that the two screens show the same
// six digits unless someone sits in the middle of the DTLS session.
//
// Inputs are the certificate fingerprints of the two descriptions this end
// actually used: its own local description and the remote one as received.
// A man in the middle has two DTLS sessions with two different certificate
// pairs, so the two ends see different codes.
//
// verify() returns a verification *state* rather than a bare code, so that a
// later scheme (issue 14: a hash commitment to the caller's fingerprint, "not
// verifiable" for plain clients, a mismatch warning) adds states here without
// changing how the page shows them.

const CONTEXT_V1 = 'voicecall-sas-v1\0';
const encoder = new TextEncoder();

/**
 * The first `a=fingerprint:` line's value ("SHA-256 AB:CD:…"), upper-cased as
 * ASCII; null when the SDP has none or the first one is empty (as in Rust).
 * @param {string} sdp
 * @returns {string | null}
 */
export function fingerprintFromSdp(sdp) {
  if (typeof sdp !== 'string') return null;
  for (const line of sdp.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('a=fingerprint:')) continue;
    const value = asciiUpper(trimmed.slice('a=fingerprint:'.length).trim());
    return value === '' ? null : value;
  }
  return null;
}

// Rust's to_ascii_uppercase: only a–z change (String#toUpperCase would also
// turn ß into SS).
const asciiUpper = (s) => s.replace(/[a-z]+/g, (m) => m.toUpperCase());

/** Byte-wise order of the UTF-8 encodings, as Rust compares &str. */
function compareUtf8(a, b) {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/**
 * "042 917" from two fingerprints: SHA-256 over a context string and both
 * fingerprints in byte order, first four bytes big-endian, mod 10^6.
 * @param {string} ours
 * @param {string} theirs
 * @param {SubtleCrypto} [subtle] WebCrypto (globalThis.crypto.subtle by default)
 * @returns {Promise<string>}
 */
export async function shortAuthString(ours, theirs, subtle = globalThis.crypto?.subtle) {
  if (!subtle) throw new Error('WebCrypto is not available (the page needs HTTPS)');
  const [first, second] = compareUtf8(ours, theirs) <= 0 ? [ours, theirs] : [theirs, ours];
  const input = encoder.encode(`${CONTEXT_V1}${first}\0${second}`);
  const digest = new DataView(await subtle.digest('SHA-256', input));
  const n = digest.getUint32(0, false) % 1_000_000;
  const pad = (v) => String(v).padStart(3, '0');
  return `${pad(Math.floor(n / 1000))} ${pad(n % 1000)}`;
}

/**
 * @typedef {{ status: 'pending' }
 *   | { status: 'ready', code: string, ours: string, theirs: string }
 *   | { status: 'unavailable', why: string }} Verification
 */

/** @type {Verification} */
export const PENDING = Object.freeze({ status: 'pending' });

/**
 * The verification state of a call from its two descriptions.
 * @param {{ localSdp: string, remoteSdp: string, subtle?: SubtleCrypto }} input
 * @returns {Promise<Verification>}
 */
export async function verify({ localSdp, remoteSdp, subtle = globalThis.crypto?.subtle }) {
  const ours = fingerprintFromSdp(localSdp);
  const theirs = fingerprintFromSdp(remoteSdp);
  if (!ours || !theirs) return { status: 'unavailable', why: 'no certificate fingerprint in the session description' };
  try {
    return { status: 'ready', code: await shortAuthString(ours, theirs, subtle), ours, theirs };
  } catch (err) {
    return { status: 'unavailable', why: err.message };
  }
}
