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
  /** The class map on the same rows at its own threshold, for comparison (when the head reads its score). */
  classMap?: { recall: number; falseAlarmsPerHour: number; augmentedRecall: number; recallAt1PerHour: number };
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

/** Rows from a base head's stored set have sites named "base:…"; the rest are the corpus's own. */
const backgroundSource = (m: RowMeta) => (m.site.startsWith('base:') ? 'base' : 'own');

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
 * The lowest threshold whose false alarms per hour on background stay at or below `perHour`,
 * searched over the thresholds just above each background score (exact for these rows). Alarms
 * are not monotone in the threshold (raising it can split one run into two), so every candidate
 * is counted: lowering the threshold past a window adds an alarm unless a neighbour of the same
 * clip is already above, and joins two alarms when both are.
 */
export function thresholdForRate(meta: readonly RowMeta[], scores: ArrayLike<number>, perHour: number, include: (i: number) => boolean = () => true): number {
  const rows: number[] = [];
  let seconds = 0;
  meta.forEach((m, i) => {
    if (!isBackground(m) || !include(i)) return;
    rows.push(i);
    seconds += m.seconds;
  });
  const hours = seconds / 3600;
  const above = (s: number) => Math.min(0.999999, s + 1e-6);
  if (rows.length === 0 || hours === 0) return 1e-6;
  // Neighbours within a clip (consecutive windows).
  const at = new Map(rows.map((i) => [`${meta[i]!.clip}:${meta[i]!.index}`, i]));
  const neighbour = (i: number, d: number) => at.get(`${meta[i]!.clip}:${meta[i]!.index + d}`);
  const isAbove = new Set<number>();
  const order = [...rows].sort((a, b) => scores[b]! - scores[a]!);
  let alarms = 0;
  let best = above(scores[order[0]!]!); // nothing above: always meets the rate
  for (let k = 0; k < order.length; ) {
    const s = scores[order[k]!]!;
    // The threshold just above the next lower score puts every row scoring ≥ s above it.
    for (; k < order.length && scores[order[k]!]! === s; k++) {
      const i = order[k]!;
      const prev = neighbour(i, -1);
      const next = neighbour(i, 1);
      alarms += 1 - (prev !== undefined && isAbove.has(prev) ? 1 : 0) - (next !== undefined && isAbove.has(next) ? 1 : 0);
      isAbove.add(i);
    }
    if (alarms / hours <= perHour) best = k < order.length ? above(scores[order[k]!]!) : 1e-6;
  }
  return best;
}

/** Windows in a row that make one block for the tail estimate (10 s at the default hop). */
const TAIL_BLOCK = 4;

/**
 * A threshold for `perHour` false alarms extrapolated from the tail of the background scores, for
 * when there is too little background to see that rate (5 minutes cannot show "1 per hour"): the
 * highest block scores (in log-odds) are taken as an exponential tail above the (k+1)-th and the
 * rate is extrapolated from it (peaks over threshold). Undefined when the background is too short
 * to estimate a tail (fewer than 10 blocks).
 */
export function tailThreshold(meta: readonly RowMeta[], scores: ArrayLike<number>, perHour: number, include: (i: number) => boolean = () => true): number | undefined {
  const blocks = new Map<string, number>();
  let seconds = 0;
  meta.forEach((m, i) => {
    if (!isBackground(m) || !include(i)) return;
    seconds += m.seconds;
    const key = `${m.clip}:${Math.floor(m.index / TAIL_BLOCK)}`;
    const p = Math.min(1 - 1e-9, Math.max(1e-9, scores[i]!));
    blocks.set(key, Math.max(blocks.get(key) ?? -Infinity, Math.log(p / (1 - p))));
  });
  const z = [...blocks.values()].sort((a, b) => b - a);
  if (z.length < 10 || seconds <= 0) return undefined;
  const k = Math.min(20, Math.max(3, Math.floor(z.length / 5)));
  const u = z[k]!;
  const beta = Math.max(1e-3, z.slice(0, k).reduce((a, v) => a + (v - u), 0) / k);
  const hours = seconds / 3600;
  const t = u + beta * Math.log(k / (hours * perHour));
  return 1 / (1 + Math.exp(-t));
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

/**
 * The class map's figures on the same rows, from the class-map score feature in column `column`
 * (log-odds of its calibrated score) at its threshold `threshold`: what the head is measured against.
 */
export function classMapReport(rows: RowSet, column: number, label: string, threshold: number): NonNullable<LabelReport['classMap']> {
  const scores = Float64Array.from(rows.meta, (_, i) => 1 / (1 + Math.exp(-rows.data[i * rows.dims + column]!)));
  const r = labelReport(rows.meta, scores, label, threshold);
  return { recall: r.recall, falseAlarmsPerHour: r.falseAlarmsPerHour, augmentedRecall: r.augmentedRecall, recallAt1PerHour: r.recallAt1PerHour };
}

/** Fits one label: cross-validated threshold and report, then the model on every row. */
export function fitLabel(x: Float32Array, rows: RowSet, label: string, opts: FitOptions): FittedLabel {
  const k = Math.max(2, opts.folds);
  const folds = assignFolds(rows.meta, k, opts.seed);
  const oof = crossValidatedScores(x, rows, label, folds, k, opts);
  // The rate must hold on each source of background on its own (the site's, a base head's):
  // hours of a base's background must not dilute the false alarms of the site's.
  const sources = [...new Set(rows.meta.filter(isBackground).map((m) => backgroundSource(m)))];
  const threshold = Math.max(
    ...sources.map((src) => {
      const from = (i: number) => backgroundSource(rows.meta[i]!) === src;
      return Math.max(thresholdForRate(rows.meta, oof, opts.maxFalsePerHour, from), tailThreshold(rows.meta, oof, opts.maxFalsePerHour, from) ?? 0);
    }),
  );
  const report = labelReport(rows.meta, oof, label, threshold);
  const y = Uint8Array.from(rows.meta, (m) => (m.cls === label ? 1 : 0));
  const model = fitLogistic(x, rows.dims, y, balancedWeights(y, () => true), opts);
  return { model, threshold, report };
}
