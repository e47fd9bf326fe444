import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../agent/errors.js';
import { createRealFft, createWindowedPower } from '../../dsp/fft.js';
import { MN04_FRONTEND, frontendParamProblems } from '../../dsp/frontend-params.js';
import { applyMelBank, applyMelSegments, denseMelBank, kaldiMel, kaldiMelBank, kaldiMelSegments } from '../../dsp/mel.js';
import { createMelFrontend, type MelStream } from '../../dsp/melspec.js';
import { decodeWav } from '../../dsp/wav.js';
import { hann } from '../../dsp/window.js';
import { frontendFixturesDir } from '../helpers/paths.js';
import { rng } from '../helpers/random.js';


/** O(n²) DFT power, the reference for the FFT. */
function dftPower(x: Float64Array): Float64Array {
  const n = x.length;
  const out = new Float64Array(n / 2 + 1);
  for (let k = 0; k <= n / 2; k++) {
    let re = 0, im = 0;
    for (let t = 0; t < n; t++) {
      re += x[t] * Math.cos((2 * Math.PI * k * t) / n);
      im -= x[t] * Math.sin((2 * Math.PI * k * t) / n);
    }
    out[k] = re * re + im * im;
  }
  return out;
}

describe('real FFT', () => {
  for (const n of [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]) {
    it(`size ${n} matches a direct DFT`, () => {
      const rand = rng(n);
      const x = Float64Array.from({ length: n }, () => rand() * 2 - 1);
      const want = dftPower(x);
      const got = new Float64Array(n / 2 + 1);
      const fft = createRealFft(n);
      fft.power(x, got);
      const re = new Float64Array(n / 2 + 1);
      const im = new Float64Array(n / 2 + 1);
      fft.forward(x, re, im);
      const scale = Math.max(...want);
      for (let k = 0; k <= n / 2; k++) {
        expect(Math.abs(got[k] - want[k]) / scale).toBeLessThan(1e-12);
        expect(Math.abs(re[k] * re[k] + im[k] * im[k] - want[k]) / scale).toBeLessThan(1e-12);
      }
    });
  }
  it('rejects sizes that are not powers of two', () => {
    expect(() => createRealFft(1000)).toThrow(RangeError);
  });

  it('windowed frames (fused gather) equal the FFT of the explicit zero-padded frame', () => {
    const rand = rng(11);
    const src = Float64Array.from({ length: 3000 }, () => rand() * 2 - 1);
    const cases: [number, number, number][] = [[1024, 800, 112], [1024, 1024, 0], [1024, 512, 256], [1024, 300, 7], [1024, 801, 111], [64, 40, 12], [8, 3, 5], [16, 16, 0]];
    for (const [n, len, offset] of cases) {
      const win = Float64Array.from({ length: len }, (_, i) => 0.5 + 0.5 * Math.sin(i + 1));
      const pos = 1000;
      const frame = new Float64Array(n);
      for (let i = 0; i < len; i++) frame[offset + i] = src[pos + i] * win[i];
      const want = new Float64Array(n / 2 + 1);
      createRealFft(n).power(frame, want);
      const got = new Float64Array(n / 2 + 1);
      createWindowedPower(n, win, offset)(src, pos, got);
      const scale = Math.max(...want);
      for (let k = 0; k <= n / 2; k++) expect(Math.abs(got[k] - want[k]) / scale, `${n}/${len}@${offset} bin ${k}`).toBeLessThan(1e-12);
    }
    // At the very start of its buffer an odd placement must not read before it (NaN).
    const out = new Float64Array(513);
    createWindowedPower(1024, new Float64Array(801).fill(1), 111)(src, 0, out);
    expect(out.every(Number.isFinite)).toBe(true);
  });
});

