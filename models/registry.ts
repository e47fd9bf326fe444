/**
 * The manifests shipped with Earshot: `<package root>/models/<name>/manifest.json`. The package
 * root is found by walking up from this module, which runs both from source (models/registry.ts
 * under vitest) and compiled (build/models/registry.js); tsc does not copy the JSON into build/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DataError, UsageError } from '../agent/errors.js';
import { readManifest, type ModelManifest } from './manifest.js';
import { packageRoot } from '../agent/version.js';

export interface ShippedManifest {
  manifest: ModelManifest;
  /** Path of the manifest file. */
  file: string;
}

export { packageRoot };

export function shippedModelsDir(): string {
  return path.join(packageRoot(), 'models');
}

/** Every `<dir>/<name>/manifest.json`, sorted by name; a folder's name must match its manifest. */
export function listManifests(dir = shippedModelsDir()): ShippedManifest[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: ShippedManifest[] = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const file = path.join(dir, e.name, 'manifest.json');
    if (!fs.existsSync(file)) continue;
    const manifest = readManifest(file);
    if (manifest.name !== e.name) throw new DataError(`${file}: name "${manifest.name}" does not match its folder "${e.name}"`, { component: 'models.registry', code: 'manifest.name' });
    out.push({ manifest, file });
  }
  return out.sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));
}

/** The shipped manifest of a model, or undefined. */
export function findManifest(name: string, dir = shippedModelsDir()): ShippedManifest | undefined {
  return listManifests(dir).find((m) => m.manifest.name === name);
}

/** The shipped manifest of a model; an unknown name is a usage error listing the known ones. */
export function getManifest(name: string, dir = shippedModelsDir()): ShippedManifest {
  const all = listManifests(dir);
  const found = all.find((m) => m.manifest.name === name);
  if (found) return found;
  const known = all.map((m) => m.manifest.name).join(', ') || 'none';
  throw new UsageError(`unknown model "${name}"; known models: ${known} (see \`earshot models list\`)`, { component: 'models.registry', code: 'model.unknown' });
}
