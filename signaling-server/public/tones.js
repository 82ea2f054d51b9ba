// Call-progress sounds, as the desktop app plays them (src/ui/sound.rs): a
// ringtone while someone calls us, ringback while the callee's app rings.
// Synthesised with WebAudio (nothing to download): ringback is the desktop's
// 400+450 Hz in the UK cadence (src/audio/tone.rs), the ringtone a brighter
// three-note chime. Browsers only start audio after the person has touched
// the page; until then the tab title is what tells them.

/** Which sound the state calls for: 'ringtone', 'ringback' or null. */
export function toneFor(model) {
  if (model.phase === 'ringing') return 'ringtone';
  if (model.phase === 'calling' && model.ringing) return 'ringback';
  return null;
}

// [frequencies (Hz), seconds on, seconds off] steps, repeated.
const PATTERNS = {
  ringback: [
    [[400, 450], 0.4, 0.2],
    [[400, 450], 0.4, 2.0],
  ],
  ringtone: [
    [[880], 0.15, 0.05],
    [[1175], 0.15, 0.05],
    [[1318], 0.3, 1.5],
  ],
};
const LEVEL = 0.12;

/** @param {() => AudioContext} [newContext] */
export function createTones(newContext = () => new AudioContext()) {
  let ctx = null;
  let current = null;
  let playing = null; // { gain, timer }

  function stop() {
    if (!playing) return;
    clearTimeout(playing.timer);
    playing.gain.disconnect();
    playing = null;
  }

  function schedule(name) {
    const gain = ctx.createGain();
    gain.connect(ctx.destination);
    playing = { gain, timer: null };
    let at = ctx.currentTime + 0.05;
    const period = PATTERNS[name].reduce((sum, [, on, off]) => sum + on + off, 0);
    // Schedule a few periods ahead, then top up: no timer runs per note.
    const fill = () => {
      while (at < ctx.currentTime + 2 * period) {
        for (const [freqs, on, off] of PATTERNS[name]) {
          for (const f of freqs) {
            const osc = ctx.createOscillator();
            const env = ctx.createGain();
            osc.frequency.value = f;
            env.gain.setValueAtTime(0, at);
            env.gain.linearRampToValueAtTime(LEVEL / freqs.length, at + 0.01);
            env.gain.setValueAtTime(LEVEL / freqs.length, at + on - 0.01);
            env.gain.linearRampToValueAtTime(0, at + on);
            osc.connect(env).connect(gain);
            osc.start(at);
            osc.stop(at + on);
          }
          at += on + off;
        }
      }
      playing.timer = setTimeout(fill, period * 1000);
    };
    fill();
  }

  return {
    get current() {
      return current;
    },
    /** Plays `name` (or nothing for null) until told otherwise. */
    play(name) {
      if (name === current) return;
      current = name;
      stop();
      if (!name) return;
      try {
        ctx ??= newContext();
        ctx.resume().catch(() => {});
        schedule(name);
      } catch (err) {
        // No audio output (or no WebAudio): the screen and title still say it.
        console.warn('cannot play', name, err);
      }
    },
  };
}
