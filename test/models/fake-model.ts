/** Tiny fake models for installer tests: a mirror folder with `<name>/<file>` and a matching manifest. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseManifest, readManifest, type ModelManifest } from '../../models/manifest.js';
import { shippedModelsDir } from '../../models/registry.js';

export const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

export interface FakeFiles {
  [name: string]: Uint8Array | string;
}

/** Three files like a real model: graph, weights (bigger than one read chunk), labels. */
export function fakeFiles(seed = 1): FakeFiles {
  const weights = new Uint8Array(3 * (1 << 20) + 12345);
  let x = seed;
  for (let i = 0; i < weights.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    weights[i] = x >>> 24;
  }
  return {
    'tiny.onnx': `fake onnx graph ${seed}`,
    'tiny.onnx.data': weights,
    'labels.csv': 'index,mid,display_name\n0,/m/a,"Speech"\n1,/m/b,"Gunshot, gunfire"\n',
  };
}

export function fakeManifest(files: FakeFiles, name = 'tiny-model', extra: Partial<Record<string, { url?: string }>> = {}): ModelManifest {
  const role = (f: string) => (f.endsWith('.onnx') ? 'model' : f.endsWith('.data') ? 'weights' : 'labels');
  return parseManifest(
    {
      schemaVersion: 1,
      name,
      version: '1',
      description: 'a fake model for tests',
      licence: { model: 'MIT' },
      source: 'https://example.org/tiny',
      files: Object.entries(files).map(([f, data]) => ({
        name: f,
        role: role(f),
        size: typeof data === 'string' ? Buffer.byteLength(data) : data.length,
        sha256: sha256(data),
        ...extra[f],
      })),
      frontend: readManifest(path.join(shippedModelsDir(), 'efficientat-mn04', 'manifest.json')).frontend,
      inputs: [{ name: 'spec', role: 'logmel', type: 'float32', shape: ['batch', 1, 128, 'frames'] }],
      outputs: [{ name: 'logits', role: 'logits', type: 'float32', shape: ['batch', 2] }],
      labels: { file: 'labels.csv', format: 'csv', columns: ['index', 'mid', 'display_name'] },
      labelsCount: 2,
    },
    `${name}/manifest.json`,
  );
}

/** Writes `<mirror>/<name>/<file>` for the given files. */
export function writeMirror(mirror: string, name: string, files: FakeFiles): void {
  fs.mkdirSync(path.join(mirror, name), { recursive: true });
  for (const [f, data] of Object.entries(files)) fs.writeFileSync(path.join(mirror, name, f), data);
}
