import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../agent/errors.js';
import { MN04_FRONTEND } from '../../dsp/frontend-params.js';
import { createMelFrontend, nativeRateFactor, type MelSpectrogram } from '../../dsp/melspec.js';
import { resample } from '../../dsp/resample.js';
import { decodeWav } from '../../dsp/wav.js';
import { kaldiMel } from '../../dsp/mel.js';
import { thrownBy } from '../helpers/errors.js';
import { devCorpusDir } from '../helpers/paths.js';
import { rng } from '../helpers/random.js';

const model = createMelFrontend(MN04_FRONTEND);
/** A resampler far better than the detection one: the reference for "ideally upsampled". */
const FINE = { passband: 0.97, attenuationDb: 100 };

function devWav(cls: string, pick: (name: string) => boolean): { file: string; x: Float32Array; rate: number } {
  const dir = path.join(devCorpusDir, cls);
  const name = fs.readdirSync(dir).filter((f) => f.endsWith('.wav') && pick(f)).sort()[0]!;
  const wav = decodeWav(fs.readFileSync(path.join(dir, name)));
  return { file: name, x: wav.mono, rate: wav.sampleRate };
}

/** Index of the last mel band whose whole triangle lies below `hz`. */
function bandsBelow(hz: number): number {
  const { nMels, fMin, fMax } = MN04_FRONTEND;
  const lo = kaldiMel(fMin);
  const delta = (kaldiMel(fMax) - lo) / (nMels + 1);
  let m = 0;
  while (m < nMels && lo + (m + 2) * delta < kaldiMel(hz)) m++;
  return m;
}

/**
 * |differences| over the first `bands` bands, sorted. The first and last two frames are left
 * out: there the reference resampler's own start-up (it treats the recording as preceded and
 * followed by zeros) differs from reflect-padding the recording itself.
 */
function bandDiffs(a: MelSpectrogram, b: MelSpectrogram, bands: number): number[] {
  const d: number[] = [];
  for (let m = 0; m < bands; m++) for (let t = 2; t < a.nFrames - 2; t++) d.push(Math.abs(a.data[m * a.nFrames + t]! - b.data[m * b.nFrames + t]!));
  return d.sort((p, q) => p - q);
}

describe('nativeRateFactor', () => {
  it('accepts rates the model rate divides by a power of two that keeps the frame grid whole', () => {
    expect(nativeRateFactor(MN04_FRONTEND, 32000)).toBe(1);
    expect(nativeRateFactor(MN04_FRONTEND, 16000)).toBe(2);
    expect(nativeRateFactor(MN04_FRONTEND, 8000)).toBe(4);
    for (const rate of [44100, 48000, 22050, 24000, 11025, 96000, 64000, 12000]) expect(nativeRateFactor(MN04_FRONTEND, rate), `${rate}`).toBeUndefined();
  });

  it('a front end for a rate it cannot take says so and which rate to resample to', () => {
    const err = thrownBy(() => createMelFrontend(MN04_FRONTEND, { inputRate: 44100 }));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/44100 Hz.*resample it to 32000 Hz/);
  });
});

describe('log-mel at the input rate (8 and 16 kHz recordings, no resampler)', () => {
  const cases = [
    { label: '8 kHz forest gunshot', ...devWav('gunshot', (f) => f.startsWith('belize')) },
    { label: '8 kHz forest background', ...devWav('background_other', (f) => f.startsWith('belize')) },
    { label: '16 kHz chainsaw', ...devWav('chainsaw', () => true) },
    { label: '16 kHz dog', ...devWav('dog', (f) => f.startsWith('dogspeak')) },
  ];

  for (const c of cases) {
    it(`${c.label} (${c.file}): equals the model-rate front end of the finely upsampled recording`, () => {
      expect(c.rate === 8000 || c.rate === 16000).toBe(true);
      const x = c.x.subarray(0, Math.min(c.x.length, c.rate * 6));
      const native = createMelFrontend(MN04_FRONTEND, { inputRate: c.rate });
      expect(native.rate).toBe(c.rate);
      expect(native.hop).toBe((MN04_FRONTEND.hop * c.rate) / 32000);
      const got = native.melspec(x);
      const want = model.melspec(resample(x, c.rate, 32000, FINE));
      expect(got.nFrames).toBe(want.nFrames);
      expect(got.nFrames).toBe(native.frameCount(x.length));

      // Below the band edge: the same spectrogram (units: normalised log-mel, (ln + 4.5) / 5).
      const d = bandDiffs(got, want, bandsBelow(0.9 * (c.rate / 2)));
      expect(d[d.length >> 1]).toBeLessThan(0.003); // median
      expect(d[Math.floor(d.length * 0.99)]).toBeLessThan(0.01);
      expect(d[d.length - 1]).toBeLessThan(0.05);

      // Above the input's Nyquist frequency there is nothing: the log floor exactly.
      const floor = (Math.log(MN04_FRONTEND.logOffset) + MN04_FRONTEND.normalize.add) / MN04_FRONTEND.normalize.divide;
      const top = MN04_FRONTEND.nMels - 1;
      for (let t = 0; t < got.nFrames; t++) expect(got.data[top * got.nFrames + t]).toBeCloseTo(floor, 5);
    });
  }

  it('streams bit-identically to the batch result, and gives the model-rate frame count for any length', () => {
    const { x } = cases[0]!;
    const fe = createMelFrontend(MN04_FRONTEND, { inputRate: 8000 });
    const part = x.subarray(0, 20_011);
    const batch = fe.melspec(part);
    const rand = rng(8);
    const stream = fe.createStream();
    const frames: Float32Array[] = [];
    const sink = (f: Float32Array): void => void frames.push(f.slice());
    for (let i = 0; i < part.length; ) {
      const n = Math.floor(rand() * 900);
      stream.push(part.subarray(i, i + n), sink);
      i += n;
    }
    stream.flush(sink);
    expect(frames.length).toBe(batch.nFrames);
    for (const [t, f] of frames.entries()) for (let m = 0; m < f.length; m++) expect(f[m]).toBe(batch.data[m * batch.nFrames + t]);

    for (const n of [2, 79, 80, 81, 8000, 8001, 20_011]) expect(fe.frameCount(n), `${n} samples`).toBe(model.frameCount(4 * n));
    for (const n of [0, 1, 2, 3, 81]) {
      const s = fe.createStream();
      const emitted = s.push(x.subarray(0, n), () => undefined) + s.flush(() => undefined);
      expect(emitted, `${n} samples`).toBe(fe.frameCount(n));
    }
    expect(fe.frameCount(1)).toBe(0); // one sample leaves nothing after the pre-emphasis
  });
});
