/**
 * Model manifests (`models/<name>/manifest.json`): what files make up a model, their sha256 and
 * size, where they may be fetched from, the front end the model was trained with, and its
 * input/output names. One zod schema validates them; errors name the file and the key.
 */
import fs from 'node:fs';
import * as z from 'zod';
import { DataError, InputMissingError, errnoCode } from '../agent/errors.js';

const COMPONENT = 'models.manifest';

/** A plain file name: files are installed side by side, so no folders and no `..`. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const fileName = () => z.string().regex(FILE_NAME, { message: 'expected a plain file name (letters, digits, ".", "_", "-"; no "/")' });

const manifestFileSchema = z.strictObject({
  name: fileName(),
  /** model: the ONNX graph; weights: its external data; labels: the label list. */
  role: z.enum(['model', 'weights', 'labels', 'other']),
  size: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, { message: 'expected 64 lowercase hex digits' }),
  /** Optional download location (http/https). Mirrors are tried first. */
  url: z
    .url({ protocol: /^https?$/, message: 'expected an http(s) URL' })
    .optional(),
});

/** Field names follow `FrontendParams` in dsp/frontend-params.ts (checked by test/models/manifest.test.ts). */
const frontendSchema = z.strictObject({
  sampleRate: z.number().int().positive(),
  nFft: z.number().int().positive(),
  winLength: z.number().int().positive(),
  hop: z.number().int().positive(),
  nMels: z.number().int().positive(),
  fMin: z.number().min(0),
  fMax: z.number().positive(),
  preEmphasis: z.number(),
  logOffset: z.number().positive(),
  normalize: z.strictObject({ add: z.number(), divide: z.number().refine((v) => v !== 0, { message: 'must not be 0' }) }),
  window: z.enum(['hann-symmetric', 'hann-periodic']),
  center: z.boolean(),
  padMode: z.literal('reflect'),
  melScale: z.literal('kaldi'),
  power: z.literal(2),
});

const dim = z.union([z.number().int().positive(), z.string().regex(/^[a-z_]+$/, { message: 'expected a size or a symbolic name such as "batch"' })]);
const tensorSchema = z.strictObject({
  name: z.string().min(1),
  role: z.string().min(1),
  type: z.literal('float32'),
  shape: z.array(dim).min(1),
  activation: z.enum(['sigmoid', 'softmax', 'none']).optional(),
});

export const manifestSchema = z
  .strictObject({
    schemaVersion: z.literal(1),
    name: z.string().regex(MODEL_NAME, { message: 'expected a lowercase model name such as "efficientat-mn04"' }),
    version: z.string().min(1),
    description: z.string().min(1),
    licence: z.strictObject({ model: z.string().min(1), labels: z.string().min(1).optional() }),
    source: z.url(),
    citation: z.string().optional(),
    files: z.array(manifestFileSchema).min(1),
    frontend: frontendSchema,
    inputs: z.array(tensorSchema).min(1),
    outputs: z.array(tensorSchema).min(1),
    labels: z.strictObject({
      file: fileName(),
      format: z.literal('csv'),
      columns: z.tuple([z.literal('index'), z.literal('mid'), z.literal('display_name')]),
    }),
    labelsCount: z.number().int().positive(),
  })
  .superRefine((m, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const seen = new Set<string>();
    m.files.forEach((f, i) => {
      if (seen.has(f.name)) issue(['files', i, 'name'], `"${f.name}" is listed twice`);
      seen.add(f.name);
    });
    if (m.files.filter((f) => f.role === 'model').length !== 1) issue(['files'], 'expected exactly one file with role "model"');
    if (!seen.has(m.labels.file)) issue(['labels', 'file'], `"${m.labels.file}" is not among files[].name`);
    const logmel = m.inputs.find((t) => t.role === 'logmel');
    if (!logmel) issue(['inputs'], 'expected an input with role "logmel"');
    else if (logmel.shape.length !== 4 || logmel.shape[2] !== m.frontend.nMels) {
      issue(['inputs', m.inputs.indexOf(logmel), 'shape'], `expected [batch, 1, ${m.frontend.nMels} (frontend.nMels), frames]`);
    }
    const logits = m.outputs.find((t) => t.role === 'logits');
    if (!logits) issue(['outputs'], 'expected an output with role "logits"');
    else if (logits.shape[logits.shape.length - 1] !== m.labelsCount) {
      issue(['outputs', m.outputs.indexOf(logits), 'shape'], `last dimension must equal labelsCount (${m.labelsCount})`);
    }
    if (m.frontend.fMax <= m.frontend.fMin || m.frontend.fMax > m.frontend.sampleRate / 2) {
      issue(['frontend', 'fMax'], 'expected fMin < fMax ≤ sampleRate / 2');
    }
    if (m.frontend.winLength > m.frontend.nFft) issue(['frontend', 'winLength'], 'must not exceed nFft');
  });

export type ModelManifest = z.infer<typeof manifestSchema>;
export type ManifestFile = ModelManifest['files'][number];
export type ManifestFrontend = ModelManifest['frontend'];
export type ManifestTensor = ModelManifest['inputs'][number];

/** `files[2].sha256`-style path of an issue. */
function keyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(top level)';
}

/** Validates parsed JSON; every problem becomes one line `<file>: <key>: <message>`. */
export function parseManifest(value: unknown, file: string): ModelManifest {
  const r = manifestSchema.safeParse(value);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `${file}: ${keyPath(i.path)}: ${i.message}`);
  throw new DataError(`${file}: invalid model manifest\n  ${lines.join('\n  ')}`, { component: COMPONENT, code: 'manifest.invalid' });
}

/** Reads and validates one manifest file. */
export function readManifest(file: string): ModelManifest {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new InputMissingError(`${file}: model manifest not found`, { component: COMPONENT, code: 'manifest.missing', cause: err });
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DataError(`${file}: not valid JSON (${(err as Error).message})`, { component: COMPONENT, code: 'manifest.syntax', cause: err });
  }
  return parseManifest(json, file);
}

/** The file with a role; the schema guarantees a model file exists. */
export function fileWithRole(m: ModelManifest, role: ManifestFile['role']): ManifestFile | undefined {
  return m.files.find((f) => f.role === role);
}

export function modelFile(m: ModelManifest): ManifestFile {
  return fileWithRole(m, 'model')!;
}

export function tensorWithRole(list: readonly ManifestTensor[], role: string): ManifestTensor | undefined {
  return list.find((t) => t.role === role);
}

/** Total bytes of a model's files. */
export function manifestBytes(m: ModelManifest): number {
  return m.files.reduce((sum, f) => sum + f.size, 0);
}
