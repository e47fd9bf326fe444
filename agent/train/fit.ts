/**
 * Fitting a head on training rows: feature normalisation, one logistic regression per label,
 * thresholds chosen by grouped cross-validation to meet a false-alarm rate per hour on held-out
 * background, and the report of what that threshold gives. Pure computation on rows.
 */
import { rng, shuffle } from '../../dsp/random.js';
import { fitLogistic, logisticLogit, type LogisticModel, type LogisticOptions } from './logistic.js';
import { BACKGROUND } from './corpus.js';
import type { RowMeta, RowSet } from './rows.js';

export interface LabelReport {
  /** Real (not augmented) positive clips. */
  clips: number;
  augmentedWindows: number;
  backgroundHours: number;
  threshold: number;
  /** Cross-validated share of positive clips detected at the threshold. */
  recall: number;
  /** Cross-validated false alarms per hour of held-out background at the threshold. */
  falseAlarmsPerHour: number;
  /** Cross-validated recall at the lowest threshold with at most 1 false alarm per hour. */
  recallAt1PerHour: number;
  /** Same for the augmented positives (distant, quiet, resampled). */
  augmentedRecall: number;
}

export interface FittedLabel {
  model: LogisticModel;
  threshold: number;
  report: LabelReport;
}

export interface FitOptions extends LogisticOptions {
  maxFalsePerHour: number;
  folds: number;
  seed: number;
}

export interface Normalization {
  mean: Float32Array;
  std: Float32Array;
}

export function computeNormalization(rows: RowSet): Normalization {
  const { dims } = rows;
  const mean = new Float64Array(dims);
  const sq = new Float64Array(dims);
  for (let r = 0; r < rows.rows; r++) {
    const x = rows.row(r);
    for (let j = 0; j < dims; j++) {
      mean[j]! += x[j]!;
      sq[j]! += x[j]! * x[j]!;
    }
  }
  const n = Math.max(1, rows.rows);
  const std = new Float32Array(dims);
  for (let j = 0; j < dims; j++) {
    mean[j]! /= n;
    const v = sq[j]! / n - mean[j]! ** 2;
    std[j] = v > 1e-10 ? Math.sqrt(v) : 1;
  }
  return { mean: Float32Array.from(mean), std };
}

/** The rows normalised (a copy). */
export function normalizedData(rows: RowSet, norm: Normalization): Float32Array {
  const { dims } = rows;
  const out = rows.data.slice(0, rows.rows * dims);
  for (let r = 0; r < rows.rows; r++) for (let j = 0; j < dims; j++) out[r * dims + j] = (out[r * dims + j]! - norm.mean[j]!) / norm.std[j]!;
  return out;
}

/** Fold of each row: whole groups go to one fold, groups shuffled with the seed. */
export function assignFolds(meta: readonly RowMeta[], folds: number, seed: number): Int32Array {
  const groups = shuffle([...new Set(meta.map((m) => m.group))].sort((a, b) => a - b), rng(seed));
  const foldOf = new Map(groups.map((g, i) => [g, i % folds]));
  return Int32Array.from(meta, (m) => foldOf.get(m.group)!);
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Weights that give positives and negatives equal total weight. */
function balancedWeights(y: Uint8Array, include: (i: number) => boolean): Float32Array {
  let pos = 0;
  let neg = 0;
  for (let i = 0; i < y.length; i++) {
    if (!include(i)) continue;
    if (y[i]) pos++;
    else neg++;
  }
  return Float32Array.from(y, (v, i) => (!include(i) ? 0 : v ? 0.5 / Math.max(1, pos) : 0.5 / Math.max(1, neg)));
}

const isBackground = (m: RowMeta) => m.cls === BACKGROUND && !m.augmented;

/**
 * False alarms on background rows at threshold `t`: a run of consecutive windows of one clip at
 * or above it is one alarm, as the event tracker would merge them.
 */
export function falseAlarms(meta: readonly RowMeta[], scores: ArrayLike<number>, t: number, include: (i: number) => boolean = () => true): { alarms: number; hours: number } {
  let alarms = 0;
  let seconds = 0;
  let prevClip = -1;
  let prevIndex = -2;
  let prevAbove = false;
  for (let i = 0; i < meta.length; i++) {
    const m = meta[i]!;
    if (!isBackground(m) || !include(i)) continue;
    seconds += m.seconds;
    const above = scores[i]! >= t;
    const continues = m.clip === prevClip && m.index === prevIndex + 1 && prevAbove;
    if (above && !continues) alarms++;
    prevClip = m.clip;
    prevIndex = m.index;
    prevAbove = above;
  }
  return { alarms, hours: seconds / 3600 };
}

/** Share of clips of `label` (real or augmented) whose best window reaches `t`. */
export function clipRecall(meta: readonly RowMeta[], scores: ArrayLike<number>, label: string, t: number, augmented: boolean, include: (i: number) => boolean = () => true): number {
  const best = new Map<number, number>();
  meta.forEach((m, i) => {
    if (m.cls !== label || m.augmented !== augmented || !include(i)) return;
    best.set(m.clip, Math.max(best.get(m.clip) ?? 0, scores[i]!));
  });
  if (!best.size) return NaN;
  let hit = 0;
  for (const s of best.values()) if (s >= t) hit++;
  return hit / best.size;
}

/**
 * The lowest threshold whose false alarms per hour on background stay at or below `perHour`
 * (searched over the background scores themselves, so the result is exact for these rows).
 */
export function thresholdForRate(meta: readonly RowMeta[], scores: ArrayLike<number>, perHour: number, include: (i: number) => boolean = () => true): number {
  const candidates = [...new Set(meta.flatMap((m, i) => (isBackground(m) && include(i) ? [scores[i]!] : [])))].sort((a, b) => a - b);
  const ok = (t: number) => {
    const { alarms, hours } = falseAlarms(meta, scores, t, include);
    return hours === 0 || alarms / hours <= perHour;
  };
  // Thresholds just above each background score; the smallest that passes (alarms fall as t rises).
  const above = (s: number) => Math.min(0.999999, s + 1e-6);
  let lo = 0;
  let hi = candidates.length; // hi: index whose "above" passes; candidates.length → above the max
  if (candidates.length === 0 || ok(1e-6)) return 1e-6;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ok(above(candidates[mid]!))) hi = mid;
    else lo = mid + 1;
  }
  return lo < candidates.length ? above(candidates[lo]!) : above(candidates[candidates.length - 1]!);
}

