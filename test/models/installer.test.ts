import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataError, UnavailableError } from '../../agent/errors.js';
import { nodeInstallFs, type InstallFs } from '../../models/install-fs.js';
import { openInstalledModel } from '../../models/installed.js';
import { MARKER_FILE, ModelInstaller, modelDir, parseMirrorList } from '../../models/installer.js';
import { getManifest } from '../../models/registry.js';
import { requireInstalledModel } from '../../agent/cli/models-commands.js';
import { sharedModelsDir } from '../helpers/paths.js';
import { fakeFiles, fakeManifest, sha256, writeMirror } from './fake-model.js';

let tmp: string;
let dataDir: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-models-'));
  dataDir = path.join(tmp, 'data');
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const NAME = 'tiny-model';
const files = fakeFiles();
const manifest = fakeManifest(files);
const dest = () => modelDir(dataDir, NAME);
const listDest = () => (fs.existsSync(dest()) ? fs.readdirSync(dest()).sort() : []);

/** The real fs, counting files created. */
function countingFs(): InstallFs & { created: string[] } {
  const created: string[] = [];
  return { ...nodeInstallFs, created, create: (f) => (created.push(path.basename(f)), nodeInstallFs.create(f)) };
}

function mirror(dirName: string, content = files): string {
  const dir = path.join(tmp, dirName);
  writeMirror(dir, NAME, content);
  return dir;
}

describe('parseMirrorList', () => {
  it('splits on colons, drops empty parts, resolves relative folders', () => {
    expect(parseMirrorList('a::/b:', '/w')).toEqual(['/w/a', '/b']);
    expect(parseMirrorList(undefined, '/w')).toEqual([]);
  });
});

