// The web client's security code against vectors produced by the desktop
// app's own code (src/rtc/sas.rs), so both ends of a browser ↔ desktop call
// show the same six digits.
//
// test/fixtures/sas_vectors.json was made by compiling src/rtc/sas.rs
// unchanged into a scratch binary (`#[path = ".../src/rtc/sas.rs"] mod sas;`,
// sha2 0.10) that prints short_auth_string(ours, theirs) for pairs of
// fingerprints and fingerprint(sdp) for a few SDPs. Regenerate it the same
// way if the Rust derivation ever changes (then the browser interop test's
// comparison with the real binary fails too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fingerprintFromSdp, shortAuthString, verify } from '../public/sas.js';

const vectors = JSON.parse(readFileSync(new URL('./fixtures/sas_vectors.json', import.meta.url), 'utf8'));

test('short_auth_string: every Rust vector, from either end', async () => {
  assert.ok(vectors.sas.length >= 60);
  for (const { ours, theirs, code } of vectors.sas) {
    assert.equal(await shortAuthString(ours, theirs), code, `${ours} / ${theirs}`);
    assert.equal(await shortAuthString(theirs, ours), code, `${theirs} / ${ours}`);
  }
});

test('codes spread out: a different certificate gives a different code', async () => {
  const codes = new Set(vectors.sas.map((v) => v.code));
  assert.ok(codes.size > vectors.sas.length - 3, `${codes.size} distinct codes of ${vectors.sas.length}`);
  assert.match(vectors.sas[0].code, /^\d{3} \d{3}$/);
});

test('fingerprint(sdp): every Rust vector (first a=fingerprint line, ASCII upper-case, CRLF or LF)', () => {
  assert.ok(vectors.fingerprint.length >= 5);
  for (const { sdp, fingerprint } of vectors.fingerprint) assert.equal(fingerprintFromSdp(sdp), fingerprint, JSON.stringify(sdp));
  assert.equal(fingerprintFromSdp(undefined), null);
});

const sdp = (fp) => `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:${fp}\r\na=setup:actpass\r\n`;

test('verify(): the code of two descriptions, the same at both ends; unavailable without fingerprints or WebCrypto', async () => {
  const [a, b] = vectors.sas.slice(1, 2).map((v) => [v.ours, v.theirs])[0];
  const aSdp = sdp(a.toLowerCase().replace('SHA-256', 'sha-256'));
  const bSdp = sdp(b);
  const atA = await verify({ localSdp: aSdp, remoteSdp: bSdp });
  const atB = await verify({ localSdp: bSdp, remoteSdp: aSdp });
  assert.equal(atA.status, 'ready');
  assert.equal(atA.code, vectors.sas[1].code);
  assert.equal(atB.code, atA.code);
  assert.deepEqual(await verify({ localSdp: aSdp, remoteSdp: 'v=0\r\n' }), { status: 'unavailable', why: 'no certificate fingerprint in the session description' });
  const insecure = await verify({ localSdp: aSdp, remoteSdp: bSdp, subtle: null });
  assert.equal(insecure.status, 'unavailable');
  assert.match(insecure.why, /HTTPS/);
});
