// voicecall web client: UI, signaling connection and call state machine.
// The wire protocol is PROTOCOL.md; call.js holds the WebRTC side.
//
// States: connecting → idle ⇄ calling (outgoing, waiting for an answer)
//                           ⇄ ringing (incoming, waiting for the user)
//         calling/ringing → connecting (answer exchanged, ICE running)
//         → in-call (RTCPeerConnection connected) → idle

import { createCall, newCallId } from './call.js';
import { createRecorder } from './recorder.js';

/* global io */

const $ = (id) => document.getElementById(id);
const ui = {
  myId: $('my-id'),
  copy: $('copy'),
  dial: $('dial'),
  peerId: $('peer-id'),
  call: $('call'),
  incoming: $('incoming'),
  caller: $('caller'),
  accept: $('accept'),
  decline: $('decline'),
  end: $('end'),
  status: $('status'),
  audio: $('remote-audio'),
};

// Outgoing calls that nobody answers end by themselves.
const ANSWER_TIMEOUT_MS = 45_000;
// Refresh TURN credentials that expire within this margin before a call.
const ICE_REFRESH_MARGIN_MS = 5 * 60_000;

// ?profile=NAME keeps separate identities in one browser (two tabs calling
// each other); the default profile is what a normal user gets.
const profile = new URLSearchParams(location.search).get('profile') || 'default';
const storageKey = `voicecall.identity.${profile}`;

const state = {
  phase: 'connecting',
  myId: null,
  iceServers: [],
  iceExpiresAt: Infinity,
  call: null, // createCall(...) result
  incoming: null, // { from, callId, sdp } while ringing
  pendingIce: [], // candidates for the incoming call before it is accepted
  answerTimer: null,
  lastError: null,
  remoteStream: null,
  recorder: null,
  // Microphone processing (AEC, NS, AGC); only the test hook turns it off.
  audioProcessing: true,
  log: [],
};

// ---- identity ----------------------------------------------------------------

function loadIdentity() {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey) ?? 'null');
    if (saved && typeof saved.id === 'string' && typeof saved.token === 'string') return saved;
  } catch {
    // Corrupt storage: start over with a fresh ID.
  }
  return {};
}

const saveIdentity = (id, token) => localStorage.setItem(storageKey, JSON.stringify({ id, token }));
const forgetIdentity = () => localStorage.removeItem(storageKey);

// ---- signaling ------------------------------------------------------------------

const socket = io({ auth: loadIdentity() });
const send = (event, payload) => socket.emit(event, payload);

socket.on('registered', ({ id, token, reclaimed }) => {
  state.myId = id;
  saveIdentity(id, token);
  // Reconnects (network change, server restart) reclaim the same ID.
  socket.auth = { id, token };
  ui.myId.textContent = id;
  ui.copy.disabled = false;
  if (state.phase === 'connecting') setPhase('idle', reclaimed ? 'Ready (your ID was restored).' : 'Ready.');
});

socket.on('ice_servers', ({ iceServers, ttl }) => {
  state.iceServers = Array.isArray(iceServers) ? iceServers : [];
  state.iceExpiresAt = ttl > 0 ? Date.now() + ttl * 1000 : Infinity;
});

socket.on('server_error', (err) => {
  state.lastError = err;
  switch (err.code) {
    case 'ID_TAKEN':
      // Our saved ID expired and someone else has it now: take a new one.
      forgetIdentity();
      socket.auth = {};
      setStatus('Your previous ID is no longer available; getting a new one…');
      setTimeout(() => socket.connect(), 100);
      break;
    case 'SESSION_REPLACED':
      setPhase('connecting', 'This ID was opened in another tab or window. Reload to use it here.');
      break;
    case 'PEER_NOT_FOUND':
      if (state.call && err.targetClientId === state.call.peerId) endCall(`${err.targetClientId} is not online.`, { notifyPeer: false });
      else setStatus(`${err.targetClientId ?? 'Peer'} is not online.`);
      break;
    default:
      setStatus(`Server: ${err.message}`);
  }
});

socket.on('connect', () => {
  if (state.phase === 'connecting' && state.myId) setStatus('Reconnected.');
});
socket.on('disconnect', (reason) => {
  if (reason === 'io server disconnect') return; // error already shown
  setStatus('Connection to the server lost; reconnecting…');
});

socket.on('offer_sdp', ({ from, sdp, callId }) => {
  if (state.phase !== 'idle') {
    // Already in a call (or ringing): tell the caller right away.
    send('busy', withCallId({ targetClientId: from }, callId));
    return;
  }
  state.incoming = { from, callId, sdp };
  state.pendingIce = [];
  send('ringing', withCallId({ targetClientId: from }, callId));
  ui.caller.textContent = from;
  setPhase('ringing', `Incoming call from ${from}`);
});

