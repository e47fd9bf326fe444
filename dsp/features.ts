/**
 * Cheap per-frame descriptors for the activity gate and noise telemetry, computed with meyda:
 * RMS and dBFS, zero-crossing rate (time domain, rectangular window), spectral flatness,
 * spectral centroid and octave-band levels 63 Hz – 16 kHz (Hann-windowed power spectrum).
 *
 * Levels: dBFS = 20·log10(rms), so a full-scale square wave is 0 dBFS and a full-scale sine
 * -3.01 dBFS; octave-band levels use the same reference (band mean square, from Parseval on
 * the windowed spectrum), so the band powers add up to the frame's power. Silence is clamped
 * to `floorDb`.
 *
 * This is the auxiliary path: meyda allocates a little per call, which is fine at its frame
 * rate (32 frames/s with the defaults), unlike the log-mel hot path.
 */
import { meydaExtract } from './meyda.js';

export interface FeatureParams {
  sampleRate: number;
  /** Frame length, a power of two (meyda requires it). */
  frameSize: number;
  hop: number;
  /** Octave band centres, Hz (base-2: 1000·2^k); bands span centre/√2 … centre·√2. */
  octaveCentersHz: readonly number[];
  floorDb: number;
}

/** 63 Hz … 16 kHz nominal octave centres (exact base-2 values). */
export const OCTAVE_CENTERS_HZ: readonly number[] = Object.freeze([62.5, 125, 250, 500, 1000, 2000, 4000, 8000, 16000]);

export const DEFAULT_FEATURE_PARAMS: Readonly<FeatureParams> = Object.freeze({
  sampleRate: 32000,
  frameSize: 1024,
  hop: 1024,
  octaveCentersHz: OCTAVE_CENTERS_HZ,
  floorDb: -120,
});

export interface FrameFeatures {
  rms: number;
  dbfs: number;
  /** Zero crossings per adjacent sample pair, 0…1. */
  zcr: number;
  /** Geometric / arithmetic mean of the magnitude spectrum, 0 (tonal) … 1 (white); 0 for silence. */
  flatness: number;
  /** Magnitude-weighted mean frequency, Hz; 0 for silence. */
  centroidHz: number;
  /** Level per octave band, dB re full scale (same reference as dbfs). */
  octaveDb: Float32Array;
}

export interface FeatureTrack {
  nFrames: number;
  hop: number;
  sampleRate: number;
  bandsHz: readonly number[];
  rms: Float32Array;
  dbfs: Float32Array;
  zcr: Float32Array;
  flatness: Float32Array;
  centroidHz: Float32Array;
  /** [frame][band], row-major. */
  octaveDb: Float32Array;
}

export interface FeatureExtractor {
  readonly params: Readonly<FeatureParams>;
  /** Features of one frame of exactly frameSize samples. */
  frame(samples: Float32Array, out?: FrameFeatures): FrameFeatures;
  /** Frames at 0, hop, 2·hop… that fit; a signal shorter than one frame gives one zero-padded frame. */
  track(samples: Float32Array): FeatureTrack;
  frameCount(nSamples: number): number;
}

