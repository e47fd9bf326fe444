/**
 * A site head: small per-label classifiers (logistic regression) on the tagger's embedding, a few
 * of its logits and onset features, made by `earshot train`. One versioned JSON file holds the
 * weights, the feature normalisation, the thresholds, the base model it was trained on (name +
 * sha256), the training report and a hash of the training inputs; the default head also holds a
 * compact float16 copy of its training features, so a device can adapt to its site without the
 * training audio (`earshot train --base default`).
 *
 * A head for another model is a configuration error (exit 78); a damaged file is a data error
 * (exit 65); there is never a silent fallback to the class map.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import * as z from 'zod';
import { Float16Array } from '@petamoriken/float16';
import { ConfigError, DataError, InputMissingError, errnoCode } from '../agent/errors.js';
import { CATEGORIES, type Category } from '../agent/event.js';
import { ONSET_FEATURES } from '../dsp/onset.js';

const COMPONENT = 'models.head';
export const HEAD_FORMAT = 'earshot-head';
export const HEAD_VERSION = 1;

const finite = z.number().refine(Number.isFinite, { message: 'expected a finite number' });

const labelHeadSchema = z.strictObject({
  category: z.enum(CATEGORIES as [Category, ...Category[]]),
  weights: z.array(finite).min(1),
  bias: finite,
  /** Raw head probability at which the label alerts (chosen for the requested false alarms per hour). */
  threshold: z.number().gt(0).lt(1),
});

const classMapFeatureSchema = z.strictObject({
  label: z.string().min(1),
  combine: z.enum(['max', 'noisy_or']),
  evidence: z.array(z.strictObject({ label: z.string().min(1), weight: z.number().min(0).max(1) })).min(1),
  /** log-odds shift of the class map's calibration (0: none). */
  shift: finite,
  suppress: z.array(z.strictObject({ label: z.string().min(1), weight: z.number().min(0) })).default([]),
});

const trainingSetSchema = z.strictObject({
  rows: z.number().int().min(0),
  /** rows × features float16, little-endian, base64. */
  data: z.string(),
  /** Per row: the class (index into `classes`; "background" is a class), the site and the clip. */
  classes: z.array(z.string()),
  sites: z.array(z.string()),
  rowClass: z.array(z.number().int().min(0)),
  rowSite: z.array(z.number().int().min(0)),
  rowClip: z.array(z.number().int().min(0)),
  /** Seconds of audio each background row stands for (for false alarms per hour). */
  rowSeconds: z.array(z.number().min(0)),
  rowAugmented: z.array(z.number().int().min(0).max(1)),
});

export const headFileSchema = z.strictObject({
  format: z.literal(HEAD_FORMAT),
  version: z.literal(HEAD_VERSION),
  name: z.string().min(1).max(64),
  createdAt: z.string(),
  baseModel: z.strictObject({ name: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  window: z.strictObject({ windowSec: z.number().positive(), hopSec: z.number().positive() }),
  features: z.strictObject({
    embedding: z.number().int().min(0),
    logits: z.array(z.string().min(1)),
    onset: z.array(z.enum(ONSET_FEATURES)),
    /** The class map's calibrated score of these labels, in log-odds (self-contained: the evidence is copied here). */
    classMap: z.array(classMapFeatureSchema).default([]),
  }),
  normalization: z.strictObject({ mean: z.array(finite), std: z.array(finite.refine((x) => x > 0, { message: 'expected a positive number' })) }),
  labels: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,31}$/), labelHeadSchema),
  /** What `earshot train` measured (printed by `earshot models list`). */
  report: z.record(z.string(), z.unknown()),
  inputsHash: z.string(),
  training: z.record(z.string(), z.unknown()),
  trainingSet: trainingSetSchema.optional(),
});

export type HeadFile = z.output<typeof headFileSchema>;
/** The feature layout; `classMap` may be left out (none). */
export type HeadFeatureSpec = Omit<HeadFile['features'], 'classMap'> & { classMap?: HeadFile['features']['classMap'] };
export type ClassMapFeature = HeadFile['features']['classMap'][number];
export type LabelHead = HeadFile['labels'][string];
export type TrainingSetFile = NonNullable<HeadFile['trainingSet']>;

/** Number of features a head reads. */
export function headFeatureCount(features: HeadFeatureSpec): number {
  return features.embedding + features.logits.length + features.onset.length + (features.classMap?.length ?? 0);
}

function damaged(file: string, issues: string[]): never {
  throw new DataError(`${file}: not a usable Earshot head (${issues.length} problem${issues.length === 1 ? '' : 's'}); train a new one with \`earshot train\`\n${issues.map((i) => `  ${i}`).join('\n')}`, {
    component: COMPONENT,
    code: 'head.damaged',
  });
}

