// Capture a MediaStream's audio as PCM and encode it as a WAV file, so an
// automated test can fetch what this page actually received and check it
// (level, pitch, or a PESQ score later).
//
// The samples are taken on the audio thread by an AudioWorklet
// (recorder_worklet.js). A ScriptProcessorNode runs its callback on the page's
// main thread, and when a loaded machine makes that late, chromium drops the
// buffers it could not deliver: the recording loses stretches of audio, which
// the interop test (tests/browser_interop.rs) reads as audio the call lost.
// Chromium only feeds remote WebRTC audio into WebAudio while the stream
// also plays in a media element — app.js attaches it to <audio>.

/** Starts recording `stream` at once; the worklet joins as soon as it has loaded. */
export function createRecorder(stream) {
  const ctx = new AudioContext();
  const blocks = [];
  let source = null;
  let node = null;
  const ready = (async () => {
    await ctx.audioWorklet.addModule(new URL('./recorder_worklet.js', import.meta.url));
    source = ctx.createMediaStreamSource(stream);
    node = new AudioWorkletNode(ctx, 'voicecall-recorder', { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: 'explicit' });
    node.port.onmessage = ({ data }) => blocks.push(data.samples);
    source.connect(node);
    // The node only runs while connected to the destination; its output is
    // silence, so nothing is played twice.
    node.connect(ctx.destination);
  })();

  return {
    sampleRate: ctx.sampleRate,
    /** Resolves once the worklet records: what arrived before it is not in the recording. */
    ready,
    /** Stop and return { sampleRate, samples: Float32Array, rms, wavBase64 }. */
    async stop() {
      await ready;
      // The worklet's partial block comes last, after every full one it posted.
      const flushed = new Promise((resolve) => {
        node.port.onmessage = ({ data }) => {
          blocks.push(data.samples);
          if (data.last) resolve();
        };
      });
      node.port.postMessage('flush');
      // A context that never ran (no audio device) never answers.
      await Promise.race([flushed, new Promise((r) => setTimeout(r, 2000))]);
      source.disconnect();
      node.disconnect();
      await ctx.close();
      const samples = new Float32Array(blocks.reduce((n, c) => n + c.length, 0));
      let offset = 0;
      for (const c of blocks) {
        samples.set(c, offset);
        offset += c.length;
      }
      return { sampleRate: ctx.sampleRate, samples, rms: rms(samples), wavBase64: toBase64(encodeWav(samples, ctx.sampleRate)) };
    },
  };
}

export function rms(samples) {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return samples.length ? Math.sqrt(sum / samples.length) : 0;
}

/** 16-bit little-endian mono PCM WAV. */
export function encodeWav(samples, sampleRate) {
  const buffer = new ArrayBuffer(44 + samples.length * 2);
  const view = new DataView(buffer);
  const text = (offset, s) => [...s].forEach((ch, i) => view.setUint8(offset + i, ch.charCodeAt(0)));
  text(0, 'RIFF');
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  text(36, 'data');
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return new Uint8Array(buffer);
}

function toBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
