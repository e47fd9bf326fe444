/**
 * Site head files for tests: valid by models/head.ts, deterministic (seeded weights), trained on
 * nothing. By default the head is for the installed mn04 model (name and sha256 from the manifest
 * this build ships, which is what `earshot models install` installs) and scores "gunshot" mostly
 * from the tagger's "Gunshot, gunfire" logit, with a little of the embedding and the onset features.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Category } from '../../agent/event.js';
import { ONSET_FEATURES } from '../../dsp/onset.js';
import { rng } from '../../dsp/random.js';
import { HEAD_FORMAT, HEAD_VERSION, headJson, type HeadFile } from '../../models/head.js';
import { modelFile } from '../../models/manifest.js';
import { getManifest } from '../../models/registry.js';

type OnsetName = (typeof ONSET_FEATURES)[number];

/** Name and graph sha256 of the shipped mn04 manifest (what `event.model.sha256` says). */
export function mn04Ref(): { name: string; sha256: string } {
  const { manifest } = getManifest('efficientat-mn04');
  return { name: manifest.name, sha256: modelFile(manifest).sha256 };
}

export interface TestLabel {
  category?: Category;
  /** Weights of the normalised logit features, by model label (others 0). */
  logitWeights?: Record<string, number>;
  /** Weight of every normalised onset feature. Default 0.1. */
  onsetWeight?: number;
  /** Scale of the seeded random embedding weights. Default 0.02. */
  embeddingScale?: number;
  bias?: number;
  /** Raw probability at which the label alerts. Default 0.3. */
  threshold?: number;
}

export interface TestHeadOptions {
  name?: string;
  /** Default: the shipped mn04 model. */
  baseModel?: { name: string; sha256: string };
  embedding?: number;
  logits?: string[];
  onset?: OnsetName[];
  labels?: Record<string, TestLabel>;
  report?: Record<string, unknown>;
  seed?: number;
  /** Normalisation of the logit features (the same for each). */
  logitMean?: number;
  logitStd?: number;
}

export const DEFAULT_TEST_LOGITS = ['Gunshot, gunfire', 'Speech'];

/** A valid head object. */
export function testHead(opts: TestHeadOptions = {}): HeadFile {
  const embedding = opts.embedding ?? 384;
  const logits = opts.logits ?? DEFAULT_TEST_LOGITS;
  const onset = opts.onset ?? [...ONSET_FEATURES];
  const labels = opts.labels ?? { gunshot: { category: 'threat', logitWeights: { 'Gunshot, gunfire': 1.5 }, bias: -1 } };
  const n = embedding + logits.length + onset.length;
  const random = rng(opts.seed ?? 1234);
  // Roughly what mn04 gives on forest recordings: the head scores background low and shots high.
  const mean = [...Array<number>(embedding).fill(-0.09), ...logits.map(() => opts.logitMean ?? -7), ...onset.map(() => 0.4)];
  const std = [...Array<number>(embedding).fill(0.2), ...logits.map(() => opts.logitStd ?? 2), ...onset.map(() => 0.4)];
  const headLabels: HeadFile['labels'] = {};
  for (const [name, l] of Object.entries(labels)) {
    const weights: number[] = [];
    for (let i = 0; i < embedding; i++) weights.push((random() * 2 - 1) * (l.embeddingScale ?? 0.02));
    for (const m of logits) weights.push(l.logitWeights?.[m] ?? 0);
    for (let i = 0; i < onset.length; i++) weights.push(l.onsetWeight ?? 0.1);
    if (weights.length !== n) throw new Error('test head: feature count');
    headLabels[name] = { category: l.category ?? 'threat', weights, bias: l.bias ?? 0, threshold: l.threshold ?? 0.3 };
  }
  return {
    format: HEAD_FORMAT,
    version: HEAD_VERSION,
    name: opts.name ?? 'test-head',
    createdAt: '2026-11-29T00:00:00.000Z',
    baseModel: opts.baseModel ?? mn04Ref(),
    window: { windowSec: 5, hopSec: 2.5 },
    features: { embedding, logits, onset, classMap: [] },
    normalization: { mean, std },
    labels: headLabels,
    report: opts.report ?? {
      method: 'test fixture',
      labels: Object.fromEntries(Object.keys(labels).map((l) => [l, { clips: 42, backgroundHours: 3.5, recall: 0.875, falseAlarmsPerHour: 0.57, recallAt1PerHour: 0.9, threshold: 0.3 }])),
    },
    inputsHash: '0'.repeat(64),
    training: { seed: opts.seed ?? 1234 },
  };
}

/** Writes a valid head to `dir/<file>` (default head.json) and returns its path. */
export function writeTestHead(dir: string, opts: TestHeadOptions & { file?: string } = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, opts.file ?? 'head.json');
  fs.writeFileSync(file, headJson(testHead(opts)));
  return file;
}