socket.on('answer_sdp', async ({ from, sdp, callId }) => {
  const call = state.call;
  if (!call || state.phase !== 'calling' || from !== call.peerId || !sameCall(callId, call.callId)) return;
  clearTimeout(state.answerTimer);
  setPhase('connecting', 'Connecting…');
  try {
    await call.acceptAnswer(sdp);
  } catch (err) {
    fail('could not apply the answer', err);
  }
});

socket.on('send_ice', (msg) => {
  if (state.call && msg.from === state.call.peerId && sameCall(msg.callId, state.call.callId)) {
    state.call.addCandidate(msg);
  } else if (state.incoming && msg.from === state.incoming.from && sameCall(msg.callId, state.incoming.callId)) {
    state.pendingIce.push(msg);
  }
});

socket.on('ringing', ({ from, callId }) => {
  if (state.phase === 'calling' && isCurrent(from, callId)) setStatus(`Ringing ${from}…`);
});
socket.on('call_decline', ({ from, callId }) => {
  if (isCurrent(from, callId)) endCall(`${from} declined the call.`, { notifyPeer: false });
});
socket.on('busy', ({ from, callId }) => {
  if (isCurrent(from, callId)) endCall(`${from} is busy.`, { notifyPeer: false });
});
socket.on('call_hangup', ({ from, callId }) => {
  if (isCurrent(from, callId)) endCall(`${from} ended the call.`, { notifyPeer: false });
  else if (state.incoming && from === state.incoming.from && sameCall(callId, state.incoming.callId)) {
    // The caller gave up while we were ringing.
    state.incoming = null;
    setPhase('idle', `Missed call from ${from}.`);
  }
});

const withCallId = (payload, callId) => (callId ? { ...payload, callId } : payload);
// Old clients send no callId; then any message from the peer belongs to the call.
const sameCall = (got, mine) => got === undefined || mine === undefined || got === mine;
const isCurrent = (from, callId) => state.call !== null && from === state.call.peerId && sameCall(callId, state.call.callId);

// ---- calls ---------------------------------------------------------------------------

async function freshIceServers() {
  if (state.iceExpiresAt - Date.now() > ICE_REFRESH_MARGIN_MS) return state.iceServers;
  const got = new Promise((resolve) => {
    socket.once('ice_servers', resolve);
    setTimeout(resolve, 2000); // use what we have if the server is slow
  });
  send('get_ice_servers', {});
  await got;
  return state.iceServers;
}

function newCall(peerId, callId) {
  return createCall({
    send,
    peerId,
    callId,
    iceServers: state.iceServers,
    audioProcessing: state.audioProcessing,
    onConnectionState: (s) => {
      if (s === 'connected') setPhase('in-call', `In call with ${peerId}`);
      else if (s === 'disconnected' && state.phase === 'in-call') setStatus('Connection interrupted; trying to recover…');
      else if (s === 'failed') endCall('The connection failed.', { notifyPeer: true, reason: 'ice-failed' });
    },
    onRemoteStream: (stream) => {
      state.remoteStream = stream;
      ui.audio.srcObject = stream;
      ui.audio.play().catch(() => {}); // autoplay may need the click we already had
    },
  });
}

async function startCall(peerId) {
  if (state.phase !== 'idle') return;
  if (peerId === state.myId) return setStatus('That is your own ID.');
  setPhase('calling', `Calling ${peerId}…`);
  try {
    await freshIceServers();
    state.call = newCall(peerId, newCallId());
    await state.call.start();
    state.answerTimer = setTimeout(() => endCall(`${peerId} did not answer.`, { notifyPeer: true, reason: 'timeout' }), ANSWER_TIMEOUT_MS);
  } catch (err) {
    fail('could not start the call', err, { notifyPeer: true });
  }
}

async function acceptCall() {
  const incoming = state.incoming;
  if (state.phase !== 'ringing' || !incoming) return;
  state.incoming = null;
  setPhase('connecting', 'Connecting…');
  try {
    await freshIceServers();
    state.call = newCall(incoming.from, incoming.callId);
    await state.call.answer(incoming.sdp);
    for (const c of state.pendingIce) state.call.addCandidate(c);
    state.pendingIce = [];
  } catch (err) {
    fail('could not answer the call', err, { notifyPeer: true });
  }
}

function declineCall() {
  const incoming = state.incoming;
  if (state.phase !== 'ringing' || !incoming) return;
  send('call_decline', withCallId({ targetClientId: incoming.from, reason: 'declined' }, incoming.callId));
  state.incoming = null;
  setPhase('idle', `Declined the call from ${incoming.from}.`);
}

function endCall(message, { notifyPeer = true, reason = 'hangup' } = {}) {
  const call = state.call;
  clearTimeout(state.answerTimer);
  if (call) {
    if (notifyPeer) send('call_hangup', withCallId({ targetClientId: call.peerId, reason }, call.callId));
    call.close();
  }
  state.call = null;
  state.remoteStream = null;
  ui.audio.srcObject = null;
  setPhase('idle', message);
}