describe('ModelInstaller.install', () => {
  it('copies every file with its hash, writes installed.json last, leaves no temp file', async () => {
    const m1 = mirror('m1');
    const r = await new ModelInstaller().install(manifest, { dataDir, mirrors: [m1] });
    expect(r.changed).toBe(true);
    expect(r.files.map((f) => f.action)).toEqual(['copied', 'copied', 'copied']);
    expect(listDest()).toEqual([MARKER_FILE, 'labels.csv', 'tiny.onnx', 'tiny.onnx.data']);
    for (const [f, data] of Object.entries(files)) expect(sha256(fs.readFileSync(path.join(dest(), f)))).toBe(sha256(data));
    const marker = JSON.parse(fs.readFileSync(path.join(dest(), MARKER_FILE), 'utf8')) as { version: string; files: { source: string }[] };
    expect(marker.version).toBe('1');
    expect(marker.files[0].source).toBe(path.join(m1, NAME, 'tiny.onnx'));
  });

  it('takes each file from the first mirror folder that has it', async () => {
    const { 'tiny.onnx.data': weights, ...rest } = files;
    const m1 = mirror('m1', rest);
    const m2 = mirror('m2', { 'tiny.onnx.data': weights, 'tiny.onnx': files['tiny.onnx'] });
    const r = await new ModelInstaller().install(manifest, { dataDir, mirrors: [path.join(tmp, 'absent'), m1, m2] });
    const source = Object.fromEntries(r.files.map((f) => [f.name, f.source]));
    expect(source['tiny.onnx']).toBe(path.join(m1, NAME, 'tiny.onnx'));
    expect(source['tiny.onnx.data']).toBe(path.join(m2, NAME, 'tiny.onnx.data'));
  });

  it('refuses a mirror file whose sha256 differs: names file, both hashes and the mirror; nothing left in place', async () => {
    const bad = { ...files, 'tiny.onnx.data': Buffer.concat([Buffer.from(files['tiny.onnx.data']).subarray(0, 1000), Buffer.alloc(files['tiny.onnx.data'].length - 1000)]) };
    const m1 = mirror('m1', bad);
    const err = await new ModelInstaller().install(manifest, { dataDir, mirrors: [m1] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    const msg = (err as Error).message;
    expect(msg).toContain('tiny.onnx.data');
    expect(msg).toContain(sha256(files['tiny.onnx.data']));
    expect(msg).toContain(sha256(bad['tiny.onnx.data']));
    expect(msg).toContain(m1);
    expect((err as DataError).exitCode).toBe(65);
    // The good files may be in place; the bad one is not, nor any temp file, nor the marker.
    expect(listDest()).not.toContain('tiny.onnx.data');
    expect(listDest()).not.toContain(MARKER_FILE);
    expect(listDest().filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('refuses a truncated mirror file and a too-long one', async () => {
    const data = Buffer.from(files['tiny.onnx.data']);
    for (const wrong of [data.subarray(0, data.length - 1), Buffer.concat([data, Buffer.from([0])])]) {
      const m = mirror(`m-${wrong.length}`, { ...files, 'tiny.onnx.data': wrong });
      await expect(new ModelInstaller().install(manifest, { dataDir, mirrors: [m] })).rejects.toThrow(/tiny\.onnx\.data.*(sha256 mismatch|larger than)/);
      expect(listDest()).not.toContain('tiny.onnx.data');
      expect(listDest().some((f) => f.endsWith('.part'))).toBe(false);
    }
  });

  it('falls back to the next mirror when the first has a bad copy', async () => {
    const m1 = mirror('m1', { ...files, 'tiny.onnx': 'tampered' });
    const m2 = mirror('m2');
    const warnings: string[] = [];
    const logger = { warn: (_o: unknown, msg: string) => warnings.push(msg), info: () => undefined } as never;
    const r = await new ModelInstaller({ logger }).install(manifest, { dataDir, mirrors: [m1, m2] });
    expect(r.files.find((f) => f.name === 'tiny.onnx')?.source).toBe(path.join(m2, NAME, 'tiny.onnx'));
    expect(warnings.join('\n')).toMatch(/tiny\.onnx from mirror .*m1.*sha256 mismatch/);
    expect(fs.readFileSync(path.join(dest(), 'tiny.onnx'), 'utf8')).toBe(files['tiny.onnx']);
  });

  it('a write failure midway leaves the previous file untouched and no temp file', async () => {
    // A good earlier install, then the weights file is damaged and a reinstall hits a disk error.
    const m1 = mirror('m1');
    await new ModelInstaller().install(manifest, { dataDir, mirrors: [m1] });
    fs.writeFileSync(path.join(dest(), 'tiny.onnx.data'), 'old content');
    let writes = 0;
    const failing: InstallFs = {
      ...nodeInstallFs,
      async create(f) {
        const h = await nodeInstallFs.create(f);
        return {
          ...h,
          write: async (d) => {
            if (++writes === 2) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
            return h.write(d);
          },
        };
      },
    };
    const err = await new ModelInstaller({ fs: failing }).install(manifest, { dataDir, mirrors: [m1] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/tiny\.onnx\.data: cannot write: the disk is full/);
    expect(writes).toBe(2);
    expect(fs.readFileSync(path.join(dest(), 'tiny.onnx.data'), 'utf8')).toBe('old content');
    expect(listDest().some((f) => f.endsWith('.part'))).toBe(false);
    // The model no longer counts as installed.
    expect(listDest()).not.toContain(MARKER_FILE);
    await expect(new ModelInstaller().verify(manifest, dataDir)).resolves.toMatchObject({ installed: false, ok: false });
  });

  it('is idempotent: a second install copies nothing; an interrupted one copies only what is missing', async () => {
    const m1 = mirror('m1');
    await new ModelInstaller().install(manifest, { dataDir, mirrors: [m1] });
    const markerBefore = fs.readFileSync(path.join(dest(), MARKER_FILE), 'utf8');
    const fs2 = countingFs();
    const again = await new ModelInstaller({ fs: fs2 }).install(manifest, { dataDir, mirrors: [m1] });
    expect(again.changed).toBe(false);
    expect(again.files.every((f) => f.action === 'present')).toBe(true);
    expect(fs2.created).toEqual([]);
    expect(fs.readFileSync(path.join(dest(), MARKER_FILE), 'utf8')).toBe(markerBefore);

    // Already-verified files are kept even without the mirror.
    fs.rmSync(path.join(dest(), 'labels.csv'));
    fs.rmSync(path.join(dest(), MARKER_FILE));
    const fs3 = countingFs();
    const resumed = await new ModelInstaller({ fs: fs3 }).install(manifest, { dataDir, mirrors: [m1] });
    expect(resumed.files.map((f) => f.action)).toEqual(['present', 'present', 'copied']);
    expect(fs3.created.map((f) => f.replace(/\.\d+\.[0-9a-f]+\.part$/, ''))).toEqual(['.labels.csv']);
    expect(listDest()).toContain(MARKER_FILE);
  });

  it('with no mirror and no URL: exit 69 naming EARSHOT_MODEL_MIRROR, nothing written', async () => {
    const err = await new ModelInstaller().install(manifest, { dataDir, mirrors: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).exitCode).toBe(69);
    expect((err as Error).message).toMatch(/EARSHOT_MODEL_MIRROR is not set/);
    expect((err as Error).message).toMatch(/EARSHOT_MODEL_MIRROR=.* earshot models install tiny-model/);
    expect(listDest()).toEqual([]);
  });

  it('names the folders searched when the mirrors lack a file', async () => {
    const m1 = mirror('m1', { 'tiny.onnx': files['tiny.onnx'] });
    await expect(new ModelInstaller().install(manifest, { dataDir, mirrors: [m1] })).rejects.toThrow(
      new RegExp(`no source for tiny\\.onnx\\.data, labels\\.csv: not found in the EARSHOT_MODEL_MIRROR folders \\(${path.join(m1, NAME)}\\)`),
    );
  });

  it('downloads from the manifest URL with fetch, verified the same way', async () => {
    const withUrl = fakeManifest(files, NAME, { 'tiny.onnx.data': { url: 'https://models.example.org/tiny.onnx.data' } });
    const m1 = mirror('m1', { 'tiny.onnx': files['tiny.onnx'], 'labels.csv': files['labels.csv'] });
    const asked: string[] = [];
    const fetchOk = (async (url: string) => {
      asked.push(url);
      return new Response(new Blob([files['tiny.onnx.data']]).stream(), { status: 200 });
    }) as unknown as typeof fetch;
    const r = await new ModelInstaller({ fetch: fetchOk }).install(withUrl, { dataDir, mirrors: [m1] });
    expect(asked).toEqual(['https://models.example.org/tiny.onnx.data']);
    expect(r.files.find((f) => f.name === 'tiny.onnx.data')).toMatchObject({ action: 'downloaded' });

    fs.rmSync(dest(), { recursive: true });
    const fetch404 = (async () => new Response('nope', { status: 404, statusText: 'Not Found' })) as unknown as typeof fetch;
    const err = await new ModelInstaller({ fetch: fetch404 }).install(withUrl, { dataDir, mirrors: [m1] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/HTTP 404/);
    expect(listDest()).not.toContain('tiny.onnx.data');
  });

  it('removes temp files left by a dead installer process', async () => {
    fs.mkdirSync(dest(), { recursive: true });
    // pid 2^22+1 is above Linux's pid_max default: never a live process.
    const stale = path.join(dest(), `.tiny.onnx.data.${2 ** 22 + 1}.deadbeef.part`);
    fs.writeFileSync(stale, 'half a file');
    await new ModelInstaller().install(manifest, { dataDir, mirrors: [mirror('m1')] });
    expect(fs.existsSync(stale)).toBe(false);
  });
});

describe('ModelInstaller.verify', () => {
  it('reports ok, then a changed byte, then a missing file', async () => {
    await new ModelInstaller().install(manifest, { dataDir, mirrors: [mirror('m1')] });
    const inst = new ModelInstaller();
    expect(await inst.verify(manifest, dataDir)).toMatchObject({ installed: true, ok: true });

    const weights = path.join(dest(), 'tiny.onnx.data');
    const buf = fs.readFileSync(weights);
    buf[buf.length - 1] ^= 1;
    fs.writeFileSync(weights, buf);
    const r = await inst.verify(manifest, dataDir);
    expect(r.ok).toBe(false);
    expect(r.files.find((f) => f.name === 'tiny.onnx.data')).toMatchObject({ status: 'hash-mismatch', actualSha256: sha256(buf) });

    fs.rmSync(path.join(dest(), 'labels.csv'));
    expect((await inst.verify(manifest, dataDir)).files.find((f) => f.name === 'labels.csv')?.status).toBe('missing');
  });

  it('is "not installed" without the marker, and stale when the marker is for other files', async () => {
    expect(await new ModelInstaller().verify(manifest, dataDir)).toMatchObject({ installed: false, ok: false });
    await new ModelInstaller().install(manifest, { dataDir, mirrors: [mirror('m1')] });
    const v2 = fakeManifest(fakeFiles(2));
    const r = await new ModelInstaller().verify({ ...v2, version: '2' }, dataDir);
    expect(r).toMatchObject({ installed: false, staleVersion: '1' });
  });
});

describe('openInstalledModel / requireInstalledModel', () => {
  it('not installed: UnavailableError (69) that says which command installs it', () => {
    let err: unknown;
    try {
      openInstalledModel(NAME, dataDir, { mirror: '/srv/models' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).exitCode).toBe(69);
    expect((err as Error).message).toContain('EARSHOT_MODEL_MIRROR=/srv/models earshot models install tiny-model');
  });

  it('opens a fake install (labels parsed) and refuses a file of the wrong size', async () => {
    await new ModelInstaller().install(manifest, { dataDir, mirrors: [mirror('m1')] });
    const m = openInstalledModel(NAME, dataDir, { verifyHashes: true });
    expect(m.labels.map((l) => l.name)).toEqual(['Speech', 'Gunshot, gunfire']);
    expect(m.modelPath).toBe(path.join(dest(), 'tiny.onnx'));
    expect(m.sha256).toBe(sha256(files['tiny.onnx']));
    fs.appendFileSync(path.join(dest(), 'tiny.onnx'), 'x');
    expect(() => openInstalledModel(NAME, dataDir)).toThrow(/tiny\.onnx has \d+ bytes, expected/);
  });

  it('installs the real efficientat-mn04 from ../shared/models', async () => {
    const { manifest: mn04 } = getManifest('efficientat-mn04');
    const r = await new ModelInstaller().install(mn04, { dataDir, mirrors: [sharedModelsDir] });
    expect(r.files.map((f) => f.name)).toEqual(['mn04_as.onnx', 'mn04_as.onnx.data', 'class_labels_indices.csv']);
    const m = requireInstalledModel('efficientat-mn04', dataDir, { verifyHashes: true });
    expect(m.labels).toHaveLength(527);
    expect(m.labels[427].name).toBe('Gunshot, gunfire');
    expect(m.labels[347].name).toBe('Chainsaw');
    expect(path.dirname(m.paths['mn04_as.onnx.data'])).toBe(path.dirname(m.modelPath));
    expect(m.sha256).toBe('046c384dd3c5aeb57bc3b23720ce9987431f8a954f8d593df7bbbe2c50e35fdf');
  });
});
