import { describe, expect, it } from 'vitest';
import { SpeechTrack } from '../../agent/detect/speech-track.js';

/**
 * A voice detector that calls a 16 kHz frame "speech" when its mean absolute level is above
 * 0.1, carrying nothing but a frame counter; records what it was given.
 */
class LevelVoice {
  readonly sampleRate = 16000;
  readonly frameSamples = 512;
  samples = 0;
  resets = 0;
  calls = 0;
  async process(x: Float32Array): Promise<Float32Array> {
    this.calls++;
    this.samples += x.length;
    const n = Math.floor(x.length / this.frameSamples);
    const out = new Float32Array(n);
    for (let f = 0; f < n; f++) {
      let s = 0;
      for (let i = 0; i < this.frameSamples; i++) s += Math.abs(x[f * this.frameSamples + i]!);
      out[f] = s / this.frameSamples > 0.1 ? 0.9 : 0.1;
    }
    return out;
  }
  reset(): void {
    this.resets++;
  }
}

/** `seconds` of silence at `rate` with a loud 440 Hz tone over [from, to) seconds. */
function toneIn(rate: number, seconds: number, from: number, to: number): Float32Array {
  const x = new Float32Array(rate * seconds);
  for (let i = Math.round(from * rate); i < Math.round(to * rate); i++) x[i] = 0.5 * Math.sin((2 * Math.PI * 440 * i) / rate);
  return x;
}

/** Windows of `win` s every `hop` s over x, as the analyzer asks for them. */
async function shares(track: SpeechTrack, x: Float32Array, win: number, hop: number): Promise<number[]> {
  const out: number[] = [];
  for (let s = 0; s + win * track.rate <= x.length; s += hop * track.rate) out.push(await track.share(x.subarray(s, s + win * track.rate), s));
  return out;
}

describe('SpeechTrack', () => {
  it('computes every voice frame once for windows overlapping by half, as one stream from one cold start', async () => {
    const voice = new LevelVoice();
    const track = new SpeechTrack(voice, 16000);
    const got = await shares(track, toneIn(16000, 10, 2, 4), 2, 1);
    expect(got).toHaveLength(9);
    expect(voice.samples).toBe(Math.floor((10 * 16000) / 512) * 512); // each frame of the 10 s once
    expect(voice.resets).toBe(1);
    // Speech share per window: [0,2) none, [1,3) half, [2,4) all, [3,5) half, [4,6) none...
    expect(got.map((s) => Math.round(s * 10) / 10)).toEqual([0, 0.5, 1, 0.5, 0, 0, 0, 0, 0]);
  });

  for (const rate of [8000, 32000]) {
    it(`at ${rate / 1000} kHz: resamples each stretch to 16 kHz on the shared grid (same shares as at 16 kHz)`, async () => {
      const voice = new LevelVoice();
      const got = await shares(new SpeechTrack(voice, rate), toneIn(rate, 10, 2, 4), 2, 1);
      const ref = await shares(new SpeechTrack(new LevelVoice(), 16000), toneIn(16000, 10, 2, 4), 2, 1);
      for (const [i, s] of got.entries()) expect(s, `window ${i}`).toBeCloseTo(ref[i]!, 1);
      expect(voice.samples).toBeLessThanOrEqual(10 * 16000);
    });
  }

  it('starts cold after a stretch nobody asked about, and a new track on the same detector starts cold', async () => {
    const voice = new LevelVoice();
    const a = new SpeechTrack(voice, 16000);
    const x = toneIn(16000, 20, 0, 20);
    expect(await a.share(x.subarray(0, 32000), 0)).toBe(1);
    expect(await a.share(x.subarray(16000, 48000), 16000)).toBe(1); // continues: no reset
    expect(voice.resets).toBe(1);
    expect(await a.share(x.subarray(160000, 192000), 160000)).toBe(1); // a gap: fresh state
    expect(voice.resets).toBe(2);

    const b = new SpeechTrack(voice, 16000); // the detector's state is a's: b resets it
    await b.share(x.subarray(0, 32000), 0);
    expect(voice.resets).toBe(3);
  });

  it('reset() forgets the cached frames and the detector state (a new recording)', async () => {
    const voice = new LevelVoice();
    const track = new SpeechTrack(voice, 16000);
    await track.share(toneIn(16000, 2, 0, 2), 0);
    track.reset();
    expect(await track.share(new Float32Array(32000), 0)).toBe(0); // recomputed, not the cached speech
    expect(voice.samples).toBe(2 * Math.floor(32000 / 512) * 512);
    expect(voice.resets).toBe(2);
  });

  it('a window shorter than one voice frame has no speech share; an unusable rate is refused', async () => {
    const voice = new LevelVoice();
    expect(await new SpeechTrack(voice, 16000).share(new Float32Array(100).fill(0.5), 0)).toBe(0);
    expect(voice.calls).toBe(0);
    expect(() => new SpeechTrack(voice, 44100)).toThrow(/44100 Hz/);
  });
});
