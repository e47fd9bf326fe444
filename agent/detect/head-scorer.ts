/**
 * Runs a site head (models/head.ts) on one window: the tagger's embedding, the head's chosen
 * logits and the onset features of the window's log-mel → one score per head label. Scores are
 * shifted in log-odds so the head's chosen threshold reads 0.5, like the class map's calibrated
 * labels: `detection.labels.<name>.threshold` means the same thing with or without a head.
 */
import { createOnsetFeatures, ONSET_FEATURES, type OnsetFeatureExtractor } from '../../dsp/onset.js';
import { DataError } from '../errors.js';
import { headFeatureCount, type HeadFeatureSpec, type HeadFile } from '../../models/head.js';
import { labelScore, type AlertLabel } from '../../models/classmap.js';
import type { TaggerWindowScores } from './types.js';

const COMPONENT = 'detect.head';

/** The head a detection stack runs, and how events name it. */
export interface HeadRef {
  name: string;
  /** sha256 of the head file. */
  sha256: string;
}

/** What the head needs of a window besides the tagger's outputs. */
export interface MelWindow {
  /** [nMels][frames], the model's normalised log-mel. */
  data: Float32Array;
  frames: number;
}

const logit = (p: number) => Math.log(p / (1 - p));

export interface HeadLabel {
  name: string;
  weights: Float32Array;
  bias: number;
  /** logit(threshold): subtracted so the threshold maps to 0.5. */
  shift: number;
}

/** Compiled feature layout of a head: shared by the scorer and by training. */
export class HeadFeatures {
  readonly length: number;
  private readonly logitIndex: Int32Array;
  private readonly onset: OnsetFeatureExtractor;
  private readonly onsetPick: Int32Array;
  private readonly onsetAll: Float32Array;
  /** The class-map scores the head reads, compiled like the class map's own labels. */
  private readonly mapLabels: AlertLabel[];

  constructor(
    readonly spec: HeadFeatureSpec,
    modelLabels: readonly string[],
    nMels: number,
    maxFrames: number,
  ) {
    this.length = headFeatureCount(spec);
    const index = new Map(modelLabels.map((l, i) => [l, i]));
    const unknown = spec.logits.filter((l) => !index.has(l));
    if (unknown.length) throw new DataError(`head reads model labels the model does not have: ${unknown.join(', ')}`, { component: COMPONENT, code: 'head.labels' });
    this.logitIndex = Int32Array.from(spec.logits.map((l) => index.get(l)!));
    this.onset = createOnsetFeatures({ nMels, maxFrames });
    this.onsetPick = Int32Array.from(spec.onset.map((n) => ONSET_FEATURES.indexOf(n)));
    this.onsetAll = new Float32Array(ONSET_FEATURES.length);
    const mapEvidence = (spec.classMap ?? []).flatMap((c) => [...c.evidence, ...(c.suppress ?? [])].map((e) => e.label)).filter((l) => !index.has(l));
    if (mapEvidence.length) throw new DataError(`head reads model labels the model does not have: ${mapEvidence.join(', ')}`, { component: COMPONENT, code: 'head.labels' });
    this.mapLabels = (spec.classMap ?? []).map((c) => ({
      name: c.label,
      category: 'threat',
      threshold: 0.5,
      closeThreshold: 0.3,
      combine: c.combine,
      minWindows: 1,
      keepClips: false,
      enabled: true,
      indices: Int32Array.from(c.evidence.map((e) => index.get(e.label)!)),
      weights: Float32Array.from(c.evidence.map((e) => e.weight)),
      voiceWeight: 0,
      voiceGate: 0,
      logitShift: c.shift,
      suppressIndices: Int32Array.from((c.suppress ?? []).map((e) => index.get(e.label)!)),
      suppressWeights: Float32Array.from((c.suppress ?? []).map((e) => e.weight)),
    }));
  }

