// Why a web call ended, in the desktop app's words and by its rules
// (src/call/phase.rs EndReason, src/call/machine.rs on_signal/on_tick).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REASON_CODES, describeReason, microphoneReason, reason, reasonForDecline, reasonForHangup, reasonForServerError, reasonHeadline, wireReasonFor } from '../public/reasons.js';

test('codes and words are the desktop’s EndReason code() and Display', () => {
  const desktop = {
    hangup: 'hung up',
    remote_hangup: 'hung up by peer',
    cancelled: 'cancelled',
    declined: 'declined',
    declined_locally: 'declined by you',
    busy: 'busy',
    no_answer: 'no answer',
    missed: 'missed call',
    peer_not_found: 'peer not found',
    connect_failed: 'could not connect',
    connection_lost: 'connection lost',
    failed: 'failed',
  };
  assert.deepEqual(REASON_CODES, Object.keys(desktop));
  for (const [code, words] of Object.entries(desktop)) assert.equal(describeReason(reason(code)), words);
  assert.equal(describeReason(reason('failed', { detail: 'no microphone was found' })), 'failed: no microphone was found');
  assert.equal(reasonHeadline(reason('remote_hangup')), 'Hung up by peer');
  assert.throws(() => reason('whatever'), /unknown end reason/);
});

test('call_decline: no_answer and busy by name, anything else declined', () => {
  assert.equal(reasonForDecline('no_answer').code, 'no_answer');
  assert.equal(reasonForDecline('busy').code, 'busy');
  assert.equal(reasonForDecline('declined').code, 'declined');
  assert.equal(reasonForDecline(undefined).code, 'declined');
  assert.equal(reasonForDecline('failed').code, 'declined');
});

test('call_hangup by our phase, as machine.rs reads it', () => {
  const table = [
    ['calling', 'no_answer', 'no_answer'],
    ['calling', 'failed', 'connect_failed'],
    ['calling', 'hangup', 'declined'],
    ['calling', 'cancel', 'declined'],
    ['ringing', 'cancel', 'missed'],
    ['ringing', 'no_answer', 'missed'],
    ['connecting', 'hangup', 'remote_hangup'],
    ['connecting', 'connect_failed', 'connect_failed'],
    ['in-call', 'connection_lost', 'connection_lost'],
    ['in-call', 'connect_failed', 'connect_failed'],
    ['in-call', 'hangup', 'remote_hangup'],
    ['in-call', 'failed', 'remote_hangup'],
    ['in-call', undefined, 'remote_hangup'],
  ];
  for (const [phase, wire, code] of table) assert.equal(reasonForHangup(phase, wire).code, code, `${phase} ${wire}`);
});

test('server errors end an unanswered call only', () => {
  assert.equal(reasonForServerError('calling', 'PEER_NOT_FOUND', 'peer x is not online').code, 'peer_not_found');
  assert.deepEqual(reasonForServerError('calling', 'RATE_LIMITED', 'too many'), { code: 'failed', detail: 'too many' });
  assert.equal(reasonForServerError('ringing', 'PEER_NOT_FOUND', '').code, 'missed');
  assert.equal(reasonForServerError('ringing', 'RATE_LIMITED', ''), null);
  assert.equal(reasonForServerError('in-call', 'PEER_NOT_FOUND', ''), null);
  assert.equal(reasonForServerError('connecting', 'PEER_NOT_FOUND', ''), null);
});

test('what we send the peer: the desktop’s wire words', () => {
  assert.equal(wireReasonFor(reason('cancelled')), 'cancel');
  assert.equal(wireReasonFor(reason('hangup')), 'hangup');
  for (const code of ['no_answer', 'connect_failed', 'connection_lost', 'failed']) assert.equal(wireReasonFor(reason(code)), code);
  // …and the desktop reads each back as the same story.
  assert.equal(reasonForHangup('in-call', wireReasonFor(reason('connection_lost'))).code, 'connection_lost');
  assert.equal(reasonForHangup('ringing', wireReasonFor(reason('cancelled'))).code, 'missed');
});

test('microphone errors say what happened and what to do', () => {
  const denied = microphoneReason({ name: 'NotAllowedError', message: 'Permission denied' });
  assert.equal(reasonHeadline(denied), 'Failed: microphone access was denied');
  assert.match(denied.hint, /^Allow this site to use your microphone/);
  assert.equal(microphoneReason({ name: 'NotFoundError' }).detail, 'no microphone was found');
  assert.equal(microphoneReason({ name: 'NotReadableError' }).detail, 'the microphone could not be opened');
  assert.match(microphoneReason({ name: 'NoMediaDevices' }).hint, /HTTPS/);
  assert.equal(microphoneReason({ name: 'Weird', message: 'boom' }).detail, 'the microphone failed (boom)');
  assert.equal(microphoneReason(undefined).code, 'failed');
});
