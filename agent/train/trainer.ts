/**
 * `earshot train`: a corpus folder (+ optionally a base head's stored training rows) → a head
 * file. Scans the folder, extracts window features (cached), augments the positives into the
 * folder's background, fits one logistic regression per label with a cross-validated threshold,
 * and writes one versioned head with its report.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DataError } from '../errors.js';
import { ONSET_FEATURES } from '../../dsp/onset.js';
import { rng, shuffle } from '../../dsp/random.js';
import { decodeTrainingSet, encodeFloat16, headFeatureCount, HEAD_FORMAT, HEAD_VERSION, type HeadFeatureSpec, type HeadFile } from '../../models/head.js';
import type { ClassMap } from '../../models/classmap.js';
import type { DetectionStack } from '../detect/open-detection.js';
import { packageVersion } from '../version.js';
import { collectRows, type AugmentOptions, type CollectProgress } from './collect.js';
import { BACKGROUND, scanCorpus, type Corpus } from './corpus.js';
import { WindowFeatureExtractor } from './extract.js';
import { classMapReport, computeNormalization, fitLabel, normalizedData, type FitOptions, type LabelReport } from './fit.js';
import type { RowSet } from './rows.js';

const COMPONENT = 'train';

/** Labels a head can learn: the alert labels people act on. */
export const TRAINABLE_CATEGORIES = new Set(['threat', 'human']);

export interface TrainOptions extends Omit<FitOptions, 'seed'> {
  root: string;
  name: string;
  /** Only these labels (default: every trainable label with clips). */
  labels?: readonly string[];
  base?: { head: HeadFile; file: string; sha256: string };
  augment: AugmentOptions;
  /** Fewest real positive clips for a label to be trained. */
  minClips: number;
  cacheDir?: string;
  /** Store a float16 sample of the training rows in the head (for `--base`), at most this many rows. */
  keepRows?: number;
  windowSec: number;
  hopSec: number;
  progress?: CollectProgress;
  onSkip?: (file: string, err: Error) => void;
  log?: (line: string) => void;
  /** The head's creation time (default: now). */
  createdAtMs?: number;
}

export interface TrainResult {
  head: HeadFile;
  corpus: Corpus;
  rows: number;
  /** Recordings whose window features came from the cache. */
  cacheHits: number;
  reports: Record<string, LabelReport>;
}

/** Feature layout for labels: the embedding, the class map's evidence logits for them, the onset features, the class map's scores. */
export function featureSpec(classMap: ClassMap, labels: readonly string[], embedding: number): HeadFile['features'] {
  const logits: string[] = [];
  for (const l of classMap.labels) {
    if (!labels.includes(l.name)) continue;
    for (const i of l.indices) {
      const name = classMap.modelLabels[i]!;
      if (!logits.includes(name)) logits.push(name);
    }
  }
  const classMapFeatures = classMap.labels
    .filter((l) => labels.includes(l.name))
    .map((l) => ({
      label: l.name,
      combine: l.combine,
      evidence: [...l.indices].map((idx, i) => ({ label: classMap.modelLabels[idx]!, weight: l.weights[i]! })),
      shift: l.logitShift,
      suppress: [...(l.suppressIndices ?? [])].map((idx, i) => ({ label: classMap.modelLabels[idx]!, weight: l.suppressWeights![i]! })),
    }));
  return { embedding, logits, onset: [...ONSET_FEATURES], classMap: classMapFeatures };
}

/**
 * L2 multipliers per feature: the class map's own scores are not penalised, so a head starts from
 * the class map and the embedding, logits and onset features only correct it as far as the data
 * carries them (with little site data, a head stays close to a recalibrated class map).
 */
export function featurePenalty(spec: HeadFeatureSpec): Float32Array {
  const n = headFeatureCount(spec);
  const penalty = new Float32Array(n).fill(1);
  penalty.fill(0, n - (spec.classMap?.length ?? 0));
  return penalty;
}

function inputsHash(corpus: Corpus, opts: TrainOptions): string {
  const h = crypto.createHash('sha256');
  for (const f of corpus.files) {
    const st = fs.statSync(f.file);
    h.update(`${path.relative(corpus.root, f.file)}\0${f.cls}\0${st.size}\0${Math.round(st.mtimeMs)}\n`);
  }
  h.update(JSON.stringify({ augment: opts.augment, base: opts.base?.sha256, labels: opts.labels, maxFalsePerHour: opts.maxFalsePerHour, folds: opts.folds, windowSec: opts.windowSec, hopSec: opts.hopSec }));
  return h.digest('hex');
}