describe('Kaldi mel bank', () => {
  const spec = { nMels: 128, nFft: 1024, sampleRate: 32000, fMin: 0, fMax: 15000 };
  const bank = kaldiMelBank(spec);

  it('is the torchaudio formula, evaluated densely', () => {
    const dense = denseMelBank(bank);
    const melLow = kaldiMel(0);
    const delta = (kaldiMel(15000) - melLow) / 129;
    for (const m of [0, 1, 5, 40, 127]) {
      for (let k = 0; k < 513; k++) {
        const mel = kaldiMel((k * 32000) / 1024);
        const l = melLow + m * delta, c = l + delta, r = c + delta;
        const want = k === 512 ? 0 : Math.max(0, Math.min((mel - l) / (c - l), (r - mel) / (r - c)));
        expect(dense[m * 513 + k]).toBeCloseTo(want, 12);
      }
    }
    expect(kaldiMel(700)).toBeCloseTo(1127 * Math.log(2), 12);
  });

  it('has narrow low filters (one or two bins), none empty, and no weight at Nyquist', () => {
    expect([...bank.length].every((l) => l > 0)).toBe(true);
    expect(bank.length[0]).toBeLessThanOrEqual(2);
    expect(bank.length[127]).toBeGreaterThan(10);
    expect(bank.start[127] + bank.length[127]).toBeLessThanOrEqual(512);
  });

  it('segment form gives the same mel energies as the sparse bank', () => {
    const seg = kaldiMelSegments(spec);
    const rand = rng(3);
    const p = Float64Array.from({ length: 513 }, () => rand() * 10);
    const a = new Float64Array(128);
    const b = new Float64Array(128);
    applyMelBank(bank, p, a);
    applyMelSegments(seg, p, b);
    for (let m = 0; m < 128; m++) expect(Math.abs(a[m] - b[m])).toBeLessThanOrEqual(1e-12 * Math.max(1, a[m]));
  });
});

describe('log-mel front end', () => {
  const fe = createMelFrontend(MN04_FRONTEND);

  it('window is numpy.hanning(800): zero at both ends, symmetric', () => {
    const w = hann(800, true);
    expect(w[0]).toBe(0);
    expect(w[799]).toBeCloseTo(0, 15);
    expect(w[400]).toBeCloseTo(w[399], 15);
    expect(w[399]).toBeCloseTo(0.5 - 0.5 * Math.cos((2 * Math.PI * 399) / 799), 15);
  });

  it('frame count is 1 + floor((N - 1)/hop) (pre-emphasis drops one sample)', () => {
    for (const n of [2, 320, 321, 322, 641, 32000, 336039]) expect(fe.frameCount(n)).toBe(1 + Math.floor((n - 1) / 320));
    expect(fe.frameCount(0)).toBe(0);
    expect(fe.frameCount(1)).toBe(0);
    expect(fe.melspec(new Float32Array(1)).nFrames).toBe(0);
  });

  it('silence sits at the floor (log(1e-5) + 4.5)/5', () => {
    const mel = fe.melspec(new Float32Array(16000));
    const floor = (Math.log(1e-5) + 4.5) / 5;
    for (const v of mel.data) expect(v).toBeCloseTo(floor, 6);
  });

  it('a tone lights up the mel band that contains it', () => {
    const n = 32000;
    const x = Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 3000 * i) / 32000));
    const mel = fe.melspec(x);
    const t = 50;
    let best = 0;
    for (let m = 1; m < 128; m++) if (mel.data[m * mel.nFrames + t] > mel.data[best * mel.nFrames + t]) best = m;
    const centre = (m: number): number => 700 * (Math.exp((((m + 1) * kaldiMel(15000)) / 129) / 1127) - 1);
    expect(Math.abs(centre(best) - 3000)).toBeLessThan(centre(best + 1) - centre(best));
  });

  it('handles signals shorter than the reflect padding (repeated reflection, no NaN)', () => {
    for (const n of [2, 3, 10, 300, 513, 800]) {
      const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
      const mel = fe.melspec(x);
      expect(mel.nFrames).toBe(fe.frameCount(n));
      expect(mel.data.every(Number.isFinite)).toBe(true);
    }
  });

  it('uses the out buffer when it is large enough', () => {
    const x = new Float32Array(3200).fill(0.1);
    const out = new Float32Array(128 * 11);
    expect(fe.melspec(x, out).data).toBe(out);
  });

  it('rejects bad parameters with a ConfigError listing every problem', () => {
    const bad = { ...MN04_FRONTEND, nFft: 1000, fMax: 20000 };
    expect(frontendParamProblems(bad)).toHaveLength(2);
    expect(() => createMelFrontend(bad)).toThrow(ConfigError);
    expect(frontendParamProblems(MN04_FRONTEND)).toEqual([]);
  });

  it('parameters survive JSON (a manifest carries them)', () => {
    const round = JSON.parse(JSON.stringify(MN04_FRONTEND)) as typeof MN04_FRONTEND;
    expect(round).toEqual(MN04_FRONTEND);
    const x = Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i * 0.3));
    expect(createMelFrontend(round).melspec(x).data).toEqual(fe.melspec(x).data);
  });
});

