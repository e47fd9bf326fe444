import { describe, expect, it } from 'vitest';
import { createResampler, DETECTION_RESAMPLING, resample } from '../../dsp/resample.js';
import { rng } from '../helpers/random.js';

function sine(n: number, freq: number, rate: number, amp = 0.5, phase = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate + phase);
  return out;
}

function rms(x: ArrayLike<number>, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i] * x[i];
  return Math.sqrt(s / (to - from));
}

const db = (ratio: number): number => 20 * Math.log10(ratio);


describe('resampler design', () => {
  it('reduces the ratio with gcd', () => {
    const r = createResampler(44100, 32000);
    expect([r.up, r.down]).toEqual([320, 441]);
    const s = createResampler(48000, 32000);
    expect([s.up, s.down]).toEqual([2, 3]);
    const u = createResampler(8000, 32000);
    expect([u.up, u.down]).toEqual([4, 1]);
  });

  it('rejects non-integer or non-positive rates', () => {
    expect(() => createResampler(0, 32000)).toThrow(RangeError);
    expect(() => createResampler(44100.5, 32000)).toThrow(RangeError);
  });

  it('produces ceil(N·L/M) samples', () => {
    for (const [from, n] of [[44100, 44100], [44100, 1001], [48000, 7], [8000, 1], [22050, 12345], [32000, 999]] as const) {
      const out = resample(new Float32Array(n).fill(0.1), from, 32000);
      expect(out.length, `${from} Hz × ${n}`).toBe(Math.ceil((n * 32000) / from));
    }
  });

  it('keeps a constant exactly constant away from the edges', () => {
    const out = resample(new Float32Array(20000).fill(0.25), 44100, 32000);
    for (let i = 500; i < out.length - 500; i++) expect(Math.abs(out[i] - 0.25)).toBeLessThan(1e-6);
  });
});

describe('resampler quality', () => {
  const rates = [8000, 11025, 12000, 16000, 22050, 44100, 48000, 96000];
  for (const from of rates) {
    it(`${from} Hz → 32 kHz keeps a 1 kHz sine: amplitude within 0.1 dB, residual below -70 dB`, () => {
      const n = from; // one second
      const x = sine(n, 1000, from, 0.5, 0.3);
      const y = resample(x, from, 32000);
      const ideal = sine(y.length, 1000, 32000, 0.5, 0.3);
      // Ignore the edges, where the signal starts and stops abruptly.
      const a = 2000, b = y.length - 2000;
      const gainDb = db(rms(y, a, b) / rms(ideal, a, b));
      expect(Math.abs(gainDb)).toBeLessThan(0.1);
      const err = new Float64Array(b - a);
      for (let i = a; i < b; i++) err[i - a] = y[i] - ideal[i];
      expect(db(rms(err) / rms(ideal, a, b))).toBeLessThan(-70);
    });
  }

  it('44.1 kHz → 32 kHz attenuates a 20 kHz tone by ≥ 60 dB', () => {
    const x = sine(44100, 20000, 44100, 0.9);
    const y = resample(x, 44100, 32000);
    expect(db(rms(y, 2000, y.length - 2000) / rms(x))).toBeLessThan(-60);
  });

  it('48 kHz → 32 kHz attenuates a 17 kHz tone by ≥ 60 dB', () => {
    const x = sine(48000, 17000, 48000, 0.9);
    const y = resample(x, 48000, 32000);
    expect(db(rms(y, 2000, y.length - 2000) / rms(x))).toBeLessThan(-60);
  });

  it('8 kHz → 32 kHz leaves no image of a 1 kHz tone at 7 and 9 kHz', () => {
    const y = resample(sine(8000, 1000, 8000, 0.5), 8000, 32000);
    // Goertzel-style correlation with the image frequencies over the steady part.
    const level = (f: number): number => {
      let re = 0, im = 0;
      const a = 2000, b = y.length - 2000;
      for (let i = a; i < b; i++) {
        re += y[i] * Math.cos((2 * Math.PI * f * i) / 32000);
        im += y[i] * Math.sin((2 * Math.PI * f * i) / 32000);
      }
      return (2 * Math.hypot(re, im)) / (b - a);
    };
    expect(level(1000)).toBeGreaterThan(0.49);
    expect(db(level(7000) / 0.5)).toBeLessThan(-60);
    expect(db(level(9000) / 0.5)).toBeLessThan(-60);
  });

  it('falls back to interpolated phases for unusual rates and still keeps a sine', () => {
    const from = 44056; // gcd with 32000 is 8: L = 4000 > the exact table limit
    const r = createResampler(from, 32000);
    expect(r.up).toBe(4000);
    const y = resample(sine(from, 1000, from, 0.5), from, 32000);
    const ideal = sine(y.length, 1000, 32000, 0.5);
    const err = new Float64Array(y.length - 4000);
    for (let i = 2000; i < y.length - 2000; i++) err[i - 2000] = y[i] - ideal[i];
    expect(db(rms(err) / rms(ideal))).toBeLessThan(-70);
  });
});

