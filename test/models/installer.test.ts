import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataError, InputMissingError, UnavailableError } from '../../agent/errors.js';
import { nodeInstallFs, type InstallFs } from '../../models/install-fs.js';
import { openInstalledModel } from '../../models/installed.js';
import { MARKER_FILE, ModelInstaller, modelDir, parseMirrorList } from '../../models/installer.js';
import { getManifest } from '../../models/registry.js';
import { requireInstalledModel } from '../../agent/cli/models-commands.js';
import { runEarshotAsync } from '../helpers/cli.js';
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

// ---------------------------------------------------------------------------------------------
// Downloads, against a real HTTP server on 127.0.0.1 serving the real model files (../shared/models,
// laid out `<name>/<file>` as EARSHOT_MODEL_URL expects).

const MN04 = 'efficientat-mn04';
const mn04 = () => getManifest(MN04).manifest;
const mn04Dest = () => modelDir(dataDir, MN04);
const mn04List = () => (fs.existsSync(mn04Dest()) ? fs.readdirSync(mn04Dest()).sort() : []);

interface ServerOptions {
  /** Cut the connection after half the body, for the first `cutTimes` requests of each file. */
  cutTimes?: number;
  /** Answer every request with the whole file (200), ignoring Range. */
  noRange?: boolean;
  /** Flip one byte of this file. */
  corrupt?: string;
}

interface TestServer {
  base: string;
  requests: { path: string; range?: string }[];
  close(): Promise<void>;
}

async function serveModels(opts: ServerOptions = {}): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const served = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push({ path: urlPath, ...(req.headers.range ? { range: req.headers.range } : {}) });
    const file = path.join(sharedModelsDir, urlPath);
    if (!file.startsWith(sharedModelsDir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    let body = fs.readFileSync(file);
    if (opts.corrupt && path.basename(file) === opts.corrupt) {
      body = Buffer.from(body);
      body[body.length >> 1] ^= 0xff;
    }
    const n = (served.get(urlPath) ?? 0) + 1;
    served.set(urlPath, n);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    if (m && !opts.noRange) {
      start = Number(m[1]);
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'accept-ranges': 'bytes' });
    } else {
      res.writeHead(200, { 'content-length': body.length });
    }
    const rest = body.subarray(start);
    if (n <= (opts.cutTimes ?? 0) && rest.length > 1) {
      // Half the body, then the connection drops: what a flaky mobile link does.
      res.write(rest.subarray(0, rest.length >> 1), () => res.destroy());
      return;
    }
    res.end(rest);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** No waiting between retries in tests (the waits are not what is tested). */