describe('streaming log-mel equals batch', () => {
  const fe = createMelFrontend(MN04_FRONTEND);

  function streamed(stream: MelStream, x: Float32Array, sizes: () => number): { frames: Float32Array[]; indices: number[] } {
    const frames: Float32Array[] = [];
    const indices: number[] = [];
    const sink = (f: Float32Array, t: number): void => {
      frames.push(f.slice());
      indices.push(t);
    };
    for (let i = 0; i < x.length; ) {
      const n = sizes();
      expect(stream.push(x.subarray(i, i + n), sink)).toBeGreaterThanOrEqual(0);
      i += n;
    }
    stream.flush(sink);
    return { frames, indices };
  }

  const wav = decodeWav(readFileSync(path.join(frontendFixturesDir, 'belize_gunshot_32k.wav')));
  const real = wav.mono.subarray(0, 48_123);
  const batch = fe.melspec(real);

  const chunkers: [string, (r: () => number) => () => number][] = [
    ['single samples', () => () => 1],
    ['random small (0–700)', (r) => () => Math.floor(r() * 700)],
    ['random any (0–20000)', (r) => () => Math.floor(r() ** 2 * 20000)],
    ['exactly one hop', () => () => 320],
    ['the whole signal', () => () => 1 << 30],
  ];
  for (const [label, make] of chunkers) {
    it(`bit-identical for chunks of ${label}`, () => {
      const rand = rng(label.length);
      const stream = fe.createStream();
      const { frames, indices } = streamed(stream, real, make(rand));
      expect(frames.length).toBe(batch.nFrames);
      expect(indices).toEqual(Array.from({ length: batch.nFrames }, (_, i) => i));
      let same = true;
      for (let t = 0; t < batch.nFrames && same; t++) {
        for (let m = 0; m < 128 && same; m++) same = Object.is(frames[t][m], batch.data[m * batch.nFrames + t]);
      }
      expect(same).toBe(true);
    });
  }

  it('emits frames as soon as they are computable: all but the last couple before flush', () => {
    const stream = fe.createStream();
    let seen = 0;
    for (let i = 0; i < real.length; i += 1000) seen += stream.push(real.subarray(i, i + 1000), () => undefined);
    const tail = stream.flush(() => undefined);
    expect(seen + tail).toBe(batch.nFrames);
    expect(tail).toBeLessThanOrEqual(Math.ceil(400 / 320) + 1);
    // Frame 0 reads y[-400 … 399]; y[-400] reflects to y[400], the 402nd raw sample.
    const s2 = fe.createStream();
    expect(s2.push(real.subarray(0, 401), () => undefined)).toBe(0);
    expect(s2.push(real.subarray(401, 402), () => undefined)).toBe(1);
    // Frame 1 (y[-80 … 719]) needs 721 raw samples.
    expect(s2.push(real.subarray(402, 720), () => undefined)).toBe(0);
    expect(s2.push(real.subarray(720, 721), () => undefined)).toBe(1);
  });

  it('independent streams on one front end do not disturb each other', () => {
    const a = fe.createStream();
    const b = fe.createStream();
    const out: Float32Array[] = [];
    const sinkA = (f: Float32Array): void => void out.push(f.slice());
    const other = Float32Array.from({ length: 20000 }, (_, i) => Math.cos(i * 0.01));
    for (let i = 0; i < real.length; i += 777) {
      a.push(real.subarray(i, i + 777), sinkA);
      b.push(other.subarray(i % 20000, (i % 20000) + 333), () => undefined);
    }
    a.flush(sinkA);
    expect(out.length).toBe(batch.nFrames);
    for (let t = 0; t < batch.nFrames; t += 37) expect(out[t][64]).toBe(batch.data[64 * batch.nFrames + t]);
  });
});
