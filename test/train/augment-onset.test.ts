/**
 * The dsp training relies on: mixing a positive into background at a chosen SNR (dsp/augment.ts),
 * the distance low-pass, and the onset features a head reads (dsp/onset.ts) on synthetic audio
 * through the model's own log-mel front end.
 */
import { describe, expect, it } from 'vitest';
import { eventLevel, lowPassInPlace, mixEvent, rms } from '../../dsp/augment.js';
import { MN04_FRONTEND } from '../../dsp/frontend-params.js';
import { createMelFrontend } from '../../dsp/melspec.js';
import { createOnsetFeatures, ONSET_FEATURES } from '../../dsp/onset.js';
import { rng } from '../../dsp/random.js';
import { gaussian } from '../helpers/train-corpus.js';

const RATE = 16000;
const db = (x: number) => 20 * Math.log10(x);

function whiteNoise(seed: number, n: number, level: number): Float32Array {
  const random = rng(seed);
  return Float32Array.from({ length: n }, () => level * gaussian(random));
}

/** A bang: noise under an instant attack and an exponential decay, with a DC offset on top. */
function burst(seed: number, n: number, tauSec: number, dc = 0.05): Float32Array {
  const random = rng(seed);
  return Float32Array.from({ length: n }, (_, i) => dc + 0.5 * Math.exp(-i / (tauSec * RATE)) * gaussian(random));
}

function tone(hz: number, n: number, rate = RATE, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
}

describe('mixEvent', () => {
  const background = whiteNoise(1, 2 * RATE, 0.02);
  const positive = burst(2, RATE / 2, 0.05);

  for (const snrDb of [-6, 0, 10, 20]) {
    for (const lowPassHz of [undefined, 1500]) {
      it(`hits ${snrDb} dB over the background${lowPassHz ? ` after a ${lowPassHz} Hz low-pass` : ''}`, () => {
        const offset = 5000;
        const out = mixEvent(background, positive, { rate: RATE, offset, snrDb, lowPassHz });
        expect(out.length).toBe(background.length);
        const part = Float32Array.from(out, (v, i) => v - background[i]!);
        // Nothing outside the positive's span changed.
        expect(Math.max(...part.subarray(0, offset).map(Math.abs))).toBe(0);
        expect(Math.max(...part.subarray(offset + positive.length).map(Math.abs))).toBe(0);
        const measured = db(eventLevel(part.subarray(offset, offset + positive.length), RATE) / rms(background));
        expect(Math.abs(measured - snrDb)).toBeLessThan(0.5);
      });
    }
  }

  it('a positive hanging over the end is cut there; gain scales the whole mix', () => {
    const offset = background.length - 1000;
    const cut = mixEvent(background, positive, { rate: RATE, offset, snrDb: 0 });
    expect(cut.length).toBe(background.length);
    const quiet = mixEvent(background, positive, { rate: RATE, offset: 3000, snrDb: 0, gainDb: -6 });
    const plain = mixEvent(background, positive, { rate: RATE, offset: 3000, snrDb: 0 });
    const g = 10 ** (-6 / 20);
    let worst = 0;
    for (let i = 0; i < plain.length; i++) worst = Math.max(worst, Math.abs(quiet[i]! - g * plain[i]!));
    expect(worst).toBeLessThan(1e-6);
  });

  it('never leaves ±1, and leaves its inputs as they were', () => {
    const loudBg = whiteNoise(3, RATE, 0.3);
    const bgCopy = Float32Array.from(loudBg);
    const posCopy = Float32Array.from(positive);
    const out = mixEvent(loudBg, positive, { rate: RATE, offset: 100, snrDb: 30, gainDb: 6, lowPassHz: 2000 });
    let peak = 0;
    let atLimit = 0;
    for (const v of out) {
      peak = Math.max(peak, Math.abs(v));
      if (Math.abs(v) === 1) atLimit++;
    }
    expect(peak).toBeLessThanOrEqual(1);
    expect(atLimit).toBeGreaterThan(0); // it did have to clip
    expect(Array.from(loudBg)).toEqual(Array.from(bgCopy));
    expect(Array.from(positive)).toEqual(Array.from(posCopy));
    expect(out).not.toBe(loudBg);
  });
});