/** Rows of a base head's stored training set, with their sites marked as the base's. */
function baseRows(base: HeadFile, into: RowSet): void {
  const ts = base.trainingSet;
  if (!ts) return;
  const dims = headFeatureCount(base.features);
  const data = decodeTrainingSet(ts, dims);
  const clipBase = 1_000_000;
  for (let r = 0; r < ts.rows; r++) {
    into.add(data.subarray(r * dims, (r + 1) * dims), {
      cls: ts.classes[ts.rowClass[r]!]!,
      site: `base:${ts.sites[ts.rowSite[r]!]}`,
      clip: clipBase + ts.rowClip[r]!,
      index: 0,
      seconds: ts.rowSeconds[r]!,
      augmented: ts.rowAugmented[r] === 1,
      group: clipBase + ts.rowClip[r]!,
    });
  }
  into.reserveClips(clipBase + Math.max(0, ...ts.rowClip) + 1);
}

/**
 * A float16 sample of the rows for a head file: every positive (real and augmented) up to half
 * the budget, background rows spread evenly for the rest; each kept background row stands for
 * the seconds of the rows it replaces, so false alarms per hour stay comparable.
 */
export function sampleTrainingSet(rows: RowSet, maxRows: number, seed: number): NonNullable<HeadFile['trainingSet']> {
  const random = rng(seed);
  const pos = rows.meta.flatMap((m, i) => (m.cls !== BACKGROUND ? [i] : []));
  const bg = rows.meta.flatMap((m, i) => (m.cls === BACKGROUND && !m.augmented ? [i] : []));
  const keepPos = shuffle([...pos], random).slice(0, Math.min(pos.length, Math.max(Math.floor(maxRows / 2), maxRows - bg.length))).sort((a, b) => a - b);
  const bgBudget = Math.max(0, maxRows - keepPos.length);
  const step = bg.length > bgBudget ? bg.length / Math.max(1, bgBudget) : 1;
  const keepBg: number[] = [];
  for (let k = 0; k < Math.min(bgBudget, bg.length); k++) keepBg.push(bg[Math.floor(k * step)]!);
  const keep = [...keepPos, ...keepBg];
  const classes = [...new Set(keep.map((i) => rows.meta[i]!.cls))].sort();
  const sites = [...new Set(keep.map((i) => rows.meta[i]!.site))].sort();
  const data = new Float32Array(keep.length * rows.dims);
  keep.forEach((i, r) => data.set(rows.row(i), r * rows.dims));
  const clipIds = new Map<number, number>();
  return {
    rows: keep.length,
    data: encodeFloat16(data),
    classes,
    sites,
    rowClass: keep.map((i) => classes.indexOf(rows.meta[i]!.cls)),
    rowSite: keep.map((i) => sites.indexOf(rows.meta[i]!.site)),
    rowClip: keep.map((i) => {
      const c = rows.meta[i]!.clip;
      if (!clipIds.has(c)) clipIds.set(c, clipIds.size);
      return clipIds.get(c)!;
    }),
    rowSeconds: keep.map((i) => {
      const m = rows.meta[i]!;
      return m.cls === BACKGROUND ? Number((m.seconds * step).toFixed(3)) : m.seconds;
    }),
    rowAugmented: keep.map((i) => (rows.meta[i]!.augmented ? 1 : 0)),
  };
}

