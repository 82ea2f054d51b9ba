// What the page shows, as a pure function of the app's state: render.js puts
// it on the DOM, the unit tests read it directly. Every panel's visibility is
// decided here and nowhere else, so one state shows exactly one screen.

import { qualityBadge } from './quality.js';
import { reasonHeadline } from './reasons.js';

/** The screens, one visible at a time. */
export const SCREENS = Object.freeze(['starting', 'home', 'calling', 'ringing', 'in-call', 'ended']);

/**
 * @typedef {object} Model
 * @property {'connecting'|'online'|'reconnecting'|'offline'} server
 * @property {string | null} serverDetail why we are not online (shown as is)
 * @property {number} reconnectAttempt
 * @property {string | null} myId
 * @property {'idle'|'calling'|'ringing'|'connecting'|'in-call'|'ended'} phase
 * @property {string | null} peer
 * @property {boolean} ringing the callee's app rings (calling)
 * @property {boolean} waitingForMicrophone the browser is asking the person for the microphone
 * @property {number | null} since when media started (in-call), ms
 * @property {boolean} muted
 * @property {boolean} mediaDown the media path is down and being restored
 * @property {import('./sas.js').Verification} verification
 * @property {import('./quality.js').Quality | null} quality
 * @property {import('./reasons.js').EndReason | null} endReason
 * @property {number | null} lasted how long the ended call was up (ms), null if it never was
 * @property {string | null} notice a passing message on Home
 * @property {boolean} canReclaim offline because another tab took the ID
 */

/** @returns {Model} */
export function initialModel() {
  return {
    server: 'connecting',
    serverDetail: null,
    reconnectAttempt: 0,
    myId: null,
    phase: 'idle',
    peer: null,
    ringing: false,
    waitingForMicrophone: false,
    since: null,
    muted: false,
    mediaDown: false,
    verification: { status: 'pending' },
    quality: null,
    endReason: null,
    lasted: null,
    notice: null,
    canReclaim: false,
  };
}