/** Parses and checks a head (shape, lengths); the base model is checked by `checkHeadBase`. */
export function parseHead(text: string, file: string): HeadFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    damaged(file, [`not valid JSON: ${(err as Error).message}`]);
  }
  if (raw && typeof raw === 'object' && 'format' in raw && (raw as { format: unknown }).format !== HEAD_FORMAT) {
    damaged(file, [`format: expected "${HEAD_FORMAT}", got ${JSON.stringify((raw as { format: unknown }).format)}`]);
  }
  const result = headFileSchema.safeParse(raw);
  if (!result.success) damaged(file, result.error.issues.slice(0, 8).map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`));
  const head = result.data;
  const n = headFeatureCount(head.features);
  const issues: string[] = [];
  if (head.normalization.mean.length !== n) issues.push(`normalization.mean: expected ${n} values, got ${head.normalization.mean.length}`);
  if (head.normalization.std.length !== n) issues.push(`normalization.std: expected ${n} values, got ${head.normalization.std.length}`);
  for (const [name, l] of Object.entries(head.labels)) if (l.weights.length !== n) issues.push(`labels.${name}.weights: expected ${n} values, got ${l.weights.length}`);
  const ts = head.trainingSet;
  if (ts) {
    const bytes = Buffer.from(ts.data, 'base64').length;
    if (bytes !== ts.rows * n * 2) issues.push(`trainingSet.data: expected ${ts.rows} × ${n} float16 values (${ts.rows * n * 2} bytes), got ${bytes} bytes`);
    for (const key of ['rowClass', 'rowSite', 'rowClip', 'rowSeconds', 'rowAugmented'] as const) {
      if (ts[key].length !== ts.rows) issues.push(`trainingSet.${key}: expected ${ts.rows} values, got ${ts[key].length}`);
    }
    if (ts.rowClass.some((c) => c >= ts.classes.length)) issues.push('trainingSet.rowClass: index out of range');
    if (ts.rowSite.some((c) => c >= ts.sites.length)) issues.push('trainingSet.rowSite: index out of range');
  }
  if (issues.length) damaged(file, issues);
  return head;
}

/** Refuses a head trained on another model (or another build of it): exit 78, naming both. */
export function checkHeadBase(head: HeadFile, file: string, model: { name: string; sha256: string }): void {
  if (head.baseModel.name !== model.name || head.baseModel.sha256 !== model.sha256) {
    throw new ConfigError(
      `${file}: this head was trained on model ${head.baseModel.name} (sha256 ${head.baseModel.sha256.slice(0, 12)}…), not on the installed ${model.name} (sha256 ${model.sha256.slice(0, 12)}…); ` +
        'train a head for this model with `earshot train`, or set detection.head to "none"',
      { component: COMPONENT, code: 'head.foreign-model' },
    );
  }
}

export interface ReadHeadOptions {
  /** Expected sha256 of the file (the shipped default head's, from its manifest). */
  sha256?: string;
}

/** Reads a head file: exit 66 when missing, 65 when damaged or not the expected bytes. */
export function readHead(file: string, opts: ReadHeadOptions = {}): HeadFile {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new InputMissingError(`${file}: head file not found`, { component: COMPONENT, code: 'head.missing' });
    throw new DataError(`${file}: cannot read the head file: ${(err as Error).message}`, { component: COMPONENT, code: 'head.unreadable' });
  }
  if (opts.sha256) {
    const actual = crypto.createHash('sha256').update(bytes).digest('hex');
    if (actual !== opts.sha256) damaged(file, [`sha256 is ${actual}, expected ${opts.sha256} (the file was changed or damaged; reinstall Earshot)`]);
  }
  return parseHead(bytes.toString('utf8'), file);
}

/** Writes a head atomically-enough for a CLI output (temp + rename). */
export function headJson(head: HeadFile): string {
  return `${JSON.stringify(head)}\n`;
}

/** The training set of a head as float32 rows (row-major rows × features). */
export function decodeTrainingSet(ts: TrainingSetFile, features: number): Float32Array {
  const buf = Buffer.from(ts.data, 'base64');
  const halves = new Float16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  const out = new Float32Array(ts.rows * features);
  for (let i = 0; i < out.length; i++) out[i] = halves[i]!;
  return out;
}

/** float32 rows → the base64 float16 of a training set. */
export function encodeFloat16(values: Float32Array): string {
  const halves = Float16Array.from(values);
  return Buffer.from(halves.buffer).toString('base64');
}
