import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFeatureExtractor, DEFAULT_FEATURE_PARAMS, OCTAVE_CENTERS_HZ } from '../../dsp/features.js';
import { Meyda } from '../../dsp/meyda.js';
import { decodeWav } from '../../dsp/wav.js';
import { frontendFixturesDir } from '../helpers/paths.js';

const SR = 32000;

function sine(n: number, freq: number, amp: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / SR + 0.1);
  return x;
}

function noise(n: number, amp: number, seed = 1): Float32Array {
  let s = seed;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = amp * (s / 2 ** 31 - 1);
  }
  return x;
}

const fx = createFeatureExtractor();

describe('meyda interop', () => {
  it('resolves the meyda object under NodeNext', () => {
    expect(typeof Meyda.extract).toBe('function');
  });
});

describe('auxiliary features', () => {
  it('RMS and dBFS of a sine: amplitude/√2, 20·log10', () => {
    const f = fx.frame(sine(1024, 1000, 0.5));
    expect(f.rms).toBeCloseTo(0.5 / Math.SQRT2, 2);
    expect(f.dbfs).toBeCloseTo(20 * Math.log10(0.5 / Math.SQRT2), 1);
  });

  it('puts a 1 kHz sine in the 1 kHz octave band at the sine level, others far below', () => {
    const f = fx.frame(sine(1024, 1000, 0.5));
    const k = OCTAVE_CENTERS_HZ.indexOf(1000);
    expect(f.octaveDb[k]).toBeCloseTo(f.dbfs, 0);
    for (let b = 0; b < OCTAVE_CENTERS_HZ.length; b++) if (Math.abs(b - k) > 1) expect(f.octaveDb[b]).toBeLessThan(f.dbfs - 40);
  });

  it('octave bands of white noise add up to the frame power and rise 3 dB per octave', () => {
    const f = fx.frame(noise(1024, 0.3));
    const total = OCTAVE_CENTERS_HZ.reduce((s, _c, b) => s + 10 ** (f.octaveDb[b] / 10), 0);
    // Bands cover 44 Hz … 16 kHz: nearly all of the power.
    expect(10 * Math.log10(total)).toBeCloseTo(f.dbfs, 0);
    const d = f.octaveDb[7] - f.octaveDb[4]; // 8 kHz vs 1 kHz band: 3 octaves wider
    expect(d).toBeGreaterThan(6);
    expect(d).toBeLessThan(12);
  });

  it('centroid follows the tone; flatness separates a tone from noise; ZCR ≈ 2f/fs', () => {
    const tone = fx.frame(sine(1024, 4000, 0.5));
    expect(tone.centroidHz).toBeGreaterThan(3500);
    expect(tone.centroidHz).toBeLessThan(4500);
    expect(tone.zcr).toBeCloseTo((2 * 4000) / SR, 2);
    const white = fx.frame(noise(1024, 0.5));
    expect(white.flatness).toBeGreaterThan(0.5);
    expect(tone.flatness).toBeLessThan(0.2);
    expect(white.centroidHz).toBeGreaterThan(6000);
  });

  it('maps digital silence to the floor and zeros, never NaN', () => {
    const f = fx.frame(new Float32Array(1024));
    expect(f.dbfs).toBe(DEFAULT_FEATURE_PARAMS.floorDb);
    expect(f.flatness).toBe(0);
    expect(f.centroidHz).toBe(0);
    expect([...f.octaveDb].every((v) => v === DEFAULT_FEATURE_PARAMS.floorDb)).toBe(true);
  });

  it('tracks a real recording frame by frame, and the gunshot stands out of the background', () => {
    const wav = decodeWav(readFileSync(path.join(frontendFixturesDir, 'belize_gunshot_32k.wav')));
    const t = fx.track(wav.mono);
    expect(t.nFrames).toBe(fx.frameCount(wav.mono.length));
    expect(t.nFrames).toBe(Math.floor((wav.mono.length - 1024) / 1024) + 1);
    const sorted = [...t.dbfs].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    expect(sorted[sorted.length - 1] - median).toBeGreaterThan(10);
    for (const arr of [t.rms, t.dbfs, t.zcr, t.flatness, t.centroidHz, t.octaveDb]) expect(arr.every(Number.isFinite)).toBe(true);
  });

  it('rejects a non-power-of-two frame size and wrong frame lengths', () => {
    expect(() => createFeatureExtractor({ ...DEFAULT_FEATURE_PARAMS, frameSize: 1000 })).toThrow(RangeError);
    expect(() => fx.frame(new Float32Array(512))).toThrow(RangeError);
  });
});