const quick = { sleep: async () => undefined };

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('downloads from a URL (local HTTP server)', () => {
  it('downloads the real model from <base>/<name>/<file>, verified; the manifest URLs point at the release assets', async () => {
    for (const f of mn04().files) expect(f.url).toBe(`https://github.com/earshot-project/earshot/releases/download/model-efficientat-mn04-v1/${f.name}`);
    server = await serveModels();
    const progress: number[] = [];
    const r = await new ModelInstaller({ download: quick, onProgress: (p) => p.file === 'mn04_as.onnx.data' && progress.push(p.bytes) }).install(mn04(), { dataDir, mirrors: [], urlBase: `${server.base}/` });
    expect(r.files.map((f) => [f.name, f.action, f.source])).toEqual(mn04().files.map((f) => [f.name, 'downloaded', `${server!.base}/${MN04}/${f.name}`]));
    expect(progress.at(-1)).toBe(3962880);
    await expect(new ModelInstaller().verify(mn04(), dataDir)).resolves.toMatchObject({ installed: true, ok: true });
    expect(mn04List().filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('the mirror still wins over the URL when both are set', async () => {
    server = await serveModels();
    const r = await new ModelInstaller({ download: quick }).install(mn04(), { dataDir, mirrors: [sharedModelsDir], urlBase: server.base });
    expect(r.files.every((f) => f.action === 'copied')).toBe(true);
    expect(server.requests).toEqual([]);
  });

  it('a wrong sha256 from the server: DataError (65), nothing installed, no temp file', async () => {
    server = await serveModels({ corrupt: 'mn04_as.onnx.data' });
    const err = await new ModelInstaller({ download: quick }).install(mn04(), { dataDir, mirrors: [], urlBase: server.base }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).exitCode).toBe(65);
    expect((err as Error).message).toMatch(/mn04_as\.onnx\.data from http:\/\/127\.0\.0\.1:\d+\/efficientat-mn04\/mn04_as\.onnx\.data: sha256 mismatch/);
    expect(mn04List()).not.toContain('mn04_as.onnx.data');
    expect(mn04List()).not.toContain(MARKER_FILE);
    expect(mn04List().filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('a 404: UnavailableError (69) naming the URL, not retried, nothing installed', async () => {
    server = await serveModels();
    const base = `${server.base}/no-such-release`;
    const err = await new ModelInstaller({ download: quick }).install(mn04(), { dataDir, mirrors: [], urlBase: base }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).exitCode).toBe(69);
    expect((err as Error).message).toContain(`download of ${base}/${MN04}/mn04_as.onnx failed: HTTP 404 Not Found`);
    expect((err as Error).message).toContain('--from');
    expect(server.requests).toHaveLength(1);
    expect(mn04List()).toEqual([]);
  });

  it('a server that stops mid-file: resumed with a Range request from the byte received, file intact', async () => {
    server = await serveModels({ cutTimes: 1 });
    const retries: { received: number; attempt: number }[] = [];
    const r = await new ModelInstaller({ download: { ...quick, onRetry: (x) => retries.push(x) } }).install(mn04(), { dataDir, mirrors: [], urlBase: server.base });
    expect(r.files.every((f) => f.action === 'downloaded')).toBe(true);
    const weights = server.requests.filter((q) => q.path.endsWith('mn04_as.onnx.data'));
    expect(weights).toHaveLength(2);
    expect(weights[0].range).toBeUndefined();
    const from = Number(/^bytes=(\d+)-$/.exec(weights[1].range ?? '')?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThan(3962880);
    expect(retries.some((x) => x.received === from && x.attempt === 2)).toBe(true);
    await expect(new ModelInstaller().verify(mn04(), dataDir)).resolves.toMatchObject({ ok: true });
  });

  it('a server that ignores Range after a cut: sends the whole file again, the bytes already had are skipped', async () => {
    server = await serveModels({ cutTimes: 1, noRange: true });
    await new ModelInstaller({ download: quick }).install(mn04(), { dataDir, mirrors: [], urlBase: server.base });
    await expect(new ModelInstaller().verify(mn04(), dataDir)).resolves.toMatchObject({ ok: true });
  });

  it('a server that always stops mid-file: gives up after the attempts, 69, nothing installed', async () => {
    server = await serveModels({ cutTimes: 99 });
    const err = await new ModelInstaller({ download: { ...quick, attempts: 3 } }).install(mn04(), { dataDir, mirrors: [], urlBase: server.base }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/mn04_as\.onnx: download of .* failed: connection lost after \d+ bytes .*gave up after 3 attempts/);
    expect(server.requests.filter((q) => q.path.endsWith('mn04_as.onnx'))).toHaveLength(3);
    expect(mn04List().filter((f) => f !== '.' && !f.startsWith('.'))).toEqual([]);
    expect(mn04List().filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('a connection that stalls is aborted by the idle time-out and resumed', async () => {
    // First request of each file: half the body, then silence with the socket open.
    let requests = 0;
    const body = fs.readFileSync(path.join(sharedModelsDir, MN04, 'class_labels_indices.csv'));
    const srv = http.createServer((req, res) => {
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (requests++ === 0) {
        res.writeHead(200, { 'content-length': body.length });
        res.write(body.subarray(0, 1000));
        return;
      }
      const start = range ? Number(range[1]) : 0;
      res.writeHead(range ? 206 : 200, range ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}).end(body.subarray(start));
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address() as AddressInfo;
    try {
      const { openDownload } = await import('../../models/download.js');
      const chunks: Buffer[] = [];
      for await (const c of await openDownload(`http://127.0.0.1:${port}/labels.csv`, { ...quick, idleMs: 300 })) chunks.push(Buffer.from(c));
      expect(sha256(Buffer.concat(chunks))).toBe(sha256(body));
      expect(requests).toBe(2);
    } finally {
      srv.closeAllConnections();
      srv.close();
    }
  });
});

describe('install --from a folder or an archive (USB stick)', () => {
  it('a folder laid out like the mirror (<dir>/<name>/<file>) or holding the files directly', async () => {
    const r = await new ModelInstaller().install(mn04(), { dataDir, mirrors: [], from: sharedModelsDir });
    expect(r.files.map((f) => f.source)).toEqual(mn04().files.map((f) => path.join(sharedModelsDir, MN04, f.name)));
    fs.rmSync(mn04Dest(), { recursive: true });
    const flat = path.join(sharedModelsDir, MN04);
    await new ModelInstaller().install(mn04(), { dataDir, mirrors: [], from: flat });
    await expect(new ModelInstaller().verify(mn04(), dataDir)).resolves.toMatchObject({ ok: true });
  });

  it('--from is the only source: a folder lacking a file is 66 even with a mirror set; nothing installed', async () => {
    const stick = path.join(tmp, 'stick');
    fs.mkdirSync(stick);
    fs.copyFileSync(path.join(sharedModelsDir, MN04, 'mn04_as.onnx'), path.join(stick, 'mn04_as.onnx'));
    const err = await new ModelInstaller().install(mn04(), { dataDir, mirrors: [sharedModelsDir], from: stick }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputMissingError);
    expect((err as InputMissingError).exitCode).toBe(66);
    expect((err as Error).message).toContain(`mn04_as.onnx.data, class_labels_indices.csv not found in ${stick}`);
    expect(mn04List()).toEqual([]);
  });

  it('a missing path is 66; a file that is not an archive is 65', async () => {
    const missing = path.join(tmp, 'no-stick');
    const err = await new ModelInstaller().install(mn04(), { dataDir, mirrors: [], from: missing }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputMissingError);
    expect((err as Error).message).toContain(`${missing}: not found`);
    const notArchive = path.join(tmp, 'notes.txt');
    fs.writeFileSync(notArchive, 'x');
    const err2 = await new ModelInstaller().install(mn04(), { dataDir, mirrors: [], from: notArchive }).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(DataError);
    expect((err2 as Error).message).toMatch(/not a folder or a \.tar\/\.tar\.gz\/\.tgz archive/);
  });

  it('a wrong sha256 on the stick is 65, nothing installed', async () => {
    const stick = path.join(tmp, 'stick');
    fs.cpSync(path.join(sharedModelsDir, MN04), path.join(stick, MN04), { recursive: true });
    const weights = path.join(stick, MN04, 'mn04_as.onnx.data');
    fs.chmodSync(weights, 0o644);
    fs.appendFileSync(weights, 'x');
    const err = await new ModelInstaller().install(mn04(), { dataDir, mirrors: [], from: stick }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).exitCode).toBe(65);
    expect((err as Error).message).toMatch(/mn04_as\.onnx\.data from .*stick.*larger than the expected 3962880 bytes/);
    expect(mn04List()).not.toContain(MARKER_FILE);
    expect(mn04List()).not.toContain('mn04_as.onnx.data');
  });

  it('a .tar.gz (files under <name>/) is unpacked beside the model and removed afterwards', async () => {
    const archive = path.join(tmp, 'efficientat-mn04-v1.tar.gz');
    execFileSync('tar', ['-czf', archive, '-C', sharedModelsDir, MN04]);
    const r = await new ModelInstaller().install(mn04(), { dataDir, mirrors: [], from: archive });
    expect(r.files.every((f) => f.action === 'copied' && f.source?.includes(`${MN04}/${f.name}`))).toBe(true);
    await expect(new ModelInstaller().verify(mn04(), dataDir)).resolves.toMatchObject({ ok: true });
    expect(mn04List().filter((f) => f.startsWith('.'))).toEqual([]);
    const bad = path.join(tmp, 'broken.tgz');
    fs.writeFileSync(bad, 'not gzip at all');
    fs.rmSync(mn04Dest(), { recursive: true });
    const err = await new ModelInstaller().install(mn04(), { dataDir, mirrors: [], from: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(/broken\.tgz: cannot unpack the archive/);
    expect(mn04List()).toEqual([]);
  });

  it('the copy bundled in the package is used when there is no mirror, before any download', async () => {
    server = await serveModels();
    const r = await new ModelInstaller({ download: quick }).install(mn04(), { dataDir, mirrors: [], bundled: sharedModelsDir, urlBase: server.base });
    expect(r.files.every((f) => f.action === 'copied')).toBe(true);
    expect(server.requests).toEqual([]);
  });
});

describe('earshot models install (built CLI)', () => {
  it('downloads with EARSHOT_MODEL_URL; a 404 exits 69 naming the URL; --from a missing path exits 66', async () => {
    server = await serveModels();
    const env = { EARSHOT_STORAGE_DATA_DIR: dataDir, EARSHOT_MODEL_URL: server.base };
    const ok = await runEarshotAsync(['models', 'install'], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`mn04_as.onnx.data: downloaded from ${server.base}/${MN04}/mn04_as.onnx.data, sha256 ok`);
    expect((await runEarshotAsync(['models', 'verify'], { env })).code).toBe(0);

    const gone = await runEarshotAsync(['models', 'install'], { env: { EARSHOT_STORAGE_DATA_DIR: path.join(tmp, 'd2'), EARSHOT_MODEL_URL: `${server.base}/v0` } });
    expect(gone.code).toBe(69);
    expect(gone.stderr).toContain(`${server.base}/v0/${MN04}/mn04_as.onnx failed: HTTP 404`);

    const noStick = await runEarshotAsync(['models', 'install', '--from', path.join(tmp, 'usb')], { env: { EARSHOT_STORAGE_DATA_DIR: path.join(tmp, 'd3') } });
    expect(noStick.code).toBe(66);
    expect(noStick.stderr).toContain(`${path.join(tmp, 'usb')}: not found`);
  });
});
