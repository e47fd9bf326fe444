/**
 * Opens an installed model for the detectors: reads `installed.json`, checks every file is there
 * with the right size (and, on request, the right sha256), parses the labels. Synchronous: it
 * runs once at start, before anything else needs the event loop.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DataError, UnavailableError } from '../agent/errors.js';
import { hashFileSync } from './install-fs.js';
import { installCommand, MARKER_FILE, modelDir, type InstallMarker } from './installer.js';
import { parseLabelsCsv, type ModelLabel } from './labels.js';
import { modelFile, parseManifest, type ModelManifest } from './manifest.js';

const COMPONENT = 'models.installed';

export interface InstalledModel {
  name: string;
  version: string;
  dir: string;
  manifest: ModelManifest;
  /** Absolute path of each file, by file name. */
  paths: Record<string, string>;
  /** The ONNX graph (its external data sits beside it). */
  modelPath: string;
  /** sha256 of the ONNX graph file: `event.model.sha256`. */
  sha256: string;
  labels: ModelLabel[];
}

export interface OpenInstalledOptions {
  /** Re-hash every file (slower; `earshot models verify` does this). Default: sizes only. */
  verifyHashes?: boolean;
  /** The manifest this build ships: an installed model from another version is refused. */
  expected?: ModelManifest;
  /** For the hint in errors: the mirror and config file the install command should use. */
  mirror?: string;
  configFile?: string;
}

export function openInstalledModel(name: string, dataDir: string, opts: OpenInstalledOptions = {}): InstalledModel {
  const dir = modelDir(dataDir, name);
  const markerFile = path.join(dir, MARKER_FILE);
  const fix = `install it with: ${installCommand(name, { mirror: opts.mirror, configFile: opts.configFile })}`;
  const unavailable = (why: string, code: string) => new UnavailableError(`model ${name}: ${why}; ${fix}`, { component: COMPONENT, code });

  let marker: InstallMarker;
  try {
    marker = JSON.parse(fs.readFileSync(markerFile, 'utf8')) as InstallMarker;
  } catch {
    throw unavailable(`not installed in ${dir} (no valid ${MARKER_FILE})`, 'model.not-installed');
  }
  const manifest = parseManifest(marker.manifest, markerFile);
  if (opts.expected && (opts.expected.version !== manifest.version || !sameFiles(opts.expected, manifest))) {
    throw unavailable(`installed version ${manifest.version} in ${dir} differs from the version ${opts.expected.version} this Earshot expects`, 'model.stale');
  }
  const paths: Record<string, string> = {};
  for (const f of manifest.files) {
    const file = path.join(dir, f.name);
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      throw unavailable(`${file} is missing`, 'model.file-missing');
    }
    if (size !== f.size) throw unavailable(`${file} has ${size} bytes, expected ${f.size}`, 'model.file-size');
    if (opts.verifyHashes) {
      const actual = hashFileSync(file);
      if (actual !== f.sha256) {
        throw new DataError(`model ${name}: ${file}: sha256 ${actual} does not match the manifest (${f.sha256}); reinstall: ${installCommand(name, { mirror: opts.mirror, configFile: opts.configFile })}`, {
          component: COMPONENT,
          code: 'model.file-hash',
        });
      }
    }
    paths[f.name] = file;
  }
  const labelsFile = paths[manifest.labels.file];
  const labels = parseLabelsCsv(fs.readFileSync(labelsFile, 'utf8'), labelsFile, manifest.labelsCount);
  const graph = modelFile(manifest);
  return { name, version: manifest.version, dir, manifest, paths, modelPath: paths[graph.name], sha256: graph.sha256, labels };
}

function sameFiles(a: ModelManifest, b: ModelManifest): boolean {
  return a.files.length === b.files.length && a.files.every((f) => b.files.some((g) => g.name === f.name && g.sha256 === f.sha256));
}
