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

/**
 * @param {object} opts
 * @param {(event: string, payload: object) => void} opts.send socket.emit
 * @param {string} opts.peerId
 * @param {string} opts.callId
 * @param {RTCIceServer[]} opts.iceServers
 * @param {(state: RTCPeerConnectionState) => void} opts.onConnectionState
 * @param {(stream: MediaStream) => void} opts.onRemoteStream
 * @param {boolean} [opts.audioProcessing] echo cancellation, noise suppression
 *   and gain control on the microphone (default on; tests that compare
 *   waveforms turn them off)
 */
export function createCall({ send, peerId, callId, iceServers, onConnectionState, onRemoteStream, audioProcessing = true }) {
  const pc = new RTCPeerConnection({ iceServers });
  let localStream = null;
  // Candidates that arrive before the remote description can be applied.
  let pendingCandidates = [];
  let remoteSet = false;
  let closed = false;

  pc.onicecandidate = ({ candidate }) => {
    if (closed) return;
    send('send_ice', candidate
      ? { targetClientId: peerId, callId, candidate: candidate.candidate, mid: candidate.sdpMid, mLineIndex: candidate.sdpMLineIndex }
      // End of gathering: the protocol's end-of-candidates marker.
      : { targetClientId: peerId, callId, candidate: '' });
  };
  pc.onconnectionstatechange = () => onConnectionState(pc.connectionState);
  pc.ontrack = ({ streams, track }) => onRemoteStream(streams[0] ?? new MediaStream([track]));

  async function addMicrophone() {
    localStream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: audioProcessing, noiseSuppression: audioProcessing, autoGainControl: audioProcessing },
      video: false,
    });
    for (const track of localStream.getAudioTracks()) {
      const sender = pc.addTrack(track, localStream);
      preferOpus(pc.getTransceivers().find((t) => t.sender === sender));
    }
  }

  async function applyRemote(description) {
    await pc.setRemoteDescription(description);
    remoteSet = true;
    const queued = pendingCandidates;
    pendingCandidates = [];
    for (const c of queued) await addCandidate(c);
  }

  async function addCandidate({ candidate, mid, mLineIndex }) {
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

  return {
    pc,
    peerId,
    callId,

    /** Caller: microphone, offer. */
    async start() {
      await addMicrophone();
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      send('offer_sdp', { targetClientId: peerId, callId, sdp: descriptionJson(pc.localDescription) });
    },

    /** Callee: answer an offer received earlier. */
    async answer(offerSdp) {
      await applyRemote(parseDescription(offerSdp, 'offer'));
      await addMicrophone();
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      send('answer_sdp', { targetClientId: peerId, callId, sdp: descriptionJson(pc.localDescription) });
    },

    /** Caller: the callee's answer arrived. */
    acceptAnswer: (answerSdp) => applyRemote(parseDescription(answerSdp, 'answer')),
    addCandidate,

    close() {
      if (closed) return;
      closed = true;
      for (const t of localStream?.getTracks() ?? []) t.stop();
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
