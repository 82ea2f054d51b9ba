// voicecall web client: wires the server connection (connection.js), the call
// state machine (controller.js), WebRTC (call.js) and the page (view.js →
// render.js) together, plus the keyboard and the test hook.

import { createCall, newCallId, openMicrophone } from './call.js';
import { createConnection } from './connection.js';
import { createController } from './controller.js';
import { createRecorder } from './recorder.js';
import { createRenderer } from './render.js';
import { verify } from './sas.js';
import { createTones, toneFor } from './tones.js';
import { keyAction, view } from './view.js';

/* global io */

const $ = (id) => document.getElementById(id);
const audio = $('remote-audio');

// ?profile=NAME keeps separate identities in one browser (two tabs calling
// each other); the default profile is what a normal user gets.
const profile = new URLSearchParams(location.search).get('profile') || 'default';

const render = createRenderer(document);
const tones = createTones();
let remoteStream = null;
let recorder = null;
let renderQueued = false;

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  queueMicrotask(() => {
    renderQueued = false;
    render(view(controller.model, Date.now()));
    tones.play(toneFor(controller.model));
  });
}

const controller = createController({
  send: (event, payload) => connection.send(event, payload),
  media: { openMicrophone, createCall, newCallId },
  verify,
  onChange: scheduleRender,
  onRemoteStream: (stream) => {
    remoteStream = stream;
    audio.srcObject = stream;
    if (stream) audio.play().catch(() => {}); // autoplay may need the click we already had
  },
});

const connection = createConnection({
  io,
  storage: localStorage,
  key: `voicecall.identity.${profile}`,
  messages: ['offer_sdp', 'answer_sdp', 'send_ice', 'ringing', 'call_decline', 'busy', 'call_hangup'],
  on: {
    status: controller.onStatus,
    registered: controller.onRegistered,
    iceServers: controller.onIceServers,
    serverError: controller.onServerError,
    message: controller.onMessage,
  },
});

// The call timer advances once a second while a call is up.
setInterval(() => {
  if (controller.model.phase === 'in-call') scheduleRender();
}, 1000);

// ---- buttons and keys ------------------------------------------------------------------

function placeCall() {
  controller.placeCall($('peer-id').value);
}

$('dial').addEventListener('submit', (e) => {
  e.preventDefault();
  placeCall();
});
$('cancel').addEventListener('click', () => controller.hangup());
$('accept').addEventListener('click', () => controller.accept());
$('decline').addEventListener('click', () => controller.decline());
$('mute').addEventListener('click', () => controller.toggleMute());
$('end').addEventListener('click', () => controller.hangup());
$('call-again').addEventListener('click', () => controller.callAgain());
$('dismiss').addEventListener('click', () => controller.dismiss());
$('reclaim').addEventListener('click', () => connection.reconnect());
$('copy').addEventListener('click', async () => {
  const id = controller.model.myId;
  try {
    await navigator.clipboard.writeText(id);
    controller.notice('Your ID is copied.');
  } catch {
    // Clipboard needs a secure context; selecting lets the person copy by hand.
    getSelection().selectAllChildren($('my-id'));
    controller.notice('Press Ctrl+C to copy your ID.');
  }
});

document.addEventListener('keydown', (e) => {
  if (e.repeat || e.isComposing) return;
  // Enter on a focused button presses that button, as everywhere else.
  if (e.key === 'Enter' && e.target instanceof HTMLButtonElement) return;
  const typing = e.target instanceof HTMLInputElement;
  const action = keyAction(view(controller.model, Date.now()).screen, { key: e.key, ctrlKey: e.ctrlKey, metaKey: e.metaKey, altKey: e.altKey, typing });
  if (!action) return;
  e.preventDefault();
  switch (action) {
    case 'call':
      return placeCall();
    case 'accept':
      return controller.accept();
    case 'decline':
      return controller.decline();
    case 'hangup':
      return controller.hangup();
    case 'toggle-mute':
      return controller.toggleMute();
    case 'dismiss':
      return controller.dismiss();
    default:
  }
});

render(view(controller.model, Date.now()));

// ---- test hook -----------------------------------------------------------------------
// For automated tests (puppeteer; calls to the native client). Reads state and
// drives the same code paths as the buttons.

async function stats() {
  const pc = controller.call?.handle?.pc;
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
  /** The call phase: idle|calling|ringing|connecting|in-call|ended ("starting" before the first ID). */
  get state() {
    const m = controller.model;
    return m.myId === null && m.phase === 'idle' ? 'starting' : m.phase;
  },
  /** The screen shown (view.js SCREENS). */
  get screen() {
    return view(controller.model, Date.now()).screen;
  },
  /** The server connection: connecting|online|reconnecting|offline. */
  get server() {
    return controller.model.server;
  },
  get id() {
    return controller.model.myId;
  },
  get lastError() {
    return controller.lastError;
  },
  get callId() {
    return controller.call?.callId ?? null;
  },
  get peerId() {
    return controller.call?.peer ?? null;
  },
  /** The end reason ({code, detail?, hint?}) while the ended screen shows. */
  get endReason() {
    return controller.model.endReason;
  },
  /** The security code ("123 456") once known, else null. */
  get securityCode() {
    const v = controller.model.verification;
    return v.status === 'ready' ? v.code : null;
  },
  get muted() {
    return controller.model.muted;
  },
  /** The call-progress sound playing: 'ringtone', 'ringback' or null. */
  get tone() {
    return tones.current;
  },
  get iceServers() {
    return controller.iceServers;
  },
  get log() {
    return controller.log;
  },
  /** Echo cancellation, noise suppression and gain control for the next call's microphone. */
  get audioProcessing() {
    return controller.audioProcessing;
  },
  set audioProcessing(on) {
    controller.audioProcessing = on;
  },
  stats,
  /** The call's local and remote SDP (what the security code is computed from), once both are known. */
  descriptions: () => controller.call?.handle?.descriptions() ?? null,
  call: (peerId) => controller.placeCall(peerId),
  accept: () => controller.accept(),
  decline: () => controller.decline(),
  hangup: () => controller.hangup(),
  dismiss: () => controller.dismiss(),
  setMuted: (muted) => controller.setMuted(muted),
  /** Start capturing the remote audio (call once in a call). */
  startRecording() {
    if (!remoteStream) throw new Error('no remote audio stream yet');
    recorder = createRecorder(remoteStream);
  },
  /** → { sampleRate, rms, seconds, wavBase64 } (16-bit mono WAV). */
  async stopRecording() {
    const rec = recorder;
    if (!rec) throw new Error('not recording');
    recorder = null;
    const { sampleRate, samples, rms, wavBase64 } = await rec.stop();
    return { sampleRate, rms, seconds: samples.length / sampleRate, wavBase64 };
  },
};
