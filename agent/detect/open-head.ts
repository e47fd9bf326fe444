/**
 * Which head a detection stack runs (`detection.head` or `--head`): "none" (the class map alone),
 * "default" (the head shipped in models/heads/, checked against its sha256 in
 * models/heads/heads.json) or the path of a head made by `earshot train`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { packageRoot } from '../version.js';
import { DataError } from '../errors.js';
import { checkHeadBase, readHead, type HeadFile } from '../../models/head.js';
import { HeadScorer } from './head-scorer.js';

const COMPONENT = 'detect.head';

const shippedSchema = z.record(z.string(), z.strictObject({ file: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), baseModel: z.string() }));

/**
 * Folder of the heads shipped with Earshot. Its index is heads.json, not manifest.json: the model
 * registry reads every models/<name>/manifest.json as a model.
 */
export function shippedHeadsDir(): string {
  return path.join(packageRoot(), 'models', 'heads');
}

export interface ResolvedHead {
  file: string;
  /** The sha256 the file must have (shipped heads only). */
  sha256?: string;
  shipped: boolean;
}

/** The shipped heads by name (empty when none ships). */
export function shippedHeads(dir = shippedHeadsDir()): Record<string, { file: string; sha256: string; baseModel: string }> {
  const manifest = path.join(dir, 'heads.json');
  if (!fs.existsSync(manifest)) return {};
  const parsed = shippedSchema.safeParse(JSON.parse(fs.readFileSync(manifest, 'utf8')));
  if (!parsed.success) throw new DataError(`${manifest}: not a head manifest (${parsed.error.issues[0]?.message}); reinstall Earshot`, { component: COMPONENT, code: 'head.manifest' });
  return parsed.data;
}

/** Resolves a head setting; undefined for "none". A shipped name that does not exist is an error. */
export function resolveHead(setting: string, dir = shippedHeadsDir()): ResolvedHead | undefined {
  if (setting === 'none') return undefined;
  if (!setting.includes('/') && !setting.endsWith('.json')) {
    const shipped = shippedHeads(dir);
    const entry = shipped[setting];
    if (!entry) {
      const names = ['none', ...Object.keys(shipped), '<path of a head file>'].join(', ');
      throw new DataError(`head "${setting}": no such shipped head; accepted: ${names}`, { component: COMPONENT, code: 'head.unknown' });
    }
    return { file: path.join(dir, entry.file), sha256: entry.sha256, shipped: true };
  }
  return { file: path.resolve(setting), shipped: false };
}

/** sha256 of a file's bytes. */
export function fileSha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export interface OpenHeadOptions {
  model: { name: string; sha256: string };
  modelLabels: readonly string[];
  nMels: number;
  /** Most frames of a window (sizes the onset buffers). */
  maxFrames: number;
}

/** Reads, checks and compiles a head; exit 66 missing, 65 damaged, 78 for another model. */
export function openHead(resolved: ResolvedHead, opts: OpenHeadOptions): HeadScorer {
  const head: HeadFile = readHead(resolved.file, { sha256: resolved.sha256 });
  checkHeadBase(head, resolved.file, opts.model);
  const sha256 = resolved.sha256 ?? fileSha256(resolved.file);
  return new HeadScorer(head, { name: head.name, sha256 }, opts.modelLabels, opts.nMels, opts.maxFrames);
}
