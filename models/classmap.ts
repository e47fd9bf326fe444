/**
 * The class map: model labels → alert labels (gunshot, chainsaw, ...). Loaded from YAML,
 * checked against the model's label list, merged with the per-label settings of the
 * configuration, and compiled into index arrays so scoring a window is a few multiplications.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import * as z from 'zod';
import { ConfigError, InputMissingError, errnoCode } from '../agent/errors.js';
import { CATEGORIES, type Category, type ModelLabelScore } from '../agent/event.js';
import type { LabelSettings } from '../config/schema.js';
import { packageRoot } from '../agent/version.js';

const COMPONENT = 'classmap';

const evidenceSchema = z.strictObject({ label: z.string().min(1), weight: z.number().min(0).max(1).default(1) });
const labelSchema = z.strictObject({
  category: z.enum(CATEGORIES as [Category, ...Category[]]),
  threshold: z.number().min(0).max(1),
  combine: z.enum(['max', 'noisy_or']).default('max'),
  evidence: z.array(evidenceSchema).min(1),
  minWindows: z.number().int().min(1).default(1),
  keepClips: z.boolean().default(true),
  enabled: z.boolean().default(true),
  /** Weight of the voice activity detector's speech share as one more piece of evidence. */
  voice: z.number().min(0).max(1).optional(),
  /** The voice detector runs only on windows where the label already scores this much without it. */
  voiceGate: z.number().min(0).max(1).default(0),
  /**
   * Model labels that speak against this label: the combined score is multiplied by
   * max(0, 1 − weight × p) for each (a storm's thunder tagged "Fireworks" is not a shot).
   */
  suppress: z.array(z.strictObject({ label: z.string().min(1), weight: z.number().min(0).max(100) })).default([]),
  /** Raw score that maps to 0.5: the combined score is shifted in log-odds so thresholds read alike across labels. */
  calibrationCenter: z.number().gt(0).lt(1).optional(),
});
const classMapSchema = z.strictObject({
  version: z.literal(1),
  model: z.string().min(1),
  closeRatio: z.number().gt(0).max(1).default(0.6),
  mergeGapSec: z.number().min(0).default(2),
  labels: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,31}$/), labelSchema),
});

export type ClassMapFile = z.output<typeof classMapSchema>;
export type Combine = 'max' | 'noisy_or';

export interface AlertLabel {
  name: string;
  category: Category;
  threshold: number;
  /** Score below which an open event counts a quiet hop. */
  closeThreshold: number;
  combine: Combine;
  minWindows: number;
  keepClips: boolean;
  enabled: boolean;
  /** Indices into the model's outputs, with their weights. */
  indices: Int32Array;
  weights: Float32Array;
  /** Weight of the VAD's speech share (0: not used). */
  voiceWeight: number;
  /** Score without voice evidence at which the VAD is consulted. */
  voiceGate: number;
  /** log-odds subtracted from the combined score (0: none). */
  logitShift: number;
  /** Model labels that lower the score (see `suppress` in the class map), with their weights. */
  suppressIndices?: Int32Array;
  suppressWeights?: Float32Array;
}

export interface ClassMap {
  model: string;
  mergeGapSec: number;
  labels: AlertLabel[];
  /** Model label names by output index (for reporting evidence). */
  modelLabels: readonly string[];
}

/** The class map shipped with Earshot (models/classmap.yaml in the package). */
export function defaultClassMapPath(): string {
  return path.join(packageRoot(), 'models', 'classmap.yaml');
}

function fail(file: string, issues: string[]): never {
  throw new ConfigError(`${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'} in the class map\n${issues.map((i) => `  ${i}`).join('\n')}`, {
    component: COMPONENT,
    code: 'classmap.invalid',
    issues,
  });
}

/** Parses and checks a class map file against the model's labels. */
export function parseClassMap(text: string, file: string, modelLabels: readonly string[]): ClassMapFile {
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (err) {
    fail(file, [`not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  const result = classMapSchema.safeParse(raw);
  if (!result.success) {
    fail(
      file,
      result.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`),
    );
  }
  const known = new Set(modelLabels);
  const issues: string[] = [];
  for (const [name, label] of Object.entries(result.data.labels)) {
    label.evidence.forEach((e, i) => {
      if (!known.has(e.label)) issues.push(`labels.${name}.evidence.${i}.label: "${e.label}" is not a label of model ${result.data.model}`);
    });
    label.suppress.forEach((e, i) => {
      if (!known.has(e.label)) issues.push(`labels.${name}.suppress.${i}.label: "${e.label}" is not a label of model ${result.data.model}`);
    });
  }
  if (issues.length) fail(file, issues);
  return result.data;
}