/** "03:07", or "1:02:03" past an hour (as the desktop's call timer). */
export function formatClock(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor(total / 60) % 60;
  const s = total % 60;
  const two = (v) => String(v).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

/** @param {Model} m */
export function screenFor(m) {
  switch (m.phase) {
    case 'calling':
      return 'calling';
    case 'ringing':
      return 'ringing';
    case 'connecting':
    case 'in-call':
      return 'in-call';
    case 'ended':
      return 'ended';
    default:
      // Until the server first gives us an ID there is nothing to show but that we are connecting.
      return m.myId === null && m.server !== 'offline' ? 'starting' : 'home';
  }
}

/** The status line at the top: the connection to the server. */
function connectionLine(m) {
  switch (m.server) {
    case 'online':
      return { tone: 'ok', text: 'Connected to the server' };
    case 'connecting':
      return { tone: 'warn', text: 'Connecting to the server…' };
    case 'reconnecting':
      return {
        tone: 'warn',
        text: `Disconnected from the server; reconnecting${m.reconnectAttempt > 1 ? ` (attempt ${m.reconnectAttempt})` : ''}…`,
      };
    default:
      return { tone: 'bad', text: `Offline${m.serverDetail ? `: ${m.serverDetail}` : ''}` };
  }
}

/** The security code line: label, the code, the request to compare; `text` is all of it. */
function verificationLine(v) {
  if (v.status === 'ready') {
    const check = '— check it matches your peer’s';
    return { label: 'Security code', code: v.code, check, text: `Security code ${v.code} ${check}` };
  }
  const label = v.status === 'unavailable' ? `No security code: ${v.why}` : 'Security code: waiting for the connection…';
  return { label, code: null, check: null, text: label };
}

const KEY_HINTS = {
  home: 'Enter calls',
  calling: 'Esc cancels',
  ringing: 'Enter accepts · Esc declines',
  'in-call': 'M mutes · Esc ends the call',
  ended: 'Enter or Esc returns',
  starting: '',
};

/**
 * Everything the page shows for `m` at time `now`.
 * @param {Model} m
 * @param {number} now ms, same clock as m.since
 */
export function view(m, now) {
  const screen = screenFor(m);
  const online = m.server === 'online' && m.myId !== null;
  const peer = m.peer ?? '';
  const panels = Object.fromEntries(SCREENS.map((s) => [s, s === screen]));
  // On Home, a missing server connection gets its own panel (calls cannot be placed).
  panels.offline = screen === 'home' && !online;

  const askingForMic = 'Waiting for the microphone: allow it when the browser asks';
  let inCallStatus = m.waitingForMicrophone ? askingForMic : 'Connecting…';
  if (m.phase === 'in-call' && m.since !== null) {
    const clock = formatClock(now - m.since);
    inCallStatus = m.mediaDown ? `${clock} · reconnecting…` : clock;
  }
  const badge = qualityBadge(m.phase === 'in-call' ? m.quality : null);

  const offlineText =
    m.server === 'offline'
      ? `You are offline: ${m.serverDetail ?? 'not connected to the server'}.`
      : m.myId === null
        ? 'Connecting to the server…'
        : 'Disconnected from the server. Reconnecting with your ID; calls are possible again once connected.';

  const titles = {
    starting: 'voicecall',
    home: online ? `voicecall · ${m.myId}` : 'voicecall · offline',
    calling: `Calling ${peer}…`,
    ringing: `Incoming call from ${peer}`,
    'in-call': m.phase === 'in-call' && m.since !== null ? `In call with ${peer} · ${inCallStatus}` : `Connecting to ${peer}…`,
    ended: `Call with ${peer} ended`,
  };

  return {
    screen,
    panels,
    title: titles[screen],
    connection: connectionLine(m),
    myId: m.myId ?? '…',
    copyEnabled: m.myId !== null,
    home: {
      inputEnabled: screen === 'home',
      callEnabled: screen === 'home' && online,
      notice: screen === 'home' ? (m.notice ?? '') : '',
    },
    offline: { text: offlineText, reclaim: m.canReclaim },
    calling: { title: `Calling ${peer}…`, progress: m.waitingForMicrophone ? askingForMic : m.ringing ? 'Ringing…' : 'Reaching them…', button: 'Cancel' },
    ringing: { caller: peer, accept: 'Accept', decline: 'Decline' },
    inCall: {
      peer,
      status: inCallStatus,
      muteLabel: m.muted ? 'Unmute' : 'Mute',
      muted: m.muted,
      muteEnabled: m.phase === 'in-call',
      micLabel: m.muted ? 'Microphone muted' : 'Microphone on',
      quality: badge,
      verification: verificationLine(m.verification),
      endLabel: 'End call',
    },
    ended: {
      title: peer ? `Call with ${peer} ended` : 'Call ended',
      headline: m.endReason ? reasonHeadline(m.endReason) : '',
      hint: m.endReason?.hint ?? '',
      lasted: m.lasted !== null ? `Lasted ${formatClock(m.lasted)}` : '',
      callAgain: Boolean(peer) && online,
      dismiss: 'OK',
    },
    keys: screen === 'home' && !online ? '' : KEY_HINTS[screen],
  };
}

/**
 * What a key press does on `screen` (null: nothing, let the browser have it).
 * @param {string} screen
 * @param {{ key: string, ctrlKey?: boolean, metaKey?: boolean, altKey?: boolean, typing?: boolean }} e
 *   typing: the focus is in a text field
 */
export function keyAction(screen, e) {
  if (e.altKey) return null;
  if (e.key === 'Escape') {
    return { calling: 'hangup', ringing: 'decline', 'in-call': 'hangup', ended: 'dismiss' }[screen] ?? null;
  }
  if (e.key === 'Enter') {
    if (e.ctrlKey || e.metaKey) return null;
    return { home: 'call', ringing: 'accept', ended: 'dismiss' }[screen] ?? null;
  }
  if ((e.key === 'm' || e.key === 'M') && screen === 'in-call' && !e.metaKey && (e.ctrlKey || !e.typing)) return 'toggle-mute';
  return null;
}
