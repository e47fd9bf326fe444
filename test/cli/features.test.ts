/**
 * `earshot features`: the compiled CLI on every golden WAV must reproduce the torch log-mel,
 * `--embeddings` must write one finite 384-d embedding per detection window (with the installed
 * model), and its failures must map to the documented exit codes.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliContext } from '../../agent/cli/context.js';
import { registerFeaturesCommand, type FeaturesSidecar } from '../../agent/cli/features.js';
import { planWindows } from '../../agent/detect/windows.js';
import { DataError, InputMissingError, UnavailableError, UsageError } from '../../agent/errors.js';
import { MN04_FRONTEND } from '../../dsp/frontend-params.js';
import { ModelInstaller, parseMirrorList } from '../../models/installer.js';
import { getManifest } from '../../models/registry.js';
import { runEarshot } from '../helpers/cli.js';
import { cliPath, frontendFixturesDir, sharedModelsDir } from '../helpers/paths.js';

interface FixtureMeta {
  wav: string;
  mel: string;
  shape: [number, number];
}

const fixtures = fs
  .readdirSync(frontendFixturesDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(fs.readFileSync(path.join(frontendFixturesDir, f), 'utf8')) as FixtureMeta);

function readF32(file: string): Float32Array {
  const buf = fs.readFileSync(file);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return Float32Array.from({ length: buf.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

let tmp = '';
/** A configuration whose data folder has no model installed. */
let noModelConfig = '';
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-features-'));
  noModelConfig = path.join(tmp, 'no-model.yaml');
  fs.writeFileSync(noModelConfig, `device:\n  id: test-rig\nstorage:\n  dataDir: ${path.join(tmp, 'empty-data')}\n`);
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function earshot(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', cwd: tmp });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('earshot features (compiled CLI)', () => {
  for (const fx of fixtures) {
    it(`reproduces the golden log-mel of ${fx.wav}`, () => {
      const out = path.join(tmp, `${fx.wav}.mel.f32`);
      const r = earshot('features', path.join(frontendFixturesDir, fx.wav), '--out', out);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/128 × \d+ log-mel frames/);
      const sidecar = JSON.parse(fs.readFileSync(`${out}.json`, 'utf8')) as FeaturesSidecar;
      expect(sidecar.shape).toEqual(fx.shape);
      expect(sidecar.layout).toBe('float32 little-endian, row-major [mel][frame]');
      expect(sidecar.sampleRate).toBe(32000);
      expect(sidecar.hop).toBe(320);
      expect(sidecar.source.file).toBe(path.join(frontendFixturesDir, fx.wav));
      expect(sidecar.frontend).toEqual(MN04_FRONTEND);
      const got = readF32(out);
      const want = readF32(path.join(frontendFixturesDir, fx.mel));
      expect(got.length).toBe(want.length);
      expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-3);
    });
  }

  it('exit codes: missing input 66, corrupt audio 65, --embeddings without the model 69, missing --out 2', () => {
    const missing = earshot('features', 'nope.wav', '--out', 'x.f32');
    expect(missing.status).toBe(66);
    expect(missing.stderr).toMatch(/nope\.wav: no such file/);
    fs.writeFileSync(path.join(tmp, 'bad.wav'), Buffer.from('RIFF\x10\0\0\0WAVEfmt '));
    const bad = earshot('features', 'bad.wav', '--out', 'x.f32');
    expect(bad.status).toBe(65);
    expect(bad.stderr).toMatch(/bad\.wav: truncated header/);
    const emb = earshot('-c', noModelConfig, 'features', path.join(frontendFixturesDir, fixtures[0].wav), '--out', 'x.f32', '--embeddings');
    expect(emb.status).toBe(69);
    expect(emb.stderr).toMatch(/efficientat-mn04/);
    const noOut = earshot('features', path.join(frontendFixturesDir, fixtures[0].wav));
    expect(noOut.status).toBe(2);
    expect(noOut.stderr).toMatch(/--out/);
    expect(fs.existsSync(path.join(tmp, 'x.f32'))).toBe(false);
    expect(fs.existsSync(path.join(tmp, 'x.f32.embeddings.f32'))).toBe(false);
  });
});