  /** The raw (not normalised) features of one window into `out`. */
  compute(tagged: Pick<TaggerWindowScores, 'logits' | 'embedding' | 'probabilities'>, mel: MelWindow, out: Float32Array): Float32Array {
    const { embedding: dim } = this.spec;
    if (tagged.embedding.length < dim) {
      throw new DataError(`head expects a ${dim}-value embedding, the model gave ${tagged.embedding.length}`, { component: COMPONENT, code: 'head.embedding' });
    }
    out.set(tagged.embedding.subarray(0, dim), 0);
    for (let i = 0; i < this.logitIndex.length; i++) out[dim + i] = tagged.logits[this.logitIndex[i]!]!;
    if (this.onsetPick.length) {
      this.onset.compute(mel.data, mel.frames, this.onsetAll);
      const at = dim + this.logitIndex.length;
      for (let i = 0; i < this.onsetPick.length; i++) out[at + i] = this.onsetAll[this.onsetPick[i]!]!;
    }
    const at = dim + this.logitIndex.length + this.onsetPick.length;
    for (let i = 0; i < this.mapLabels.length; i++) {
      const p = Math.min(1 - 1e-6, Math.max(1e-6, labelScore(this.mapLabels[i]!, tagged.probabilities)));
      out[at + i] = Math.log(p / (1 - p));
    }
    return out;
  }
}

/** Normalises features in place: (x − mean) / std. */
export function normalize(x: Float32Array, mean: Float32Array, invStd: Float32Array): void {
  for (let i = 0; i < x.length; i++) x[i] = (x[i]! - mean[i]!) * invStd[i]!;
}

/** Logistic score of normalised features. */
export function linearProbability(x: Float32Array, weights: Float32Array, bias: number, shift = 0): number {
  let z = bias;
  for (let i = 0; i < weights.length; i++) z += weights[i]! * x[i]!;
  return 1 / (1 + Math.exp(-(z - shift)));
}

export class HeadScorer {
  readonly labels: HeadLabel[];
  readonly features: HeadFeatures;
  private readonly mean: Float32Array;
  private readonly invStd: Float32Array;
  private readonly x: Float32Array;

  constructor(
    readonly head: HeadFile,
    readonly ref: HeadRef,
    modelLabels: readonly string[],
    nMels: number,
    maxFrames: number,
  ) {
    this.features = new HeadFeatures(head.features, modelLabels, nMels, maxFrames);
    this.mean = Float32Array.from(head.normalization.mean);
    this.invStd = Float32Array.from(head.normalization.std, (s) => 1 / s);
    this.x = new Float32Array(this.features.length);
    this.labels = Object.entries(head.labels).map(([name, l]) => ({ name, weights: Float32Array.from(l.weights), bias: l.bias, shift: logit(l.threshold) }));
  }

  /** Calibrated score per head label for one window (threshold → 0.5). */
  score(tagged: Pick<TaggerWindowScores, 'logits' | 'embedding' | 'probabilities'>, mel: MelWindow): Map<string, number> {
    const x = this.features.compute(tagged, mel, this.x);
    normalize(x, this.mean, this.invStd);
    return new Map(this.labels.map((l) => [l.name, linearProbability(x, l.weights, l.bias, l.shift)]));
  }

  /**
   * The class map's alert labels with the head's labels taking over: their threshold is 0.5
   * (where the head's calibrated score puts its own threshold) unless the configuration sets one,
   * their category comes from the head, and they take no voice-detector evidence.
   */
  applyTo(labels: readonly AlertLabel[], configThresholds: Readonly<Record<string, { threshold?: number }>> = {}): AlertLabel[] {
    const own = new Set(this.labels.map((l) => l.name));
    return labels.map((l) => {
      if (!own.has(l.name)) return l;
      const threshold = configThresholds[l.name]?.threshold ?? 0.5;
      const ratio = l.threshold > 0 ? l.closeThreshold / l.threshold : 0.6;
      // The head replaces the label's whole score: no voice detector on top (the head learned
      // what speech sounds like from the tagger; training and scoring then see the same inputs).
      return { ...l, threshold, closeThreshold: threshold * ratio, category: this.head.labels[l.name]!.category, voiceWeight: 0 };
    });
  }
}
