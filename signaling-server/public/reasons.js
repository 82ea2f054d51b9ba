// Why a call ended: the same codes and words as the desktop app
// (src/call/phase.rs EndReason), and the same reading of what the peer sends
// (src/call/machine.rs), so both ends of a call tell the same story.

/** code → words, as EndReason's Display. */
const WORDS = {
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

export const REASON_CODES = Object.freeze(Object.keys(WORDS));

/**
 * @typedef {{ code: string, detail?: string, hint?: string }} EndReason
 * `detail` only for `failed` ("failed: detail"); `hint` is what the person can
 * do about it (e.g. allow the microphone), shown under the reason.
 */

/** @returns {EndReason} */
export function reason(code, extra = {}) {
  if (!(code in WORDS)) throw new Error(`unknown end reason ${code}`);
  return { code, ...extra };
}

/** "hung up by peer", "failed: microphone access was denied". */
export function describeReason(r) {
  const words = WORDS[r.code] ?? r.code;
  return r.code === 'failed' && r.detail ? `${words}: ${r.detail}` : words;
}

/** "Hung up by peer": the ended screen's headline. */
export function reasonHeadline(r) {
  const text = describeReason(r);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// ---- what the peer tells us ------------------------------------------------------

/** `call_decline` for our outgoing call. */
export function reasonForDecline(wireReason) {
  if (wireReason === 'no_answer') return reason('no_answer');
  if (wireReason === 'busy') return reason('busy');
  return reason('declined');
}

/**
 * `call_hangup` from the peer of the current call, by our phase.
 * @param {'calling'|'ringing'|'connecting'|'in-call'} phase
 */
export function reasonForHangup(phase, wireReason) {
  if (phase === 'calling') {
    if (wireReason === 'no_answer') return reason('no_answer');
    if (wireReason === 'failed') return reason('connect_failed');
    return reason('declined');
  }
  if (phase === 'ringing') return reason('missed');
  if (wireReason === 'connection_lost') return reason('connection_lost');
  if (wireReason === 'connect_failed') return reason('connect_failed');
  return reason('remote_hangup');
}

/**
 * A server error about the current call: the reason it ends for, or null when
 * the call goes on (once media is set up the ICE timers decide, as on desktop).
 */
export function reasonForServerError(phase, code, message) {
  if (phase === 'calling') return code === 'PEER_NOT_FOUND' ? reason('peer_not_found') : reason('failed', { detail: message || code });
  if (phase === 'ringing' && code === 'PEER_NOT_FOUND') return reason('missed');
  return null;
}

// ---- what we tell the peer ----------------------------------------------------------

/**
 * The `reason` field we send when we end a call for `r` (the desktop's wire
 * words, which the desktop reads back with reasonForHangup's rules).
 */
export function wireReasonFor(r) {
  switch (r.code) {
    case 'cancelled':
      return 'cancel';
    case 'no_answer':
    case 'connect_failed':
    case 'connection_lost':
    case 'failed':
      return r.code;
    default:
      return 'hangup';
  }
}

// ---- the microphone ------------------------------------------------------------------

/**
 * getUserMedia's error as an end reason a person can act on.
 * @param {{ name?: string, message?: string } | undefined} err
 */
export function microphoneReason(err) {
  switch (err?.name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return reason('failed', {
        detail: 'microphone access was denied',
        hint: 'Allow this site to use your microphone (the icon at the left of the address bar, or the browser’s site settings), then call again.',
      });
    case 'NotFoundError':
    case 'OverconstrainedError':
    case 'DevicesNotFoundError':
      return reason('failed', { detail: 'no microphone was found', hint: 'Connect a microphone, then call again.' });
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return reason('failed', {
        detail: 'the microphone could not be opened',
        hint: 'Another program may be using it. Close that program, then call again.',
      });
    case 'NoMediaDevices':
      return reason('failed', {
        detail: 'this page cannot use a microphone here',
        hint: 'Browsers only allow the microphone on pages served over HTTPS (or from localhost).',
      });
    default:
      return reason('failed', { detail: `the microphone failed (${err?.message || err?.name || 'unknown error'})` });
  }
}