describe('earshot features --embeddings (compiled CLI, installed model)', () => {
  let config = '';
  beforeAll(async () => {
    const dataDir = path.join(tmp, 'data');
    await new ModelInstaller().install(getManifest('efficientat-mn04').manifest, { dataDir, mirrors: parseMirrorList(sharedModelsDir, tmp) });
    config = path.join(tmp, 'config.yaml');
    fs.writeFileSync(config, `device:\n  id: test-rig\nstorage:\n  dataDir: ${dataDir}\ndetection:\n  threads: 1\n`);
  });

  it.each([
    // 11 s: windows of 5 s every 2.5 s, and one more aligned to the end for the last second.
    ['freesound_dog_32k.wav', [0, 2.5, 5, 6]],
    // 4 s, shorter than a window: one window of all of it.
    ['belize_gunshot_32k.wav', [0]],
  ])('%s: one finite 384-d embedding per detection window, float32 [window][dim], described in the sidecar', (wav, startsSec) => {
    const out = path.join(tmp, `${wav}.f32`);
    const r = runEarshot(['-c', config, 'features', path.join(frontendFixturesDir, wav), '--out', out, '--embeddings'], { cwd: tmp });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const sidecar = JSON.parse(fs.readFileSync(`${out}.json`, 'utf8')) as FeaturesSidecar;
    // The log-mel is written as without --embeddings.
    expect(sidecar.layout).toBe('float32 little-endian, row-major [mel][frame]');
    expect(fs.statSync(out).size).toBe(sidecar.shape[0] * sidecar.shape[1] * 4);
    const plan = planWindows(sidecar.shape[1], 500, 250); // detection.windowSec 5, hopSec 2.5 at 100 frames/s
    const emb = sidecar.embeddings!;
    expect(emb).toMatchObject({
      file: `${out}.embeddings.f32`,
      shape: [plan.starts.length, 384],
      layout: 'float32 little-endian, row-major [window][dim]',
      dtype: 'float32',
      windowSec: 5,
      hopSec: 2.5,
      windowStartsSec: startsSec,
      model: { name: 'efficientat-mn04' },
    });
    expect(emb.windowStartsSec).toEqual(plan.starts.map((s) => s / 100));
    expect(r.stdout).toContain(`${plan.starts.length} × 384 embeddings`);
    const data = readF32(emb.file);
    expect(data.length).toBe(plan.starts.length * 384);
    expect(data.every(Number.isFinite)).toBe(true);
    // Real embeddings, not a zero fill: every row has spread.
    for (let w = 0; w < plan.starts.length; w++) {
      const row = data.subarray(w * 384, (w + 1) * 384);
      expect(Math.max(...row) - Math.min(...row)).toBeGreaterThan(1e-3);
    }
  });
});

describe('features command (in process)', () => {
  function run(args: string[], env: NodeJS.ProcessEnv = {}): { promise: Promise<unknown>; out: string[]; err: string[] } {
    const out: string[] = [];
    const err: string[] = [];
    const ctx: CliContext = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), env, cwd: tmp, isTTY: false };
    const program = new Command('earshot').exitOverride();
    registerFeaturesCommand(program, ctx);
    return { promise: program.parseAsync(args, { from: 'user' }), out, err };
  }

  it('resamples and mixes down: a stereo 48 kHz WAV gives 100 frames/s at 32 kHz', async () => {
    const { encodeWav } = await import('../../dsp/wav.js');
    const n = 48000;
    const l = Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin(i * 0.05));
    const r = Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin(i * 0.07));
    fs.writeFileSync(path.join(tmp, 'st.wav'), encodeWav([l, r], 48000, { encoding: 'pcm', bits: 24 }));
    const res = run(['features', 'st.wav', '--out', 'st.f32']);
    await res.promise;
    const sidecar = JSON.parse(fs.readFileSync(path.join(tmp, 'st.f32.json'), 'utf8')) as FeaturesSidecar;
    expect(sidecar.source.sampleRate).toBe(48000);
    expect(sidecar.source.channels).toBe(2);
    expect(sidecar.shape).toEqual([128, 1 + Math.floor((32000 - 1) / 320)]);
    expect(fs.statSync(path.join(tmp, 'st.f32')).size).toBe(128 * sidecar.shape[1] * 4);
    expect(res.out.join('')).toMatch(/resampled from 48000 Hz, 2 channels mixed to mono/);
  });

  it('throws the typed errors the CLI maps to exit codes', async () => {
    await expect(run(['features', 'missing.wav', '--out', 'a.f32']).promise).rejects.toBeInstanceOf(InputMissingError);
    await expect(run(['features', 'missing.wav']).promise).rejects.toBeInstanceOf(UsageError);
    const installedNowhere = run(['features', path.join(frontendFixturesDir, fixtures[0].wav), '--out', 'a', '--embeddings'], { EARSHOT_CONFIG: noModelConfig });
    await expect(installedNowhere.promise).rejects.toBeInstanceOf(UnavailableError);
    expect(fs.existsSync(path.join(tmp, 'a'))).toBe(false);
    fs.writeFileSync(path.join(tmp, 'zero.wav'), '');
    await expect(run(['features', 'zero.wav', '--out', 'a.f32']).promise).rejects.toBeInstanceOf(DataError);
  });
});
