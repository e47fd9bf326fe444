import { describe, expect, it } from 'vitest';
import { LiveInput } from '../../agent/pipeline/live-input.js';
import { SampleRing } from '../../agent/pipeline/sample-ring.js';
import { createStreamingFrontend } from '../../dsp/frontend.js';
import { MN04_FRONTEND } from '../../dsp/frontend-params.js';
import { createMelFrontend } from '../../dsp/melspec.js';

const RATE = MN04_FRONTEND.sampleRate;

function input(gainDb?: number, inputRate = RATE) {
  const ring = new SampleRing(10 * RATE);
  const frontend = createStreamingFrontend(MN04_FRONTEND, inputRate);
  return { ring, input: new LiveInput({ frontend, ring, ...(gainDb !== undefined ? { gainDb } : {}) }) };
}

const tone = (seconds: number, amplitude: number, rate = RATE) => Int16Array.from({ length: seconds * rate }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / rate)));

describe('LiveInput', () => {
  it('writes the model-rate samples to the ring before the frames they complete, and flushes the rest at the end of a segment', () => {
    const { ring, input: li } = input();
    const pcm = tone(2, 8000);
    let early = 0;
    let frames = 0;
    const onFrame = (_f: Float32Array, t: number) => {
      if (ring.end <= t * MN04_FRONTEND.hop) early++;
      frames++;
    };
    for (let i = 0; i < pcm.length; i += 1000) li.push(pcm.subarray(i, i + 1000), onFrame);
    li.flush(onFrame);
    expect(early).toBe(0);
    expect(ring.end).toBe(pcm.length);
    expect(frames).toBe(createMelFrontend(MN04_FRONTEND).frameCount(pcm.length));
    expect(ring.read(100, 103)).toEqual(Float32Array.from(pcm.subarray(100, 103), (x) => x / 32768));
  });

  it('resamples capture at another rate to the model rate', () => {
    const { ring, input: li } = input(undefined, 48000);
    li.push(tone(1, 8000, 48000), () => undefined);
    li.flush(() => undefined);
    expect(ring.end).toBe(RATE);
  });

  it('applies the gain, clips to full scale, and measures the level of each whole second after the gain', () => {
    const { ring, input: li } = input(20);
    const pcm = tone(1, 1000); // -30.3 dBFS RMS before the gain
    li.push(pcm.subarray(0, RATE / 2), () => undefined);
    expect(li.levelDbfs).toBeUndefined(); // not a second yet
    li.push(pcm.subarray(RATE / 2), () => undefined);
    expect(li.levelDbfs).toBeCloseTo(20 * Math.log10(10000 / 32768 / Math.SQRT2), 1);
    expect(ring.read(0, RATE).reduce((m, x) => Math.max(m, x), 0)).toBeCloseTo(10000 / 32768, 3);

    const loud = input(20);
    loud.input.push(tone(1, 30000), () => undefined);
    expect(loud.ring.read(0, RATE).reduce((m, x) => Math.max(m, Math.abs(x)), 0)).toBe(1);
  });
});