describe('lowPassInPlace', () => {
  /** RMS of the second half (after the filter's transient). */
  const steady = (x: Float32Array) => rms(x, x.length >> 1);

  it('attenuates a tone far above the cutoff by more than 20 dB and passes one far below within 1 dB', () => {
    const high = tone(6000, RATE);
    const before = steady(high);
    const returned = lowPassInPlace(high, RATE, 1000);
    expect(returned).toBe(high); // in place
    expect(db(steady(high) / before)).toBeLessThan(-20);

    const low = tone(100, RATE);
    const lowBefore = steady(low);
    lowPassInPlace(low, RATE, 1000);
    expect(Math.abs(db(steady(low) / lowBefore))).toBeLessThan(1);

    // At 8 kHz too (a device rate the augmentation simulates).
    const high8 = tone(3000, 8000, 8000);
    const high8Before = steady(high8);
    lowPassInPlace(high8, 8000, 500);
    expect(db(steady(high8) / high8Before)).toBeLessThan(-20);
  });

  it('a cutoff at the Nyquist frequency leaves the signal alone', () => {
    const x = tone(6000, 4000);
    const copy = Float32Array.from(x);
    lowPassInPlace(x, RATE, RATE / 2);
    expect(Array.from(x)).toEqual(Array.from(copy));
  });
});

describe('createOnsetFeatures on the model front end', () => {
  const frontend = createMelFrontend(MN04_FRONTEND);
  const rate = MN04_FRONTEND.sampleRate;

  function features(samples: Float32Array): Record<(typeof ONSET_FEATURES)[number], number> {
    const mel = frontend.melspec(samples);
    const onset = createOnsetFeatures({ nMels: mel.nMels, maxFrames: mel.nFrames });
    const out = new Float32Array(onset.length);
    onset.compute(mel.data, mel.nFrames, out);
    expect(out.every(Number.isFinite)).toBe(true);
    return Object.fromEntries(ONSET_FEATURES.map((n, i) => [n, out[i]!])) as Record<(typeof ONSET_FEATURES)[number], number>;
  }

  it('a click in noise has a much larger spectral-flux peak and 30 ms rise than the noise alone, and a decay', () => {
    const n = 2 * rate;
    const noise = whiteNoise(5, n, 0.01);
    const click = Float32Array.from(noise);
    const random = rng(6);
    const at = Math.round(0.9 * rate);
    for (let i = 0; at + i < n; i++) click[at + i]! += 0.6 * Math.exp(-i / (0.03 * rate)) * Math.max(-1, Math.min(1, gaussian(random) / 2.5));
    const quiet = features(noise);
    const bang = features(click);
    expect(bang.fluxMax).toBeGreaterThan(quiet.fluxMax + 0.2);
    expect(bang.fluxMax).toBeGreaterThan(3 * quiet.fluxMax);
    expect(bang.rise30ms).toBeGreaterThan(quiet.rise30ms + 0.2);
    expect(bang.rise30ms).toBeGreaterThan(3 * quiet.rise30ms);
    expect(bang.fluxOverMedian).toBeGreaterThan(quiet.fluxOverMedian);
    expect(bang.peakOverMedian).toBeGreaterThan(quiet.peakOverMedian + 0.2);
    // Falls by 300 ms after its peak, more than it does by 100 ms.
    expect(bang.decay300ms).toBeGreaterThan(0.1);
    expect(bang.decay300ms).toBeGreaterThan(bang.decay100ms);
  });

  it('a window of fewer frames than the capacity works; more is refused', () => {
    const mel = frontend.melspec(whiteNoise(7, rate, 0.01));
    const onset = createOnsetFeatures({ nMels: mel.nMels, maxFrames: mel.nFrames + 50 });
    const out = new Float32Array(onset.length);
    onset.compute(mel.data, mel.nFrames, out);
    expect(out.every(Number.isFinite)).toBe(true);
    const small = createOnsetFeatures({ nMels: mel.nMels, maxFrames: 10 });
    expect(() => small.compute(mel.data, mel.nFrames, out)).toThrow(RangeError);
  });
});
