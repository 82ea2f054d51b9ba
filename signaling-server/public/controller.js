// The call state machine of the web client, free of the DOM and of Socket.IO
// so that it runs under node:test with fakes. It follows the desktop app's
// machine (src/call/machine.rs): the same phases, timeouts, wire reasons,
// glare rule and ICE restarts, so a call between the two behaves the same
// from either end.
//
// Phases: idle → calling (outgoing) → connecting → in-call → ended → idle
//              → ringing (incoming) ↗
// `ended` shows why until the person dismisses it; it is not "in a call", so
// a new caller rings.

import { initialModel } from './view.js';
import { microphoneReason, reason, reasonForDecline, reasonForHangup, reasonForServerError } from './reasons.js';
import { PENDING } from './sas.js';
import { qualityBetween, sampleFromStats } from './quality.js';

/** The desktop's defaults (src/call/timings.rs, machine.rs RESTART_RETRY, engine.rs stats_interval). */
export const TIMINGS = Object.freeze({
  ringTimeoutMs: 45_000,
  connectTimeoutMs: 20_000,
  reconnectGraceMs: 6_000,
  restartRetryMs: 1_500,
  statsIntervalMs: 1_000,
  // Refresh TURN credentials expiring within this margin before a call; wait this long for them.
  iceRefreshMarginMs: 5 * 60_000,
  iceRefreshWaitMs: 2_000,
});

/** Client IDs the server accepts (PROTOCOL.md, "Formats"). */
const CLIENT_ID = /^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$/;

const LIVE = new Set(['calling', 'ringing', 'connecting', 'in-call']);

// Old clients send no callId; then any message from the peer belongs to the call.
const sameCall = (got, mine) => got === undefined || got === null || mine === undefined || mine === null || got === mine;
const withCallId = (payload, callId) => (callId ? { ...payload, callId } : payload);

/**
 * @param {object} deps
 * @param {(event: string, payload: object) => void} deps.send to the signaling server
 * @param {{ openMicrophone: (opts: object) => Promise<MediaStream>, createCall: (opts: object) => object,
 *   newCallId: () => string }} deps.media
 * @param {(input: {localSdp: string, remoteSdp: string}) => Promise<import('./sas.js').Verification>} deps.verify
 * @param {() => number} [deps.now]
 * @param {{ setTimeout: typeof setTimeout, clearTimeout: typeof clearTimeout }} [deps.timers]
 * @param {(model: import('./view.js').Model) => void} [deps.onChange]
 * @param {(stream: MediaStream | null) => void} [deps.onRemoteStream]
 * @param {Partial<typeof TIMINGS>} [deps.timings]
 */