function fail(what, err, opts = { notifyPeer: true }) {
  state.lastError = { code: 'CLIENT', message: `${what}: ${err?.message ?? err}` };
  console.error(what, err);
  endCall(`Error: ${what} (${err?.message ?? err}).`, opts);
}

// ---- UI --------------------------------------------------------------------------

function setStatus(text) {
  ui.status.textContent = text;
}

function setPhase(phase, text) {
  state.phase = phase;
  state.log.push({ at: Date.now(), phase, text });
  if (text !== undefined) setStatus(text);
  const registered = state.myId !== null && phase !== 'connecting';
  ui.call.disabled = !(registered && phase === 'idle');
  ui.peerId.disabled = phase !== 'idle';
  ui.incoming.hidden = phase !== 'ringing';
  ui.end.disabled = !['calling', 'connecting', 'in-call'].includes(phase);
  document.body.dataset.phase = phase;
}

ui.dial.addEventListener('submit', (e) => {
  e.preventDefault();
  startCall(ui.peerId.value.trim().toLowerCase());
});
ui.accept.addEventListener('click', acceptCall);
ui.decline.addEventListener('click', declineCall);
ui.end.addEventListener('click', () => endCall('Call ended.'));
ui.copy.addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(state.myId);
    setStatus('ID copied.');
  } catch {
    // Clipboard needs a secure context; selecting lets the user copy by hand.
    getSelection().selectAllChildren(ui.myId);
    setStatus('Press Ctrl+C to copy your ID.');
  }
});

// ---- test hook -----------------------------------------------------------------------
// For automated tests (puppeteer today, calls to the native client later).
// Reads state and drives the same code paths as the buttons.

async function stats() {
  const pc = state.call?.pc;
  if (!pc) return { connectionState: null };
  const out = { connectionState: pc.connectionState, iceConnectionState: pc.iceConnectionState, inbound: null, outbound: null, codec: null, outboundCodec: null, negotiated: [] };
  const report = await pc.getStats();
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      out.inbound = { packetsReceived: s.packetsReceived, packetsLost: s.packetsLost, bytesReceived: s.bytesReceived, jitter: s.jitter, audioLevel: s.audioLevel, totalAudioEnergy: s.totalAudioEnergy, codecId: s.codecId };
    } else if (s.type === 'outbound-rtp' && s.kind === 'audio') {
      out.outbound = { packetsSent: s.packetsSent, bytesSent: s.bytesSent, codecId: s.codecId };
    }
  });
  if (out.inbound?.codecId) out.codec = report.get(out.inbound.codecId)?.mimeType ?? null;
  if (out.outbound?.codecId) out.outboundCodec = report.get(out.outbound.codecId)?.mimeType ?? null;
  // What the offer/answer settled on for sending, in order (the first one is used).
  const sender = pc.getSenders().find((s) => s.track?.kind === 'audio');
  out.negotiated = (sender?.getParameters().codecs ?? []).map((c) => `${c.mimeType}/${c.clockRate}${c.channels ? `/${c.channels}` : ''} pt=${c.payloadType}`);
  return out;
}

window.voicecallTest = {
  get state() {
    return state.phase;
  },
  get id() {
    return state.myId;
  },
  get lastError() {
    return state.lastError;
  },
  get callId() {
    return state.call?.callId ?? state.incoming?.callId ?? null;
  },
  get peerId() {
    return state.call?.peerId ?? state.incoming?.from ?? null;
  },
  get iceServers() {
    return state.iceServers;
  },
  get log() {
    return [...state.log];
  },
  /** Echo cancellation, noise suppression and gain control for the next call's microphone. */
  get audioProcessing() {
    return state.audioProcessing;
  },
  set audioProcessing(on) {
    state.audioProcessing = Boolean(on);
  },
  stats,
  call: (peerId) => startCall(peerId),
  accept: () => acceptCall(),
  decline: () => declineCall(),
  hangup: () => endCall('Call ended.'),
  /** Start capturing the remote audio (call once in a call). */
  startRecording() {
    if (!state.remoteStream) throw new Error('no remote audio stream yet');
    state.recorder = createRecorder(state.remoteStream);
  },
  /** → { sampleRate, rms, seconds, wavBase64 } (16-bit mono WAV). */
  async stopRecording() {
    const rec = state.recorder;
    if (!rec) throw new Error('not recording');
    state.recorder = null;
    const { sampleRate, samples, rms, wavBase64 } = await rec.stop();
    return { sampleRate, rms, seconds: samples.length / sampleRate, wavBase64 };
  },
};

setPhase('connecting', 'Connecting to the server…');