export function readClassMap(file: string, modelLabels: readonly string[]): ClassMapFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new InputMissingError(`${file}: class map not found`, { component: COMPONENT, code: 'classmap.missing' });
    throw err;
  }
  return parseClassMap(text, file, modelLabels);
}

/**
 * Compiles a class map with the configuration's per-label settings applied. A setting for a
 * label the map does not have is a configuration error naming `detection.labels.<name>`.
 */
export function compileClassMap(map: ClassMapFile, modelLabels: readonly string[], overrides: Record<string, LabelSettings> = {}): ClassMap {
  const unknown = Object.keys(overrides).filter((name) => !(name in map.labels));
  if (unknown.length) {
    const accepted = Object.keys(map.labels).join(', ');
    const issues = unknown.map((name) => `detection.labels.${name}: not a label of the class map; accepted: ${accepted}`);
    throw new ConfigError(issues.join('\n'), { component: COMPONENT, code: 'config.unknown-label', issues });
  }
  const index = new Map(modelLabels.map((l, i) => [l, i]));
  const labels = Object.entries(map.labels).map(([name, l]): AlertLabel => {
    const o = overrides[name] ?? {};
    const threshold = o.threshold ?? l.threshold;
    return {
      name,
      category: l.category,
      threshold,
      closeThreshold: threshold * map.closeRatio,
      combine: l.combine,
      minWindows: l.minWindows,
      keepClips: o.keepClips ?? l.keepClips,
      enabled: o.enabled ?? l.enabled,
      indices: Int32Array.from(l.evidence.map((e) => index.get(e.label)!)),
      weights: Float32Array.from(l.evidence.map((e) => e.weight)),
      voiceWeight: l.voice ?? 0,
      voiceGate: l.voiceGate,
      logitShift: l.calibrationCenter === undefined ? 0 : logit(l.calibrationCenter),
      suppressIndices: Int32Array.from(l.suppress.map((e) => index.get(e.label)!)),
      suppressWeights: Float32Array.from(l.suppress.map((e) => e.weight)),
    };
  });
  return { model: map.model, mergeGapSec: map.mergeGapSec, labels, modelLabels };
}

const logit = (p: number) => Math.log(p / (1 - p));
const EPS = 1e-7;

/** Moves a probability by `shift` in log-odds (calibration), keeping 0 and 1 out of reach. */
function shiftLogOdds(p: number, shift: number): number {
  if (shift === 0) return p;
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return 1 / (1 + Math.exp(-(logit(q) - shift)));
}

/**
 * One alert label's score from a window's model probabilities and, for labels that use it,
 * the share of the window the voice detector heard as speech.
 */
export function labelScore(label: AlertLabel, probs: ArrayLike<number>, speechShare = 0): number {
  let raw: number;
  if (label.combine === 'max') {
    raw = label.voiceWeight * speechShare;
    for (let i = 0; i < label.indices.length; i++) raw = Math.max(raw, label.weights[i]! * probs[label.indices[i]!]!);
  } else {
    let miss = 1 - label.voiceWeight * speechShare;
    for (let i = 0; i < label.indices.length; i++) miss *= 1 - label.weights[i]! * probs[label.indices[i]!]!;
    raw = 1 - miss;
  }
  const suppress = label.suppressIndices;
  if (suppress) for (let i = 0; i < suppress.length; i++) raw *= Math.max(0, 1 - label.suppressWeights![i]! * probs[suppress[i]!]!);
  return shiftLogOdds(raw, label.logitShift);
}

/** Whether any enabled label takes voice evidence (then the voice detector must run). */
export function usesVoice(map: ClassMap): boolean {
  return map.labels.some((l) => l.enabled && l.voiceWeight > 0);
}

/** The strongest pieces of evidence for a label in one window, strongest first. */
export function topEvidence(label: AlertLabel, probs: ArrayLike<number>, modelLabels: readonly string[], n = 3): ModelLabelScore[] {
  const all: ModelLabelScore[] = [];
  for (let i = 0; i < label.indices.length; i++) {
    const idx = label.indices[i]!;
    all.push({ label: modelLabels[idx]!, score: probs[idx]! });
  }
  return all.sort((a, b) => b.score - a.score).slice(0, n);
}
