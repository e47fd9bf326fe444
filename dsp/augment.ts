/**
 * Augmentation for training site heads: a positive sound (a shot, a saw) placed into a stretch
 * of the site's background as if heard from further away: lower in level (a chosen SNR), duller
 * (a low-pass for air absorption and foliage) and at a random moment. Pure: arrays in, array out.
 */

/** RBJ biquad low-pass (Q = 0.707), applied in place, twice (12 dB/oct → 24 dB/oct). */
export function lowPassInPlace(x: Float32Array, rate: number, cutoffHz: number): Float32Array {
  if (cutoffHz >= rate / 2 * 0.98) return x;
  const w0 = (2 * Math.PI * cutoffHz) / rate;
  const alpha = Math.sin(w0) / (2 * Math.SQRT1_2);
  const cos = Math.cos(w0);
  const a0 = 1 + alpha;
  const b0 = (1 - cos) / 2 / a0;
  const b1 = (1 - cos) / a0;
  const b2 = b0;
  const a1 = (-2 * cos) / a0;
  const a2 = (1 - alpha) / a0;
  for (let pass = 0; pass < 2; pass++) {
    let x1 = 0, x2 = 0, y1 = 0, y2 = 0;
    for (let i = 0; i < x.length; i++) {
      const xi = x[i]!;
      const y = b0 * xi + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
      x2 = x1;
      x1 = xi;
      y2 = y1;
      y1 = y;
      x[i] = y;
    }
  }
  return x;
}

/** RMS of x (after removing its mean: some recorders carry a DC offset). */
export function rms(x: ArrayLike<number>, from = 0, to = x.length): number {
  const n = Math.max(0, to - from);
  if (n === 0) return 0;
  let mean = 0;
  for (let i = from; i < to; i++) mean += x[i]!;
  mean /= n;
  let s = 0;
  for (let i = from; i < to; i++) s += (x[i]! - mean) ** 2;
  return Math.sqrt(s / n);
}

/**
 * Level of a sound event: the RMS of its loudest `spanSec` stretch (a shot's level is that of its
 * blast, not of the silence around it; a saw's is its steady level).
 */
export function eventLevel(x: Float32Array, rate: number, spanSec = 0.05): number {
  const span = Math.max(1, Math.min(x.length, Math.round(spanSec * rate)));
  let best = 0;
  for (let at = 0; at + span <= x.length; at += Math.max(1, span >> 1)) best = Math.max(best, rms(x, at, at + span));
  return best;
}

export interface MixOptions {
  rate: number;
  /** Where the positive starts in the background, in samples (may be negative: only its tail). */
  offset: number;
  /** Event level over the background's RMS, dB. */
  snrDb: number;
  /** Low-pass cutoff for distance, Hz (undefined: none). */
  lowPassHz?: number;
  /** Gain of the whole mix, dB (the recorder's level). */
  gainDb?: number;
}

/** The background with the positive mixed in (a new array; neither input changes). Clipped to ±1. */
export function mixEvent(background: Float32Array, positive: Float32Array, opts: MixOptions): Float32Array {
  const pos = Float32Array.from(positive);
  let mean = 0;
  for (let i = 0; i < pos.length; i++) mean += pos[i]!;
  mean /= Math.max(1, pos.length);
  for (let i = 0; i < pos.length; i++) pos[i]! -= mean;
  if (opts.lowPassHz !== undefined) lowPassInPlace(pos, opts.rate, opts.lowPassHz);
  const bgLevel = Math.max(rms(background), 1e-5);
  const evLevel = Math.max(eventLevel(pos, opts.rate), 1e-9);
  const scale = (bgLevel * 10 ** (opts.snrDb / 20)) / evLevel;
  const gain = 10 ** ((opts.gainDb ?? 0) / 20);
  const out = new Float32Array(background.length);
  for (let i = 0; i < out.length; i++) {
    const j = i - opts.offset;
    const v = (background[i]! + (j >= 0 && j < pos.length ? scale * pos[j]! : 0)) * gain;
    out[i] = v > 1 ? 1 : v < -1 ? -1 : v;
  }
  return out;
}
