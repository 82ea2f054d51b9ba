// What peer.js adds to the web client's page before its scripts run: the
// RTCPeerConnection the page makes (relay-only on request), a recorder of the
// remote audio, setup times and the call's WebRTC stats. Everything else — the
// signaling, the offer/answer, getUserMedia — is the web client's own code,
// driven through its test hooks (window.voicecallTest).

/**
 * @param {import('puppeteer-core').Page} page before its first navigation
 * @param {{ relayOnly?: boolean }} opts
 */
export async function instrumentPage(page, { relayOnly = false } = {}) {
  // The server's CSP allows scripts from 'self' only; the recorder's worklet is a blob.
  await page.setBypassCSP(true);
  await page.evaluateOnNewDocument(pageHarness, { relayOnly, recorderSource: RECORDER_WORKLET });
}

// An AudioWorklet (the audio thread, not the page's main thread, which a busy
// machine stalls: the deprecated ScriptProcessorNode drops audio then) that
// hands the remote audio over in 4096-sample blocks.
const RECORDER_WORKLET = `
class VcRecorder extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = new Float32Array(4096);
    this.filled = 0;
    this.port.onmessage = () => {
      this.port.postMessage({ last: this.block.slice(0, this.filled) });
      this.filled = 0;
    };
  }
  process(inputs) {
    const channel = inputs[0][0];
    const n = channel ? channel.length : 128;
    for (let i = 0; i < n; i++) {
      this.block[this.filled++] = channel ? channel[i] : 0;
      if (this.filled === this.block.length) {
        this.port.postMessage(this.block);
        this.block = new Float32Array(4096);
        this.filled = 0;
      }
    }
    return true;
  }
}
registerProcessor('vc-recorder', VcRecorder);
`;

/* eslint-disable no-undef -- runs in the page */
function pageHarness({ relayOnly, recorderSource }) {
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
    stopRecording: () => harness.recorder?.stop() ?? Promise.resolve(null),
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
        harness.recorder = startRecorder(streams[0] ?? new MediaStream([track]));
        watchFirstAudio(this);
      });
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

  function startRecorder(stream) {
    // The output device's own rate (44.1 kHz for headless chromium's fake device): the
    // rate the <audio> element plays at, so no resampling is added for the recording.
    const ctx = new AudioContext();
    const blocks = [];
    let node = null;
    let source = null;
    const ready = (async () => {
      const url = URL.createObjectURL(new Blob([recorderSource], { type: 'text/javascript' }));
      await ctx.audioWorklet.addModule(url);
      source = ctx.createMediaStreamSource(stream);
      node = new AudioWorkletNode(ctx, 'vc-recorder', { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: 'explicit' });
      node.port.onmessage = ({ data }) => blocks.push(data);
      source.connect(node);
      // A node runs only while connected to the destination; its output is silence.
      node.connect(ctx.destination);
    })();
    return {
      async stop() {
        await ready;
        // The worklet's partial block, then stop.
        const last = new Promise((resolve) => {
          node.port.onmessage = ({ data }) => {
            blocks.push(data.last ?? data);
            if (data.last) resolve();
          };
        });
        node.port.postMessage('flush');
        await Promise.race([last, new Promise((r) => setTimeout(r, 500))]);
        source.disconnect();
        node.disconnect();
        await ctx.close();
        const samples = new Float32Array(blocks.reduce((n, b) => n + b.length, 0));
        let at = 0;
        for (const b of blocks) {
          samples.set(b, at);
          at += b.length;
        }
        return { sampleRate: ctx.sampleRate, seconds: samples.length / ctx.sampleRate, wavBase64: wavBase64(samples, ctx.sampleRate) };
      },
    };
  }

  /** 16-bit mono PCM WAV, base64. */
  function wavBase64(samples, rate) {
    const bytes = new Uint8Array(44 + samples.length * 2);
    const view = new DataView(bytes.buffer);
    const text = (at, s) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
    text(0, 'RIFF');
    view.setUint32(4, 36 + samples.length * 2, true);
    text(8, 'WAVE');
    text(12, 'fmt ');
    view.setUint32(16, 16, true);
    view.setUint16(20, 1, true);
    view.setUint16(22, 1, true);
    view.setUint32(24, rate, true);
    view.setUint32(28, rate * 2, true);
    view.setUint16(32, 2, true);
    view.setUint16(34, 16, true);
    text(36, 'data');
    view.setUint32(40, samples.length * 2, true);
    for (let i = 0; i < samples.length; i++) {
      const s = Math.max(-1, Math.min(1, samples[i]));
      view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  }
}