export async function trainHead(stack: Pick<DetectionStack, 'frontend' | 'tagger' | 'classMap' | 'modelRef' | 'model'>, opts: TrainOptions): Promise<TrainResult> {
  const { classMap } = stack;
  const trainable = classMap.labels.filter((l) => TRAINABLE_CATEGORIES.has(l.category)).map((l) => l.name);
  if (opts.labels) {
    const unknown = opts.labels.filter((l) => !trainable.includes(l));
    if (unknown.length) throw new DataError(`--labels: ${unknown.join(', ')} cannot be trained; accepted: ${trainable.join(', ')}`, { component: COMPONENT, code: 'train.labels' });
  }
  const wanted = new Set(opts.labels ?? trainable);
  const corpus = scanCorpus(opts.root, wanted);
  const baseTs = opts.base?.head.trainingSet;
  const clipsOf = (label: string) =>
    new Set(corpus.files.filter((f) => f.cls === label).map((f) => f.file)).size + (baseTs ? new Set(baseTs.rowClip.filter((_, r) => baseTs.classes[baseTs.rowClass[r]!] === label && !baseTs.rowAugmented[r])).size : 0);
  const labels = [...wanted].filter((l) => clipsOf(l) >= opts.minClips);
  const hasBackground = corpus.files.some((f) => f.cls === BACKGROUND) || Boolean(baseTs?.classes.includes(BACKGROUND));
  if (!hasBackground) {
    throw new DataError(`${opts.root}: no background recordings; put an hour or more of the site's background (no target sounds) in ${path.join(opts.root, 'background')}/ (earshot record makes it)`, {
      component: COMPONENT,
      code: 'train.no-background',
    });
  }
  if (!labels.length) {
    const folders = trainable.map((l) => `${l}/`).join(', ');
    throw new DataError(`${opts.root}: no label has ${opts.minClips} or more recordings; add recordings of the sounds to detect in one of ${folders}`, { component: COMPONENT, code: 'train.no-positives' });
  }
  const embedding = opts.base ? opts.base.head.features.embedding : 384;
  const spec: HeadFile['features'] = opts.base ? opts.base.head.features : featureSpec(classMap, labels, embedding);
  const extractor = new WindowFeatureExtractor({ stack: { ...stack, voice: undefined }, spec, windowSec: opts.windowSec, hopSec: opts.hopSec, cacheDir: opts.cacheDir });
  opts.log?.(`${corpus.files.length} recordings (${labels.map((l) => `${l} ${corpus.files.filter((f) => f.cls === l).length}`).join(', ')}, background ${corpus.files.filter((f) => f.cls === BACKGROUND).length})${corpus.ignored.length ? `; ignored folders: ${corpus.ignored.join(', ')}` : ''}`);
  const rows = await collectRows(
    corpus.files.filter((f) => f.cls === BACKGROUND || labels.includes(f.cls)),
    { extractor, hopSec: opts.hopSec, windowSec: opts.windowSec, augment: opts.augment, progress: opts.progress, onSkip: opts.onSkip },
  );
  if (opts.base) baseRows(opts.base.head, rows);
  const norm = computeNormalization(rows);
  const x = normalizedData(rows, norm);
  const penalty = featurePenalty(spec);
  const fitted = Object.fromEntries(labels.map((l) => [l, fitLabel(x, rows, l, { ...opts, seed: opts.augment.seed, penalty })]));
  // Beside each head's figures, the class map's on the same rows (its score is a feature column).
  const mapColumn = (l: string) => {
    const at = (spec.classMap ?? []).findIndex((c) => c.label === l);
    return at < 0 ? undefined : headFeatureCount(spec) - (spec.classMap?.length ?? 0) + at;
  };
  for (const [l, f] of Object.entries(fitted)) {
    const column = mapColumn(l);
    const mapLabel = classMap.labels.find((c) => c.name === l);
    if (column !== undefined && mapLabel) f.report.classMap = classMapReport(rows, column, l, mapLabel.threshold);
  }
  const reports = Object.fromEntries(Object.entries(fitted).map(([l, f]) => [l, f.report]));
  const head: HeadFile = {
    format: HEAD_FORMAT,
    version: HEAD_VERSION,
    name: opts.name,
    // SOURCE_DATE_EPOCH (reproducible builds) pins the date, so the shipped head rebuilds byte for byte.
    createdAt: new Date(opts.createdAtMs ?? Date.now()).toISOString(),
    baseModel: { name: stack.modelRef.name, sha256: stack.modelRef.sha256 },
    window: { windowSec: opts.windowSec, hopSec: opts.hopSec },
    features: spec,
    normalization: { mean: [...norm.mean], std: [...norm.std] },
    labels: Object.fromEntries(
      Object.entries(fitted).map(([l, f]) => [l, { category: classMap.labels.find((c) => c.name === l)!.category, weights: [...f.model.weights], bias: f.model.bias, threshold: f.threshold }]),
    ),
    report: {
      labels: reports,
      rows: rows.rows,
      recordings: corpus.files.length,
      base: opts.base ? { name: opts.base.head.name, sha256: opts.base.sha256 } : undefined,
    },
    inputsHash: inputsHash(corpus, opts),
    training: {
      earshot: packageVersion(),
      seed: opts.augment.seed,
      augment: opts.augment,
      maxFalsePerHour: opts.maxFalsePerHour,
      folds: opts.folds,
      l2: opts.l2,
      epochs: opts.epochs,
    },
    ...(opts.keepRows ? { trainingSet: sampleTrainingSet(rows, opts.keepRows, opts.augment.seed) } : {}),
  };
  return { head, corpus, rows: rows.rows, cacheHits: extractor.cacheHits, reports };
}
