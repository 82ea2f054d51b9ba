// The web client's security code and commitment (public/sas.js) against the
// shared vectors, which the desktop app's code checks too
// (crates/core/src/sas/vectors.rs), and the three steps of one call between
// two web clients, an older client and a man in the middle.
//
// test/fixtures/sas_vectors.json was made by public/sas.js; if either
// derivation changes, one of the two tests fails. Regenerate it only for a
// deliberate change of the scheme (then change the context strings' "v2").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { NOT_VERIFIABLE, calleeSide, callerSide, commitment, fingerprintFromSdp, isHex256, newNonce, sdpText, securityCode } from '../public/sas.js';

const vectors = JSON.parse(readFileSync(new URL('./fixtures/sas_vectors.json', import.meta.url), 'utf8'));

test('fingerprintFromSdp: every shared vector (all lines, sorted, deduplicated, ASCII upper-case)', () => {
  assert.ok(vectors.fingerprint.length >= 5);
  for (const { sdp, fingerprint } of vectors.fingerprint) assert.equal(fingerprintFromSdp(sdp), fingerprint, JSON.stringify(sdp));
  assert.equal(fingerprintFromSdp(undefined), null);
});

test('commitment and securityCode: every shared vector', async () => {
  assert.ok(vectors.commit.length >= 20 && vectors.code.length >= 40);
  for (const { fingerprint, nonce, commitment: expected } of vectors.commit) assert.equal(await commitment(fingerprint, nonce), expected, fingerprint);
  for (const { caller, callee, callerNonce, calleeNonce, code } of vectors.code) {
    assert.equal(await securityCode({ callerFingerprint: caller, calleeFingerprint: callee, callerNonce, calleeNonce }), code, `${caller} / ${callee}`);
  }
  // The roles count: swapping the two fingerprints changes the code.
  const swapped = vectors.code.filter((v) => v.caller !== v.callee).slice(0, 5);
  for (const v of swapped) {
    const other = await securityCode({ callerFingerprint: v.callee, calleeFingerprint: v.caller, callerNonce: v.callerNonce, calleeNonce: v.calleeNonce });
    assert.notEqual(other, v.code);
  }
  assert.ok(new Set(vectors.code.map((v) => v.code)).size > vectors.code.length - 3);
});

test('nonces and their wire form', async () => {
  const a = newNonce();
  assert.ok(isHex256(a));
  assert.notEqual(newNonce(), a);
  for (const bad of ['AB'.repeat(32), 'ab'.repeat(31), 5, null]) assert.equal(isHex256(bad), false);
  await assert.rejects(commitment('SHA-256 AA', 'xyz'), /64 lower-case hex digits/);
  await assert.rejects(commitment('SHA-256 AA', a, null), /HTTPS/);
  assert.equal(sdpText('{"type":"offer","sdp":"v=0\\r\\n"}'), 'v=0\r\n');
  assert.equal(sdpText({ type: 'answer', sdp: 'v=0' }), 'v=0');
  assert.equal(sdpText('v=0\r\n'), 'v=0\r\n');
  assert.equal(sdpText('{not json'), null);
});

const sdp = (fp) => `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256 ${fp}\r\na=setup:actpass\r\n`;

/** Offer → answer → reveal between a caller and a callee; `tamper` may change what travels. */
async function call({ offerAt = sdp('AA:AA'), offerSeen = offerAt, answerAt = sdp('BB:BB'), answerSeen = answerAt, tamper = {} } = {}) {
  const caller = callerSide();
  const offerFields = await caller.offerFields(offerAt);
  const callee = calleeSide(offerSeen, 'sasCommit' in tamper ? tamper.sasCommit : offerFields.sasCommit);
  const step = callee.answerFields(answerAt);
  const atCaller = await caller.answered(answerSeen, 'sasNonce' in tamper ? tamper.sasNonce : step.fields.sasNonce);
  const reveal = atCaller.reveal === null ? null : 'reveal' in tamper ? tamper.reveal : atCaller.reveal;
  const atCallee = reveal === null ? step.verification : await callee.reveal(reveal);
  return { offerFields, step, atCaller: atCaller.verification, atCallee, revealed: atCaller.reveal };
}

test('an honest call: both ends show the same code; the commitment goes in the first offer only', async () => {
  const { offerFields, step, atCaller, atCallee } = await call();
  assert.ok(isHex256(offerFields.sasCommit));
  assert.ok(isHex256(step.fields.sasNonce));
  assert.equal(step.verification, null);
  assert.equal(atCaller.status, 'ready');
  assert.deepEqual(atCallee, { status: 'verified', code: atCaller.code });

  const caller = callerSide();
  await caller.offerFields(sdp('AA:AA'));
  assert.deepEqual(await caller.offerFields(sdp('AA:AA')), {}, 'an ICE restart offer carries nothing');
});

test('a changed fingerprint, commitment or reveal on the way fails the check at the callee', async () => {
  assert.deepEqual((await call({ offerSeen: sdp('EE:EE') })).atCallee, { status: 'failed' });
  assert.deepEqual((await call({ tamper: { sasCommit: 'cd'.repeat(32) } })).atCallee, { status: 'failed' });
  assert.deepEqual((await call({ tamper: { reveal: 'ef'.repeat(32) } })).atCallee, { status: 'failed' });
  // A swapped answer (the server's own certificate towards the caller) leaves two different codes.
  const swapped = await call({ answerSeen: sdp('99:99') });
  assert.equal(swapped.atCallee.status, 'verified');
  assert.notEqual(swapped.atCaller.code, swapped.atCallee.code);
});

test('an older peer on either side: not verifiable, nothing revealed', async () => {
  const oldCallee = await call({ tamper: { sasNonce: undefined } });
  assert.deepEqual(oldCallee.atCaller, { status: 'unavailable', why: NOT_VERIFIABLE.peer });
  assert.equal(oldCallee.revealed, null);
  const callee = calleeSide(sdp('AA:AA'), undefined);
  assert.deepEqual(callee.answerFields(sdp('BB:BB')), { fields: {}, verification: { status: 'unavailable', why: NOT_VERIFIABLE.peer } });
  assert.equal(callee.awaitingReveal(), false);
  assert.equal(await callee.reveal('ab'.repeat(32)), null);
  const bare = calleeSide('v=0\r\n', 'ab'.repeat(32));
  assert.deepEqual(bare.answerFields(sdp('BB:BB')).verification, { status: 'unavailable', why: NOT_VERIFIABLE.fingerprint });
});