export function createFeatureExtractor(params: Readonly<FeatureParams> = DEFAULT_FEATURE_PARAMS): FeatureExtractor {
  const { sampleRate, frameSize, hop, floorDb } = params;
  if (!Number.isInteger(frameSize) || frameSize < 4 || (frameSize & (frameSize - 1)) !== 0) {
    throw new RangeError(`frameSize must be a power of two ≥ 4 (got ${frameSize})`);
  }
  if (!Number.isInteger(hop) || hop <= 0) throw new RangeError(`hop must be a positive integer (got ${hop})`);
  const bands = params.octaveCentersHz;
  const nBins = frameSize / 2; // meyda's spectra stop below Nyquist
  const binHz = sampleRate / frameSize;
  // Band of each bin (-1: outside every band).
  const bandOf = new Int16Array(nBins).fill(-1);
  for (let k = 1; k < nBins; k++) {
    const f = k * binHz;
    for (let b = 0; b < bands.length; b++) {
      if (f >= bands[b] / Math.SQRT2 && f < bands[b] * Math.SQRT2) {
        bandOf[k] = b;
        break;
      }
    }
  }
  // Meyda's Hann (symmetric, length frameSize): Σw² converts spectrum power to mean square.
  let sumW2 = 0;
  for (let i = 0; i < frameSize; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (frameSize - 1));
    sumW2 += w * w;
  }
  const toMeanSquare = 2 / (frameSize * sumW2);
  const floorPower = 10 ** (floorDb / 10);
  const bandPower = new Float64Array(bands.length);
  const padded = new Float32Array(frameSize);

  const finiteOr0 = (v: number | undefined): number => (v !== undefined && Number.isFinite(v) ? v : 0);

  function frame(samples: Float32Array, out?: FrameFeatures): FrameFeatures {
    if (samples.length !== frameSize) throw new RangeError(`frame needs ${frameSize} samples (got ${samples.length})`);
    const o = out ?? { rms: 0, dbfs: 0, zcr: 0, flatness: 0, centroidHz: 0, octaveDb: new Float32Array(bands.length) };
    const time = meydaExtract(['rms', 'zcr'], samples, { sampleRate, windowingFunction: 'rect' });
    const spec = meydaExtract(['powerSpectrum', 'spectralFlatness', 'spectralCentroid'], samples, { sampleRate, windowingFunction: 'hanning' });
    const rms = finiteOr0(time?.rms);
    o.rms = rms;
    o.dbfs = 10 * Math.log10(Math.max(rms * rms, floorPower));
    o.zcr = finiteOr0(time?.zcr) / (frameSize - 1);
    o.flatness = finiteOr0(spec?.spectralFlatness);
    o.centroidHz = finiteOr0(spec?.spectralCentroid) * binHz;
    bandPower.fill(0);
    const power = spec?.powerSpectrum;
    if (power) {
      for (let k = 1; k < nBins; k++) {
        const b = bandOf[k];
        if (b >= 0) bandPower[b] += power[k];
      }
    }
    for (let b = 0; b < bands.length; b++) o.octaveDb[b] = 10 * Math.log10(Math.max(bandPower[b] * toMeanSquare, floorPower));
    return o;
  }

  function frameCount(n: number): number {
    if (n === 0) return 0;
    return n < frameSize ? 1 : 1 + Math.floor((n - frameSize) / hop);
  }

  return {
    params,
    frame,
    frameCount,
    track(samples) {
      const nFrames = frameCount(samples.length);
      const t: FeatureTrack = {
        nFrames,
        hop,
        sampleRate,
        bandsHz: bands,
        rms: new Float32Array(nFrames),
        dbfs: new Float32Array(nFrames),
        zcr: new Float32Array(nFrames),
        flatness: new Float32Array(nFrames),
        centroidHz: new Float32Array(nFrames),
        octaveDb: new Float32Array(nFrames * bands.length),
      };
      const f: FrameFeatures = { rms: 0, dbfs: 0, zcr: 0, flatness: 0, centroidHz: 0, octaveDb: new Float32Array(bands.length) };
      for (let i = 0; i < nFrames; i++) {
        let src: Float32Array;
        if (samples.length >= frameSize) src = samples.subarray(i * hop, i * hop + frameSize);
        else {
          padded.fill(0);
          padded.set(samples);
          src = padded;
        }
        frame(src, f);
        t.rms[i] = f.rms;
        t.dbfs[i] = f.dbfs;
        t.zcr[i] = f.zcr;
        t.flatness[i] = f.flatness;
        t.centroidHz[i] = f.centroidHz;
        t.octaveDb.set(f.octaveDb, i * bands.length);
      }
      return t;
    },
  };
}
