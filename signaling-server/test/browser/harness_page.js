// What peer.js adds to the web client's page before its scripts run: the
// RTCPeerConnection the page makes (relay-only and asking the peer for Opus DTX
// on request), a recorder of the remote audio, setup times and the call's WebRTC
// stats. Everything else — the signaling, the offer/answer, getUserMedia — is
// the web client's own code, driven through its test hooks (window.voicecallTest).

/**
 * @param {import('puppeteer-core').Page} page before its first navigation
 * @param {{ relayOnly?: boolean, askDtx?: boolean }} opts
 */
export async function instrumentPage(page, { relayOnly = false, askDtx = false } = {}) {
  await page.evaluateOnNewDocument(pageHarness, { relayOnly, askDtx });
}

/* eslint-disable no-undef -- runs in the page */
function pageHarness({ relayOnly, askDtx }) {
  const harness = {
    pc: null,
    /** performance.now() at Call or Accept. */
    start: null,
    connectedMs: null,
    firstAudioMs: null,
    /** The connection failed or closed before the page noticed. */
    ended: false,
    recorder: null,
    markStart() {
      harness.start = performance.now();
    },
    stats: () => (harness.pc ? collectStats(harness.pc) : Promise.resolve(null)),
    async stopRecording() {
      if (!harness.recorder) return null;
      const { sampleRate, samples, wavBase64 } = await (await harness.recorder).stop();
      return { sampleRate, seconds: samples.length / sampleRate, wavBase64 };
    },
  };
  window.vcHarness = harness;

  const Native = window.RTCPeerConnection;
  class InstrumentedPeerConnection extends Native {
    constructor(config = {}, ...rest) {
      super(relayOnly ? { ...config, iceTransportPolicy: 'relay' } : config, ...rest);
      harness.pc = this;
      this.addEventListener('connectionstatechange', () => {
        const since = harness.start === null ? null : performance.now() - harness.start;
        if (this.connectionState === 'connected' && harness.connectedMs === null) harness.connectedMs = since;
        if (this.connectionState === 'failed' || this.connectionState === 'closed') harness.ended = true;
      });
      this.addEventListener('track', ({ streams, track }) => {
        if (harness.recorder) return;
        // The web client's own recorder (an AudioWorklet), started as soon as the track exists.
        const stream = streams[0] ?? new MediaStream([track]);
        harness.recorder = import('/recorder.js').then(({ createRecorder }) => createRecorder(stream));
        watchFirstAudio(this);
      });
    }
  }
  if (askDtx) {
    // `usedtx=1` in our Opus fmtp asks the peer's encoder for DTX (RFC 7587 §6.1);
    // Chromium does not say it unless the page edits its own descriptions.
    const withUsedtx = (description) => {
      const opus = /^a=rtpmap:(\d+) opus\/48000/im.exec(description.sdp);
      if (!opus) return description;
      const fmtp = new RegExp(`^(a=fmtp:${opus[1]} .*?)\\s*$`, 'm');
      return { type: description.type, sdp: description.sdp.replace(fmtp, '$1;usedtx=1\r') };
    };
    for (const name of ['createOffer', 'createAnswer']) {
      const original = InstrumentedPeerConnection.prototype[name];
      InstrumentedPeerConnection.prototype[name] = async function (...args) {
        return withUsedtx(await original.apply(this, args));
      };
    }
  }
  window.RTCPeerConnection = InstrumentedPeerConnection;

  /** Polls the inbound stream until NetEq has emitted audio: the call became audible. */
  async function watchFirstAudio(pc) {
    while (harness.firstAudioMs === null && pc.connectionState !== 'closed') {
      const report = await pc.getStats();
      for (const s of report.values()) {
        if (s.type === 'inbound-rtp' && s.kind === 'audio' && s.jitterBufferEmittedCount > 0) {
          harness.firstAudioMs = harness.start === null ? null : performance.now() - harness.start;
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async function collectStats(pc) {
    const report = await pc.getStats();
    const out = { at: performance.now(), inbound: null, outbound: null, remoteInbound: null, pair: null, codecs: {} };
    const plain = (s) => JSON.parse(JSON.stringify(s));
    for (const s of report.values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') out.inbound = plain(s);
      else if (s.type === 'outbound-rtp' && s.kind === 'audio') out.outbound = plain(s);
      else if (s.type === 'remote-inbound-rtp' && s.kind === 'audio') out.remoteInbound = plain(s);
      else if (s.type === 'codec') out.codecs[s.id] = `${s.mimeType}/${s.clockRate}${s.sdpFmtpLine ? ` ${s.sdpFmtpLine}` : ''} pt=${s.payloadType}`;
    }
    for (const s of report.values()) {
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        const pair = report.get(s.selectedCandidatePairId);
        const local = pair && report.get(pair.localCandidateId);
        const remote = pair && report.get(pair.remoteCandidateId);
        out.pair = { local: local?.candidateType ?? null, remote: remote?.candidateType ?? null, rtt: pair?.currentRoundTripTime ?? null };
      }
    }
    return out;
  }
}
