// The recorder's audio-thread half (recorder.js): hands the remote audio to
// the page in blocks. It runs on the audio rendering thread, so a busy main
// thread delays the blocks' delivery but loses no samples.

const BLOCK = 4096;

class VoicecallRecorder extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = new Float32Array(BLOCK);
    this.filled = 0;
    // "flush": the partial block, marked as the last one.
    this.port.onmessage = () => {
      this.port.postMessage({ samples: this.block.slice(0, this.filled), last: true });
      this.filled = 0;
    };
  }

  process(inputs) {
    const channel = inputs[0]?.[0];
    // No input connected yet (or no channel): a render quantum of silence.
    const n = channel ? channel.length : 128;
    for (let i = 0; i < n; i++) {
      this.block[this.filled++] = channel ? channel[i] : 0;
      if (this.filled === BLOCK) {
        this.port.postMessage({ samples: this.block, last: false });
        this.block = new Float32Array(BLOCK);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor('voicecall-recorder', VoicecallRecorder);