export function createController({ send, media, verify, now = Date.now, timers = globalThis, onChange = () => {}, onRemoteStream = () => {}, timings = {} }) {
  const t = { ...TIMINGS, ...timings };
  const model = initialModel();
  const log = [];
  let lastError = null;
  let audioProcessing = true;
  let ice = { servers: [], expiresAt: Infinity };
  let iceWaiters = [];
  /** The call in progress (null when idle/ended). */
  let call = null;

  const changed = () => onChange(model);

  function setPhase(phase) {
    model.phase = phase;
    log.push({ at: now(), phase, peer: model.peer });
    changed();
  }

  // ---- deadlines and timers of the current call ------------------------------------

  function setDeadline(ctx, ms, onExpiry) {
    timers.clearTimeout(ctx.deadline);
    ctx.deadline = timers.setTimeout(() => {
      ctx.deadline = null;
      if (call === ctx) onExpiry();
    }, ms);
  }

  function clearDeadline(ctx) {
    timers.clearTimeout(ctx.deadline);
    ctx.deadline = null;
  }

  function stopTimers(ctx) {
    clearDeadline(ctx);
    timers.clearTimeout(ctx.restartTimer);
    timers.clearTimeout(ctx.statsTimer);
    ctx.restartTimer = null;
    ctx.statsTimer = null;
  }

  // ---- sending -----------------------------------------------------------------------

  function sendToPeer(ctx, event, payload = {}) {
    send(event, withCallId({ targetClientId: ctx.peer, ...payload }, ctx.callId));
  }

  // ---- ending --------------------------------------------------------------------------

  /**
   * Ends the current call for `why`. `tell` = [event, wireReason] to send the
   * peer first, or null when the peer already knows (or never knew).
   */
  function end(why, tell = null) {
    const ctx = call;
    if (!ctx) return;
    if (tell) sendToPeer(ctx, tell[0], { reason: tell[1] });
    call = null;
    stopTimers(ctx);
    ctx.handle?.close();
    ctx.microphone?.getTracks().forEach((track) => track.stop());
    onRemoteStream(null);
    Object.assign(model, {
      endReason: why,
      lasted: model.phase === 'in-call' && model.since !== null ? now() - model.since : null,
      ringing: false,
      waitingForMicrophone: false,
      since: null,
      muted: false,
      mediaDown: false,
      quality: null,
      verification: PENDING,
    });
    setPhase('ended');
  }

  /** Something on this side failed: tell the peer as the desktop does, show why. */
  function fail(ctx, err) {
    if (call !== ctx) return;
    const why = err?.name === 'MicrophoneError' ? microphoneReason(err.cause) : reason('failed', { detail: err?.message ?? String(err) });
    lastError = { code: 'CLIENT', message: `${why.detail}${err?.message ? ` (${err.message})` : ''}` };
    if (err?.name !== 'MicrophoneError') console.error('call failed', err);
    let tell = null;
    if (model.phase === 'ringing') tell = ['call_decline', 'failed'];
    else if (model.phase === 'connecting' || model.phase === 'in-call' || ctx.offerSent) tell = ['call_hangup', 'failed'];
    end(why, tell);
  }

  // ---- the peer connection ---------------------------------------------------------------

  function newContext(peer, callId, role) {
    return { peer, callId, role, handle: null, microphone: null, offer: null, pendingIce: [], offerSent: false, deadline: null, restartTimer: null, statsTimer: null, lastSample: null };
  }

  /** Microphone and RTCPeerConnection for `ctx`; false when the call ended meanwhile. */
  async function connect(ctx) {
    const servers = await freshIceServers();
    if (call !== ctx) return false;
    model.waitingForMicrophone = true;
    changed();
    let microphone;
    try {
      microphone = await media.openMicrophone({ audioProcessing });
    } finally {
      if (call === ctx) model.waitingForMicrophone = false;
    }
    if (call !== ctx) {
      microphone.getTracks().forEach((track) => track.stop());
      return false;
    }
    ctx.microphone = microphone;
    ctx.handle = media.createCall({
      send: (event, payload) => {
        if (call !== ctx) return;
        if (event === 'offer_sdp') ctx.offerSent = true;
        send(event, payload);
      },
      peerId: ctx.peer,
      callId: ctx.callId,
      iceServers: servers,
      microphone,
      onConnectionState: (state) => {
        if (call === ctx) onConnectionState(ctx, state);
      },
      onRemoteStream: (stream) => {
        if (call === ctx) onRemoteStream(stream);
      },
    });
    ctx.handle.setMuted(model.muted);
    for (const candidate of ctx.pendingIce) ctx.handle.addCandidate(candidate);
    ctx.pendingIce = [];
    return true;
  }

  function onConnectionState(ctx, state) {
    if (state === 'connected') {
      if (model.phase === 'connecting') startMedia(ctx);
      else if (model.phase === 'in-call' && model.mediaDown) {
        clearDeadline(ctx);
        timers.clearTimeout(ctx.restartTimer);
        ctx.restartTimer = null;
        model.mediaDown = false;
        changed();
      }
    } else if (state === 'disconnected' && model.phase === 'in-call' && !ctx.deadline) {
      model.mediaDown = true;
      changed();
      setDeadline(ctx, t.reconnectGraceMs, () => end(reason('connection_lost'), ['call_hangup', 'connection_lost']));
      // The caller (ICE's controlling side) restarts ICE at once, and again while it stays down.
      if (ctx.role === 'caller') restartIce(ctx);
    } else if (state === 'failed' || (state === 'closed' && model.phase === 'in-call')) {
      if (model.phase === 'connecting') end(reason('connect_failed'), ['call_hangup', 'connect_failed']);
      else if (model.phase === 'in-call') end(reason('connection_lost'), ['call_hangup', 'connection_lost']);
    }
  }

  function restartIce(ctx) {
    ctx.handle.restartIce().catch((err) => console.warn('ICE restart failed', err));
    ctx.restartTimer = timers.setTimeout(() => {
      if (call === ctx && model.mediaDown) restartIce(ctx);
    }, t.restartRetryMs);
  }

  function startMedia(ctx) {
    clearDeadline(ctx);
    model.since = now();
    setPhase('in-call');
    pollStats(ctx);
    const descriptions = ctx.handle.descriptions();
    if (!descriptions) {
      model.verification = { status: 'unavailable', why: 'the session descriptions are missing' };
      changed();
      return;
    }
    verify(descriptions).then((v) => {
      if (call !== ctx) return;
      model.verification = v;
      changed();
    });
  }

  function pollStats(ctx) {
    ctx.statsTimer = timers.setTimeout(async () => {
      if (call !== ctx) return;
      try {
        const report = await ctx.handle.pc.getStats();
        if (call !== ctx) return;
        const sample = sampleFromStats(report.values(), now());
        model.quality = qualityBetween(ctx.lastSample, sample);
        ctx.lastSample = sample;
        changed();
      } catch (err) {
        console.warn('getStats failed', err);
      }
      if (call === ctx) pollStats(ctx);
    }, t.statsIntervalMs);
  }

  async function freshIceServers() {
    if (ice.expiresAt - now() > t.iceRefreshMarginMs) return ice.servers;
    await new Promise((resolve) => {
      const timer = timers.setTimeout(resolve, t.iceRefreshWaitMs); // use what we have if the server is slow
      iceWaiters.push(() => {
        timers.clearTimeout(timer);
        resolve();
      });
      send('get_ice_servers', {});
    });
    return ice.servers;
  }

  // ---- what the person does ---------------------------------------------------------------

  /** Returns a notice when the ID cannot be called (also shown on Home). */
  function placeCall(input) {
    const peer = String(input ?? '').trim().toLowerCase();
    if (LIVE.has(model.phase)) return notice('Finish the current call first.');
    if (!CLIENT_ID.test(peer)) return notice(peer ? `“${peer}” is not an ID: IDs look like k7m-q2x-9fd.` : 'Type the ID of the person to call.');
    if (peer === model.myId) return notice('That is your own ID: type the ID of the person to call.');
    if (model.server !== 'online') return notice('Not connected to the server yet; try again in a moment.');
    const ctx = newContext(peer, media.newCallId(), 'caller');
    call = ctx;
    Object.assign(model, { peer, ringing: false, endReason: null, notice: null, muted: false, verification: PENDING, quality: null });
    setPhase('calling');
    (async () => {
      if (!(await connect(ctx))) return;
      // The ring timeout counts from the offer: a permission prompt is not their not answering.
      setDeadline(ctx, t.ringTimeoutMs, () => end(reason('no_answer'), ['call_hangup', 'no_answer']));
      await ctx.handle.start();
    })().catch((err) => fail(ctx, err));
    return null;
  }

  function accept() {
    const ctx = call;
    if (model.phase !== 'ringing' || !ctx) return;
    setPhase('connecting');
    clearDeadline(ctx);
    answerOffer(ctx, ctx.offer);
  }

  /** Answer without ringing (accept, or the losing side of glare). */
  function answerOffer(ctx, offer) {
    (async () => {
      if (!(await connect(ctx))) return;
      // From here on it is the network's time: the permission prompt is not counted.
      setDeadline(ctx, t.connectTimeoutMs, () => end(reason('connect_failed'), ['call_hangup', 'connect_failed']));
      await ctx.handle.answer(offer);
    })().catch((err) => fail(ctx, err));
  }

  function decline() {
    if (model.phase !== 'ringing' || !call) return;
    end(reason('declined_locally'), ['call_decline', 'declined']);
  }

  function hangup() {
    const ctx = call;
    if (!ctx) return;
    if (model.phase === 'calling') end(reason('cancelled'), ctx.offerSent ? ['call_hangup', 'cancel'] : null);
    else if (model.phase === 'ringing') decline();
    else end(reason('hangup'), ['call_hangup', 'hangup']);
  }

  function setMuted(muted) {
    model.muted = Boolean(muted);
    call?.handle?.setMuted(model.muted);
    changed();
  }

  function dismiss() {
    if (model.phase !== 'ended') return;
    Object.assign(model, { peer: null, endReason: null });
    setPhase('idle');
  }

  function callAgain() {
    if (model.phase !== 'ended' || !model.peer) return null;
    return placeCall(model.peer);
  }

  function notice(text) {
    model.notice = text;
    changed();
    return text;
  }

  // ---- what the peer sends ------------------------------------------------------------------

  const owned = (from, callId) => call !== null && from === call.peer && sameCall(callId, call.callId);

  function ring(from, callId, offer) {
    const ctx = newContext(from, callId, 'callee');
    ctx.offer = offer;
    call = ctx;
    Object.assign(model, { peer: from, ringing: false, endReason: null, notice: null, muted: false, verification: PENDING, quality: null });
    setPhase('ringing');
    sendToPeer(ctx, 'ringing');
    setDeadline(ctx, t.ringTimeoutMs, () => end(reason('missed'), ['call_decline', 'no_answer']));
  }

  function onOffer({ from, sdp, callId }) {
    if (!LIVE.has(model.phase)) return ring(from, callId, sdp);
    const ctx = call;
    if (ctx && from === ctx.peer) {
      if (model.phase === 'calling') {
        // Glare: both called each other. The greater ID yields and answers the
        // other's offer without ringing; the other ignores the losing offer.
        if (model.myId !== null && model.myId < from) return;
        call = null;
        stopTimers(ctx);
        ctx.handle?.close();
        ctx.microphone?.getTracks().forEach((track) => track.stop());
        const next = newContext(from, callId, 'callee');
        call = next;
        setPhase('connecting');
        return answerOffer(next, sdp);
      }
      if (model.phase === 'ringing') {
        if (sameCall(callId, ctx.callId)) return; // duplicate
        // The caller gave up and dialled again before we answered: ring for the new call.
        Object.assign(ctx, { callId, offer: sdp, pendingIce: [] });
        return sendToPeer(ctx, 'ringing');
      }
      if (sameCall(callId, ctx.callId)) {
        // A re-offer in a running call: the peer restarts ICE.
        if (ctx.handle) ctx.handle.answer(sdp).catch((err) => console.warn('re-offer failed', err));
        return;
      }
      // The peer dialled us afresh, so it has lost the old call (e.g. it reloaded).
      end(reason('connection_lost'));
      return ring(from, callId, sdp);
    }
    send('busy', withCallId({ targetClientId: from }, callId));
  }

  function onAnswer({ from, sdp, callId }) {
    if (!owned(from, callId) || !call.handle || call.role !== 'caller') return;
    const ctx = call;
    if (model.phase === 'calling') {
      model.ringing = false;
      setPhase('connecting');
      setDeadline(ctx, t.connectTimeoutMs, () => end(reason('connect_failed'), ['call_hangup', 'connect_failed']));
    } else if (model.phase !== 'connecting' && model.phase !== 'in-call') {
      return;
    }
    ctx.handle.acceptAnswer(sdp).catch((err) => fail(ctx, err));
  }

  function onMessage(event, payload) {
    if (!payload || typeof payload !== 'object' || typeof payload.from !== 'string') return;
    const { from, callId } = payload;
    switch (event) {
      case 'offer_sdp':
        return onOffer(payload);
      case 'answer_sdp':
        return onAnswer(payload);
      case 'send_ice':
        if (!owned(from, callId)) return;
        if (call.handle) call.handle.addCandidate(payload);
        else call.pendingIce.push(payload);
        return;
      case 'ringing':
        if (owned(from, callId) && model.phase === 'calling' && !model.ringing) {
          model.ringing = true;
          changed();
        }
        return;
      case 'call_decline':
        if (owned(from, callId) && model.phase === 'calling') end(reasonForDecline(payload.reason));
        return;
      case 'busy':
        if (owned(from, callId) && model.phase === 'calling') end(reason('busy'));
        return;
      case 'call_hangup':
        if (owned(from, callId)) end(reasonForHangup(model.phase, payload.reason));
        return;
      default:
    }
  }

  // ---- the server connection ------------------------------------------------------------------

  function onServerError(err) {
    lastError = err;
    const ctx = call;
    const aboutCall = ctx && err.targetClientId === ctx.peer && (err.callId === undefined || err.callId === ctx.callId);
    if (aboutCall) {
      const why = reasonForServerError(model.phase, err.code, err.message);
      if (why) end(why);
    }
  }

  function onStatus({ server, detail, attempt, canReclaim }) {
    Object.assign(model, { server, serverDetail: detail, reconnectAttempt: attempt, canReclaim });
    log.push({ at: now(), server, detail });
    changed();
  }

  function onRegistered({ id, previousId }) {
    model.myId = id;
    if (previousId) model.notice = `Your previous ID ${previousId} is held by someone else now; your new ID is ${id}.`;
    changed();
  }

  function onIceServers({ iceServers, ttl } = {}) {
    ice = {
      servers: Array.isArray(iceServers) ? iceServers : [],
      expiresAt: ttl > 0 ? now() + ttl * 1000 : Infinity,
    };
    const waiting = iceWaiters;
    iceWaiters = [];
    for (const wake of waiting) wake();
  }

  return {
    model,
    placeCall,
    accept,
    decline,
    hangup,
    setMuted,
    toggleMute: () => setMuted(!model.muted),
    dismiss,
    callAgain,
    notice,
    // From the connection:
    onStatus,
    onRegistered,
    onIceServers,
    onServerError,
    onMessage,
    // For tests and the test hook:
    get log() {
      return [...log];
    },
    get lastError() {
      return lastError;
    },
    get call() {
      return call;
    },
    get iceServers() {
      return ice.servers;
    },
    get audioProcessing() {
      return audioProcessing;
    },
    set audioProcessing(on) {
      audioProcessing = Boolean(on);
    },
  };
}
