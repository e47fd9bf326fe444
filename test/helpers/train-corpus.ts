/**
 * Synthetic training corpora for `earshot train` tests: quiet brownish noise (a stand-in for a
 * forest's background) and the same noise with a sharp broadband bang (a stand-in for a shot:
 * an abrupt onset, then an exponential decay over tens of milliseconds). Seeded (dsp/random.ts),
 * so a seed always gives the same bytes; 16 kHz 16-bit mono WAV (dsp/wav.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { rng, uniform, type Random } from '../../dsp/random.js';
import { encodeWav } from '../../dsp/wav.js';

export const SYNTH_RATE = 16000;

/** A standard normal draw (Box–Muller). */
export function gaussian(random: Random): number {
  const u = Math.max(1e-12, random());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Brownish noise (leaky-integrated white plus a little white), scaled to RMS `level`. */
export function brownNoise(random: Random, samples: number, level: number): Float32Array {
  const out = new Float32Array(samples);
  let y = 0;
  for (let i = 0; i < samples; i++) {
    const w = gaussian(random);
    y = 0.985 * y + w;
    out[i] = y + 0.6 * w;
  }
  let mean = 0;
  for (const v of out) mean += v;
  mean /= Math.max(1, samples);
  let s = 0;
  for (let i = 0; i < samples; i++) {
    out[i]! -= mean;
    s += out[i]! ** 2;
  }
  const scale = level / Math.max(1e-12, Math.sqrt(s / Math.max(1, samples)));
  for (let i = 0; i < samples; i++) out[i]! *= scale;
  return out;
}

/** Adds a bang at `atSec`: white noise under an instant attack and an exponential decay. */
export function addBang(x: Float32Array, random: Random, atSec: number, peak: number, decaySec: number): void {
  const start = Math.round(atSec * SYNTH_RATE);
  const length = Math.min(x.length - start, Math.round(decaySec * 8 * SYNTH_RATE));
  for (let i = 0; i < length; i++) {
    const env = Math.exp(-i / (decaySec * SYNTH_RATE));
    const v = x[start + i]! + peak * env * Math.max(-1, Math.min(1, gaussian(random) / 2.5));
    x[start + i] = Math.max(-1, Math.min(1, v));
  }
}

/** One clip with a bang at a random moment (levels and decay vary with the seed). */
export function bangClip(random: Random, seconds = 4): Float32Array {
  const x = brownNoise(random, Math.round(seconds * SYNTH_RATE), uniform(random, 0.004, 0.02));
  addBang(x, random, uniform(random, 0.4, seconds - 1.2), uniform(random, 0.35, 0.9), uniform(random, 0.015, 0.06));
  return x;
}

/** One clip of background: the same kind of noise, no bang. */
export function noiseClip(random: Random, seconds = 10): Float32Array {
  return brownNoise(random, Math.round(seconds * SYNTH_RATE), uniform(random, 0.004, 0.02));
}

export function writeWav(file: string, samples: Float32Array): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, encodeWav([samples], SYNTH_RATE));
  return file;
}

export interface SynthCorpusOptions {
  seed: number;
  shots?: number;
  backgrounds?: number;
  shotSec?: number;
  backgroundSec?: number;
  /** Folder of the positives (default gunshot). */
  shotFolder?: string;
  /** Leave background/ out. */
  noBackground?: boolean;
}

/** Writes `<dir>/gunshot/shot-NN.wav` and `<dir>/background/bg-NN.wav`; returns the files. */
export function writeSynthCorpus(dir: string, opts: SynthCorpusOptions): { shots: string[]; backgrounds: string[] } {
  const random = rng(opts.seed);
  const shots: string[] = [];
  const backgrounds: string[] = [];
  for (let i = 0; i < (opts.shots ?? 8); i++) {
    shots.push(writeWav(path.join(dir, opts.shotFolder ?? 'gunshot', `shot-${String(i).padStart(2, '0')}.wav`), bangClip(random, opts.shotSec ?? 4)));
  }
  if (!opts.noBackground) {
    for (let i = 0; i < (opts.backgrounds ?? 12); i++) {
      backgrounds.push(writeWav(path.join(dir, 'background', `bg-${String(i).padStart(2, '0')}.wav`), noiseClip(random, opts.backgroundSec ?? 10)));
    }
  }
  return { shots, backgrounds };
}
