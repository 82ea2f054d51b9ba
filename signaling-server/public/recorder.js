// Capture a MediaStream's audio as PCM and encode it as a WAV file, so an
// automated test can fetch what this page actually received and check it
// (level, pitch, or a PESQ score later).
//
// Uses a ScriptProcessorNode: deprecated, but in every browser and needs no
// extra module file; this is a test hook, not part of the call path.
// Chromium only feeds remote WebRTC audio into WebAudio while the stream
// also plays in a media element — app.js attaches it to <audio>.

export function createRecorder(stream) {
  const ctx = new AudioContext();
  const source = ctx.createMediaStreamSource(stream);
  const processor = ctx.createScriptProcessor(4096, 1, 1);
  const chunks = [];
  processor.onaudioprocess = (e) => {
    chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
  };
  source.connect(processor);
  // The processor only runs while connected to the destination; its output
  // buffer stays silent, so nothing is played twice.
  processor.connect(ctx.destination);

  return {
    sampleRate: ctx.sampleRate,
    /** Stop and return { sampleRate, samples: Float32Array, rms, wavBase64 }. */
    async stop() {
      source.disconnect();
      processor.disconnect();
      await ctx.close();
      const samples = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
      let offset = 0;
      for (const c of chunks) {
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
