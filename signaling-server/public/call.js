// One call = one RTCPeerConnection plus the signaling that belongs to it,
// speaking the same wire format as the Rust client (see PROTOCOL.md):
//   - SDP goes out as a JSON *string* '{"type":…,"sdp":…}';
//   - candidates as {targetClientId, candidate, mid, mLineIndex, callId},
//     with candidate "" meaning end-of-candidates;
//   - incoming SDP may be that string, raw SDP text, or an object.

/** Parse the `sdp` field of offer_sdp/answer_sdp into {type, sdp}. */
export function parseDescription(raw, expectedType) {
  if (raw && typeof raw === 'object') return { type: raw.type ?? expectedType, sdp: String(raw.sdp) };
  if (typeof raw !== 'string') throw new Error('sdp is neither a string nor an object');
  if (raw.trimStart().startsWith('v=')) return { type: expectedType, sdp: raw };
  const parsed = JSON.parse(raw);
  return { type: parsed.type ?? expectedType, sdp: String(parsed.sdp) };
}

export function newCallId() {
  const rand = crypto.getRandomValues(new Uint32Array(2));
  return `w-${Date.now().toString(36)}-${rand[0].toString(36)}${rand[1].toString(36)}`;
}

/** getUserMedia's failure, keeping the DOMException's name for the message shown. */
export class MicrophoneError extends Error {
  constructor(cause) {
    super(`microphone: ${cause?.message || cause?.name || cause}`);
    this.name = 'MicrophoneError';
    this.cause = cause;
  }
}

/**
 * The microphone as a MediaStream, with the browser's processing on or off.
 * Throws MicrophoneError (cause.name NotAllowedError when the person or the
 * browser refused it; NoMediaDevices on an insecure page).
 */
export async function openMicrophone({ audioProcessing = true } = {}) {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new MicrophoneError({ name: 'NoMediaDevices', message: 'navigator.mediaDevices is unavailable (not a secure context?)' });
  }
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: audioProcessing, noiseSuppression: audioProcessing, autoGainControl: audioProcessing },
      video: false,
    });
  } catch (err) {
    throw new MicrophoneError(err);
  }
}

/**
 * @param {object} opts
 * @param {(event: string, payload: object) => void} opts.send socket.emit
 * @param {string} opts.peerId
 * @param {string} opts.callId
 * @param {RTCIceServer[]} opts.iceServers
 * @param {MediaStream} opts.microphone the local audio (from openMicrophone)
 * @param {(state: RTCPeerConnectionState) => void} opts.onConnectionState
 * @param {(stream: MediaStream) => void} opts.onRemoteStream
 */
export function createCall({ send, peerId, callId, iceServers, microphone, onConnectionState, onRemoteStream }) {
  const pc = new RTCPeerConnection({ iceServers });
  // Candidates that arrive before the remote description can be applied.
  let pendingCandidates = [];
  let remoteSet = false;
  let closed = false;
  // The remote description's SDP exactly as the peer sent it (the security
  // code hashes the fingerprint the peer announced).
  let remoteSdp = null;

  pc.onicecandidate = ({ candidate }) => {
    if (closed) return;
    send('send_ice', candidate
      ? { targetClientId: peerId, callId, candidate: candidate.candidate, mid: candidate.sdpMid, mLineIndex: candidate.sdpMLineIndex }
      // End of gathering: the protocol's end-of-candidates marker.
      : { targetClientId: peerId, callId, candidate: '' });
  };
  pc.onconnectionstatechange = () => {
    if (!closed) onConnectionState(pc.connectionState);
  };
  pc.ontrack = ({ streams, track }) => onRemoteStream(streams[0] ?? new MediaStream([track]));

  for (const track of microphone.getAudioTracks()) {
    const sender = pc.addTrack(track, microphone);
    preferOpus(pc.getTransceivers().find((t) => t.sender === sender));
  }

  async function applyRemote(description) {
    await pc.setRemoteDescription(description);
    remoteSdp = description.sdp;
    remoteSet = true;
    const queued = pendingCandidates;
    pendingCandidates = [];
    for (const c of queued) await addCandidate(c);
  }

  async function addCandidate({ candidate, mid, mLineIndex }) {
    if (closed) return;
    if (!remoteSet) {
      pendingCandidates.push({ candidate, mid, mLineIndex });
      return;
    }
    try {
      if (candidate === '' && (mid ?? null) === null && (mLineIndex ?? null) === null) {
        await pc.addIceCandidate(); // end-of-candidates for all m-lines
      } else {
        await pc.addIceCandidate({ candidate, sdpMid: mid ?? null, sdpMLineIndex: mLineIndex ?? null });
      }
    } catch (err) {
      // A bad candidate from the peer must not end the call; others may work.
      console.warn('ignoring ICE candidate', err);
    }
  }

  const descriptionJson = (d) => JSON.stringify({ type: d.type, sdp: d.sdp });

  async function offer(options) {
    const description = await pc.createOffer(options);
    await pc.setLocalDescription(description);
    send('offer_sdp', { targetClientId: peerId, callId, sdp: descriptionJson(pc.localDescription) });
  }

  async function answer(offerSdp) {
    await applyRemote(parseDescription(offerSdp, 'offer'));
    const description = await pc.createAnswer();
    await pc.setLocalDescription(description);
    send('answer_sdp', { targetClientId: peerId, callId, sdp: descriptionJson(pc.localDescription) });
  }

  return {
    pc,
    peerId,
    callId,

    /** Caller: the offer. */
    start: () => offer(),

    /** Callee: answer an offer (the call's first, or the peer's ICE restart). */
    answer,

    /** Caller: restart ICE over signaling (the media path went down). */
    restartIce: () => offer({ iceRestart: true }),

    /** Caller: the callee's answer (to the first offer or to a restart). */
    async acceptAnswer(answerSdp) {
      // A late answer to an offer already superseded by a newer restart.
      if (pc.signalingState !== 'have-local-offer') return;
      await applyRemote(parseDescription(answerSdp, 'answer'));
    },
    addCandidate,

    /** Both descriptions' SDP, once known (for the security code). */
    descriptions() {
      const localSdp = pc.localDescription?.sdp ?? null;
      return localSdp && remoteSdp ? { localSdp, remoteSdp } : null;
    },

    /** Muted sends silence; the track and the connection stay up. */
    setMuted(muted) {
      for (const track of microphone.getAudioTracks()) track.enabled = !muted;
    },

    close() {
      if (closed) return;
      closed = true;
      for (const t of microphone.getTracks()) t.stop();
      pc.close();
    },
  };
}

// Opus first. Browsers already default to it, but a peer (e.g. the Rust
// client) only speaks Opus, so make the intent explicit where supported.
function preferOpus(transceiver) {
  if (!transceiver?.setCodecPreferences || !RTCRtpReceiver.getCapabilities) return;
  const codecs = RTCRtpReceiver.getCapabilities('audio')?.codecs ?? [];
  const opus = codecs.filter((c) => c.mimeType.toLowerCase() === 'audio/opus');
  if (opus.length === 0) return;
  transceiver.setCodecPreferences([...opus, ...codecs.filter((c) => !opus.includes(c))]);
}
