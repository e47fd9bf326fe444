import { describe, expect, it } from 'vitest';
import { float32ToInt16 } from '../../dsp/pcm.js';
import { SampleRing } from '../../agent/pipeline/sample-ring.js';
import { rng } from '../helpers/random.js';

describe('SampleRing', () => {
  // 2.5 laps of a 1000-sample ring, written in uneven chunks; values beyond ±1 exercise clipping.
  const random = rng(7);
  const ring = new SampleRing(1000);
  const all: number[] = [];
  for (let written = 0; written < 2500; ) {
    const chunk = Float32Array.from({ length: 1 + Math.floor(random() * 300) }, () => (random() * 2 - 1) * 1.2);
    ring.write(chunk);
    all.push(...chunk);
    written += chunk.length;
  }

  it('keeps the last `capacity` samples, addressed by absolute index', () => {
    expect(ring.start).toBe(ring.end - 1000);
    expect(Array.from(ring.read(ring.end - 10, ring.end))).toEqual(all.slice(-10).map(Math.fround));
  });
  it('readInt16 gives exactly float32ToInt16(read(...)), across the wrap, clipped to what is held', () => {
    const ranges: [number, number][] = [
      [ring.start, ring.end],
      [ring.start - 500, ring.end + 500],
      [ring.end - 1, ring.end],
      [ring.start + 123, ring.start + 877],
      [ring.end, ring.end + 10],
      [0, 10],
    ];
    for (let i = 0; i < 20; i++) {
      const a = ring.start + Math.floor(random() * 1000);
      ranges.push([a, a + Math.floor(random() * (ring.end - a + 1))]);
    }
    for (const [from, to] of ranges) expect(ring.readInt16(from, to), `${from}..${to}`).toEqual(float32ToInt16(ring.read(from, to)));
  });
});