/** Out-of-fold probabilities of `label` for every row (rows of a fold scored by a model trained without it). */
export function crossValidatedScores(x: Float32Array, rows: RowSet, label: string, folds: Int32Array, k: number, opts: LogisticOptions): Float64Array {
  const y = Uint8Array.from(rows.meta, (m) => (m.cls === label ? 1 : 0));
  const scores = new Float64Array(rows.rows);
  for (let f = 0; f < k; f++) {
    if (!folds.some((v) => v === f)) continue;
    const weights = balancedWeights(y, (i) => folds[i] !== f);
    if (!weights.some((w, i) => w > 0 && y[i])) continue; // no positives to learn from in this split
    const model = fitLogistic(x, rows.dims, y, weights, opts);
    for (let i = 0; i < rows.rows; i++) if (folds[i] === f) scores[i] = sigmoid(logisticLogit(model, x, i * rows.dims));
  }
  return scores;
}

/** Report of a label from scores (out-of-fold, or of a held-out site). */
export function labelReport(meta: readonly RowMeta[], scores: ArrayLike<number>, label: string, threshold: number, include: (i: number) => boolean = () => true): LabelReport {
  const fa = falseAlarms(meta, scores, threshold, include);
  const at1 = thresholdForRate(meta, scores, 1, include);
  const clips = new Set<number>();
  let augmentedWindows = 0;
  meta.forEach((m, i) => {
    if (m.cls !== label || !include(i)) return;
    if (m.augmented) augmentedWindows++;
    else clips.add(m.clip);
  });
  return {
    clips: clips.size,
    augmentedWindows,
    backgroundHours: fa.hours,
    threshold,
    recall: clipRecall(meta, scores, label, threshold, false, include),
    falseAlarmsPerHour: fa.hours > 0 ? fa.alarms / fa.hours : NaN,
    recallAt1PerHour: clipRecall(meta, scores, label, at1, false, include),
    augmentedRecall: clipRecall(meta, scores, label, threshold, true, include),
  };
}

/** Fits one label: cross-validated threshold and report, then the model on every row. */
export function fitLabel(x: Float32Array, rows: RowSet, label: string, opts: FitOptions): FittedLabel {
  const k = Math.max(2, opts.folds);
  const folds = assignFolds(rows.meta, k, opts.seed);
  const oof = crossValidatedScores(x, rows, label, folds, k, opts);
  const threshold = thresholdForRate(rows.meta, oof, opts.maxFalsePerHour);
  const report = labelReport(rows.meta, oof, label, threshold);
  const y = Uint8Array.from(rows.meta, (m) => (m.cls === label ? 1 : 0));
  const model = fitLogistic(x, rows.dims, y, balancedWeights(y, () => true), opts);
  return { model, threshold, report };
}
