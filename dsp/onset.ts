/**
 * Onset and decay features of one log-mel window: what makes a gunshot a gunshot (an abrupt
 * broadband rise, then a decay over a few hundred ms) and what the tagger's 5 s embedding blurs.
 * Pure; read from the normalised log-mel the model sees (`(ln(mel + 1e-5) + 4.5) / 5`, 100 frames
 * per second), on the bands every device rate has (about 100 Hz – 3.4 kHz), so 8 kHz and 32 kHz
 * recordings of the same shot give close values.
 */

/** Names of the features, in output order. */
export const ONSET_FEATURES = ['fluxMax', 'fluxOverMedian', 'rise30ms', 'peakOverMedian', 'decay100ms', 'decay300ms', 'sustain'] as const;

export interface OnsetFeatureExtractor {
  readonly length: number;
  /** Features of a [nMels][frames] window (frames may be fewer than the capacity), into `out` at `offset`. */
  compute(window: Float32Array, frames: number, out: Float32Array, offset?: number): void;
}

export interface OnsetOptions {
  nMels: number;
  /** Most frames a window can have (buffers are sized once). */
  maxFrames: number;
  /** Bands averaged into the broadband envelope, [lo, hi). Default 4–72 of 128 (≈100 Hz – 3.4 kHz). */
  bandLo?: number;
  bandHi?: number;
}

function median(values: Float32Array, n: number, scratch: Float32Array): number {
  if (n === 0) return 0;
  const s = scratch.subarray(0, n);
  s.set(values.subarray(0, n));
  s.sort();
  return n % 2 ? s[(n - 1) / 2]! : 0.5 * (s[n / 2 - 1]! + s[n / 2]!);
}

export function createOnsetFeatures(opts: OnsetOptions): OnsetFeatureExtractor {
  const { nMels, maxFrames } = opts;
  const lo = Math.max(0, Math.min(nMels - 1, opts.bandLo ?? Math.round((4 * nMels) / 128)));
  const hi = Math.max(lo + 1, Math.min(nMels, opts.bandHi ?? Math.round((72 * nMels) / 128)));
  const bands = hi - lo;
  const env = new Float32Array(maxFrames);
  const flux = new Float32Array(maxFrames);
  const scratch = new Float32Array(maxFrames);

  return {
    length: ONSET_FEATURES.length,
    compute(window, frames, out, offset = 0) {
      if (frames > maxFrames) throw new RangeError(`onset features: window of ${frames} frames, capacity ${maxFrames}`);
      // Broadband envelope and spectral flux (mean positive change per band), frame by frame.
      for (let t = 0; t < frames; t++) {
        let e = 0;
        let f = 0;
        for (let m = lo; m < hi; m++) {
          const v = window[m * frames + t]!;
          e += v;
          if (t > 0) {
            const d = v - window[m * frames + t - 1]!;
            if (d > 0) f += d;
          }
        }
        env[t] = e / bands;
        flux[t] = f / bands;
      }
      let fluxMax = 0;
      let onset = 0;
      for (let t = 1; t < frames; t++) {
        if (flux[t]! > fluxMax) {
          fluxMax = flux[t]!;
          onset = t;
        }
      }
      const fluxMedian = median(flux, frames, scratch);
      let rise = 0;
      for (let t = 3; t < frames; t++) {
        const before = Math.min(env[t - 1]!, env[t - 2]!, env[t - 3]!);
        rise = Math.max(rise, env[t]! - before);
      }
      const envMedian = median(env, frames, scratch);
      // The peak right after the strongest onset, and how fast the level falls from it.
      let peakAt = onset;
      for (let t = onset; t < Math.min(frames, onset + 6); t++) if (env[t]! > env[peakAt]!) peakAt = t;
      const peak = env[peakAt] ?? 0;
      const levelAt = (t: number) => env[Math.min(frames - 1, t)] ?? 0;
      const meanAround = (t: number) => (levelAt(t - 2) + levelAt(t - 1) + levelAt(t) + levelAt(t + 1) + levelAt(t + 2)) / 5;
      const prominence = peak - envMedian;
      let sustained = 0;
      for (let t = peakAt; t < Math.min(frames, peakAt + 100); t++) if (env[t]! - envMedian > 0.5 * prominence) sustained++;
      out[offset] = fluxMax;
      out[offset + 1] = fluxMax - fluxMedian;
      out[offset + 2] = rise;
      out[offset + 3] = prominence;
      out[offset + 4] = peak - meanAround(peakAt + 10);
      out[offset + 5] = peak - meanAround(peakAt + 30);
      out[offset + 6] = frames > 0 ? sustained / 100 : 0;
    },
  };
}
