import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError, UsageError } from '../../agent/errors.js';
import { frontendParamProblems, MN04_FRONTEND, type FrontendParams } from '../../dsp/frontend-params.js';
import { parseLabelsCsv } from '../../models/labels.js';
import { parseManifest, readManifest, type ManifestFrontend } from '../../models/manifest.js';
import { getManifest, listManifests, shippedModelsDir } from '../../models/registry.js';
import { sharedModelsDir } from '../helpers/paths.js';
import { sha256 } from './fake-model.js';

const shippedFile = path.join(shippedModelsDir(), 'efficientat-mn04', 'manifest.json');
const raw = () => JSON.parse(fs.readFileSync(shippedFile, 'utf8')) as Record<string, unknown> & { files: Record<string, unknown>[] };

// Compile-time: a manifest's `frontend` is a dsp FrontendParams (field names and types agree).
const _frontendIsParams = (f: ManifestFrontend): FrontendParams => f;

describe('shipped manifests', () => {
  it('lists efficientat-mn04 and resolves the models folder of the checkout', () => {
    expect(shippedModelsDir()).toBe(path.resolve(import.meta.dirname, '..', '..', 'models'));
    expect(listManifests().map((m) => m.manifest.name)).toContain('efficientat-mn04');
  });

  it('efficientat-mn04 sizes and sha256 match the files in ../shared/models', () => {
    const m = readManifest(shippedFile);
    expect(m.files.map((f) => f.name)).toEqual(['mn04_as.onnx', 'mn04_as.onnx.data', 'class_labels_indices.csv']);
    for (const f of m.files) {
      const data = fs.readFileSync(path.join(sharedModelsDir, 'efficientat-mn04', f.name));
      expect({ name: f.name, size: data.length, sha256: sha256(data) }).toEqual({ name: f.name, size: f.size, sha256: f.sha256 });
      // Downloaded from the project's release assets when no mirror or bundled copy is there.
      expect(f.url).toMatch(new RegExp(`^https://github\\.com/[^/]+/earshot/releases/download/[^/]+/${f.name.replace(/\./g, '\\.')}$`));
    }
    expect(m.labelsCount).toBe(527);
    expect(m.licence).toEqual({ model: 'MIT', labels: 'CC BY-SA 4.0' });
  });

  it('its front end is the one dsp/ implements for mn04, and dsp accepts it', () => {
    const { frontend } = readManifest(shippedFile);
    expect(frontend).toEqual(MN04_FRONTEND);
    expect(frontendParamProblems(frontend)).toEqual([]);
  });

  it('an unknown model name is a usage error listing the known ones', () => {
    expect(() => getManifest('mn99')).toThrow(UsageError);
    expect(() => getManifest('mn99')).toThrow(/unknown model "mn99"; known models: .*efficientat-mn04/);
  });
});

describe('parseManifest errors name the file and the key', () => {
  const expectIssue = (value: unknown, pattern: RegExp) => {
    let err: unknown;
    try {
      parseManifest(value, 'x/manifest.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(pattern);
  };

  it('bad sha256, path in a file name, unknown key', () => {
    const m = raw();
    m.files[1].sha256 = 'ABC';
    m.files[2].name = '../etc/passwd';
    m.extra = 1;
    expectIssue(m, /x\/manifest\.json: files\[1\]\.sha256: expected 64 lowercase hex digits/);
    expectIssue(m, /x\/manifest\.json: files\[2\]\.name: expected a plain file name/);
    expectIssue(m, /x\/manifest\.json: \(top level\): .*extra/);
  });

  it('cross-checks: labels file listed, logits width = labelsCount, input mel bands = frontend.nMels', () => {
    const m = raw();
    m.labelsCount = 500;
    (m.labels as Record<string, unknown>).file = 'labels.txt';
    (m.frontend as Record<string, unknown>).nMels = 64;
    expectIssue(m, /labels\.file: "labels\.txt" is not among files\[\]\.name/);
    expectIssue(m, /outputs\[0\]\.shape: last dimension must equal labelsCount \(500\)/);
    expectIssue(m, /inputs\[0\]\.shape: expected \[batch, 1, 64 \(frontend\.nMels\), frames\]/);
  });

  it('readManifest: invalid JSON names the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-manifest-'));
    const file = path.join(dir, 'manifest.json');
    fs.writeFileSync(file, '{"name": ');
    expect(() => readManifest(file)).toThrow(new RegExp(`${file}: not valid JSON`));
    fs.rmSync(dir, { recursive: true });
  });
});

describe('labels csv', () => {
  it('reads quoted names with commas and doubled quotes, a BOM and CRLF line ends', () => {
    const labels = parseLabelsCsv('\uFEFFindex,mid,display_name\r\n0,/m/05zppz,"Male speech, man speaking"\r\n1,x,"say ""hi"""\r\n', 'l.csv', 2);
    expect(labels).toEqual([
      { index: 0, mid: '/m/05zppz', name: 'Male speech, man speaking' },
      { index: 1, mid: 'x', name: 'say "hi"' },
    ]);
  });

  it('refuses a wrong column count and an unterminated quote, naming the file and line', () => {
    expect(() => parseLabelsCsv('index,mid,display_name\n0,a\n', 'l.csv', 1)).toThrow(/l\.csv:2: expected 3 columns, got 2/);
    expect(() => parseLabelsCsv('index,mid,display_name\n0,a,"A\n', 'l.csv', 1)).toThrow(/l\.csv:\d+: .*quote/i);
  });

  it('refuses indices out of order and a wrong count, naming the line', () => {
    expect(() => parseLabelsCsv('index,mid,display_name\n0,a,"A"\n2,b,"B"\n', 'l.csv', 2)).toThrow(/l\.csv:3: expected index 1, got "2"/);
    expect(() => parseLabelsCsv('index,mid,display_name\n0,a,"A"\n', 'l.csv', 2)).toThrow(/expected 2 labels .* found 1/);
    expect(() => parseLabelsCsv('id,name\n', 'l.csv', 2)).toThrow(/l\.csv:1: expected the header/);
  });
});