describe('streaming resampler', () => {
  const cases: [number, number][] = [[44100, 32000], [48000, 32000], [8000, 32000], [22050, 32000], [32000, 16000], [32000, 32000]];
  for (const [from, to] of cases) {
    it(`${from} → ${to}: any chunking gives bit-identical output`, () => {
      const rand = rng(from + to);
      const x = new Float32Array(30011);
      for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.01) * 0.5 + (rand() - 0.5) * 0.2;
      const ref = resample(x, from, to);
      for (let trial = 0; trial < 5; trial++) {
        const r = createResampler(from, to);
        const parts: Float32Array[] = [];
        let i = 0;
        while (i < x.length) {
          const size = Math.floor(rand() ** 3 * 3000); // many tiny chunks, some 0, some large
          parts.push(r.push(x.subarray(i, i + size)).slice());
          i += size;
        }
        parts.push(r.flush().slice());
        const got = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
        let w = 0;
        for (const p of parts) {
          got.set(p, w);
          w += p.length;
        }
        expect(got.length).toBe(ref.length);
        let same = true;
        for (let k = 0; k < ref.length && same; k++) same = Object.is(got[k], ref[k]);
        expect(same, `trial ${trial}`).toBe(true);
      }
    });
  }

  it('is reusable after flush and honours out buffers', () => {
    const r = createResampler(44100, 32000);
    const x = sine(4410, 440, 44100);
    const a = Float32Array.from([...r.push(x), ...r.flush()]);
    const out = new Float32Array(r.maxOutput(x.length));
    const first = r.push(x, out);
    expect(first.buffer).toBe(out.buffer);
    const b = Float32Array.from([...first, ...r.flush()]);
    expect(b).toEqual(a);
    expect(() => r.push(x, new Float32Array(1))).toThrow(RangeError);
  });
});

describe('detection resampling preset', () => {
  it.each([8000, 16000, 22050, 44100, 48000])('%i Hz → 32 kHz still meets the quality bar with about half the taps', (from) => {
    expect(createResampler(from, 32000, DETECTION_RESAMPLING).taps).toBeLessThan(0.55 * createResampler(from, 32000).taps);
    const x = sine(from * 2, 1000, from);
    const y = resample(x, from, 32000, DETECTION_RESAMPLING);
    const ref = sine(y.length, 1000, 32000);
    const skip = 3200;
    const err = new Float32Array(y.length).map((_, i) => y[i]! - ref[i]!);
    expect(Math.abs(db(rms(y, skip, y.length - skip) / rms(ref, skip, y.length - skip)))).toBeLessThan(0.1);
    expect(db(rms(err, skip, y.length - skip) / rms(ref, skip, y.length - skip))).toBeLessThan(-70);
  });
  it.each([
    [44100, 20000],
    [48000, 17000],
  ])('%i Hz: a %i Hz tone above the new Nyquist is attenuated by at least 60 dB', (from, tone) => {
    const x = sine(from * 2, tone, from);
    const y = resample(x, from, 32000, DETECTION_RESAMPLING);
    expect(db(rms(y, 3200, y.length - 3200) / rms(x))).toBeLessThan(-60);
  });
});
