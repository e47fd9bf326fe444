/**
 * The release tarball as a Pi gets it: built by scripts/release.ts (what `npm run release` runs
 * after `npm run build`; `npm test` builds first), installed with `npm install -g --prefix <tmp>`,
 * then used only through `<tmp>/bin/earshot`, outside the checkout.
 *
 * In CI the install runs with --ignore-scripts and the checkout's own better_sqlite3.node (same
 * version, same machine) is copied in: compiling better-sqlite3 again takes 75–150 s on two shared
 * cores, and that build is better-sqlite3's, already exercised by `npm ci` here and on arm64 by
 * scripts/arm64-check.sh. Everything that is ours — the files in the tarball, the launcher, `bin`,
 * the pinned dependency tree, models install/verify, analyze — is the real thing.
 * EARSHOT_RELEASE_FULL_INSTALL=1 runs the install scripts instead (slow).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, devCorpusDir, repoRoot, sharedModelsDir } from '../helpers/paths.js';

const MN04 = 'efficientat-mn04';
const RECORDING = path.join(devCorpusDir, 'gunshot', 'belize_gunshot_0.wav');
const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

let tmp: string;
let withModel: string;
let plain: string;
let prefix: string;

/** A clean environment: no EARSHOT_* from the developer's shell, node on PATH as on a Pi. */
function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EARSHOT_') && !k.startsWith('npm_')) out[k] = v;
  out.PATH = `${path.dirname(process.execPath)}:${out.PATH ?? ''}`;
  return { ...out, ...extra };
}

function earshot(args: string[], extra: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(path.join(prefix, 'bin', 'earshot'), args, { cwd: tmp, env: env(extra), encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function tarList(tarball: string): string[] {
  return execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').sort();
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-release-'));
  const out = path.join(tmp, 'out');
  const release = (args: string[]) =>
    execFileSync(process.execPath, [path.join(repoRoot, 'build', 'scripts', 'release.js'), '--out', out, '--mirror', sharedModelsDir, ...args], { cwd: repoRoot, env: env(), encoding: 'utf8' }).trim();
  plain = release([]);
  withModel = release(['--with-model']);

  prefix = path.join(tmp, 'prefix');
  const full = process.env.EARSHOT_RELEASE_FULL_INSTALL === '1';
  execFileSync('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', ...(full ? [] : ['--ignore-scripts']), withModel], {
    cwd: tmp,
    env: env({ ONNXRUNTIME_NODE_INSTALL: 'skip' }),
    stdio: 'pipe',
  });
  if (!full) {
    const installed = path.join(prefix, 'lib', 'node_modules', 'earshot', 'node_modules', 'better-sqlite3');
    const ours = path.join(repoRoot, 'node_modules', 'better-sqlite3');
    const ver = (dir: string) => (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    // The shrinkwrap pins the checkout's version, so the checkout's binary fits.
    expect(ver(installed)).toBe(ver(ours));
    fs.mkdirSync(path.join(installed, 'build', 'Release'), { recursive: true });
    fs.copyFileSync(path.join(ours, 'build', 'Release', 'better_sqlite3.node'), path.join(installed, 'build', 'Release', 'better_sqlite3.node'));
  }
}, 240_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('release tarball', () => {
  it('holds the runtime, manifests, default config, launcher and lock file; no sources, tests or dev scripts; weights only with --with-model', () => {
    const files = tarList(plain);
    expect(path.basename(plain)).toBe(`earshot-${version}.tgz`);
    for (const f of ['package/build/agent/cli.js', `package/models/${MN04}/manifest.json`, 'package/models/classmap.yaml', 'package/models/heads/heads.json', 'package/config/default.yaml', 'package/scripts/earshot', 'package/npm-shrinkwrap.json', 'package/package.json']) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => f.endsWith('.ts') || f.startsWith('package/test/') || f.startsWith('package/build/scripts/') || f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => /\.onnx(\.data)?$/.test(f))).toEqual([]);
    const extra = tarList(withModel).filter((f) => !files.includes(f));
    expect(extra).toEqual([`package/models/${MN04}/class_labels_indices.csv`, `package/models/${MN04}/mn04_as.onnx`, `package/models/${MN04}/mn04_as.onnx.data`]);
    const pkg = JSON.parse(execFileSync('tar', ['-xzOf', plain, 'package/package.json'], { encoding: 'utf8' })) as { scripts?: unknown; bin: Record<string, string> };
    expect(pkg.scripts).toBeUndefined();
    expect(pkg.bin).toEqual({ earshot: 'scripts/earshot' });
  });

  it('installed with npm install -g: --version, models verify green after an offline models install, analyze as in the checkout', () => {
    const v = earshot(['--version']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(version);
    // Dev dependencies stay out of a device install.
    expect(fs.existsSync(path.join(prefix, 'lib', 'node_modules', 'earshot', 'node_modules', 'vitest'))).toBe(false);

    const dataEnv = { EARSHOT_STORAGE_DATA_DIR: path.join(tmp, 'data') };
    expect(earshot(['models', 'verify'], dataEnv).code).toBe(69);
    const inst = earshot(['models', 'install'], dataEnv);
    expect(inst.code, inst.stderr).toBe(0);
    expect(inst.stdout).toContain(`mn04_as.onnx.data: copied from ${path.join(prefix, 'lib', 'node_modules', 'earshot', 'models', MN04, 'mn04_as.onnx.data')}, sha256 ok`);
    const ver = earshot(['models', 'verify'], dataEnv);
    expect(ver.code, ver.stderr).toBe(0);
    expect(ver.stdout).toMatch(/all 3 files match the manifest/);

    const pick = (out: string) =>
      out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { label: string; confidence: number; startSec: number; endSec: number })
        .map(({ label, confidence, startSec, endSec }) => ({ label, confidence, startSec, endSec }));
    const a = earshot(['analyze', '--format', 'json', RECORDING], dataEnv);
    expect(a.code, a.stderr).toBe(0);
    const events = pick(a.stdout);
    expect(events.map((e) => e.label)).toContain('gunshot');
    // The same recording through the checkout's CLI, its model installed from the mirror.
    const refEnv = env({ EARSHOT_STORAGE_DATA_DIR: path.join(tmp, 'ref-data'), EARSHOT_MODEL_MIRROR: sharedModelsDir });
    expect(spawnSync(process.execPath, [cliPath, 'models', 'install'], { env: refEnv }).status).toBe(0);
    const ref2 = spawnSync(process.execPath, [cliPath, 'analyze', '--format', 'json', RECORDING], { env: refEnv, encoding: 'utf8' });
    expect(ref2.status, ref2.stderr).toBe(0);
    expect(events).toEqual(pick(ref2.stdout));
  });

  it('the tarball without weights: models install --from the --with-model tarball (a USB stick) works', () => {
    const dataEnv = { EARSHOT_STORAGE_DATA_DIR: path.join(tmp, 'data-usb') };
    const inst = earshot(['models', 'install', '--from', withModel], dataEnv);
    expect(inst.code, inst.stderr).toBe(0);
    expect(inst.stdout).toMatch(/mn04_as\.onnx\.data: copied from .*package\/models\/efficientat-mn04\/mn04_as\.onnx\.data, sha256 ok/);
    expect(earshot(['models', 'verify'], dataEnv).code).toBe(0);
  });
});
