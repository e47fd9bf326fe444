/**
 * `earshot features`: the compiled CLI on every golden WAV must reproduce the torch log-mel,
 * and its failures must map to the documented exit codes.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliContext } from '../../agent/cli/context.js';
import { registerFeaturesCommand, type FeaturesSidecar } from '../../agent/cli/features.js';
import { DataError, InputMissingError, UsageError } from '../../agent/errors.js';
import { MN04_FRONTEND } from '../../dsp/frontend-params.js';
import { cliPath, frontendFixturesDir } from '../helpers/paths.js';

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
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-features-'));
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

  it('exit codes: missing input 66, corrupt audio 65, --embeddings and missing --out 2', () => {
    const missing = earshot('features', 'nope.wav', '--out', 'x.f32');
    expect(missing.status).toBe(66);
    expect(missing.stderr).toMatch(/nope\.wav: no such file/);
    fs.writeFileSync(path.join(tmp, 'bad.wav'), Buffer.from('RIFF\x10\0\0\0WAVEfmt '));
    const bad = earshot('features', 'bad.wav', '--out', 'x.f32');
    expect(bad.status).toBe(65);
    expect(bad.stderr).toMatch(/bad\.wav: truncated header/);
    const emb = earshot('features', path.join(frontendFixturesDir, fixtures[0].wav), '--out', 'x.f32', '--embeddings');
    expect(emb.status).toBe(2);
    expect(emb.stderr).toMatch(/needs the model runner \(not installed yet\)/);
    const noOut = earshot('features', path.join(frontendFixturesDir, fixtures[0].wav));
    expect(noOut.status).toBe(2);
    expect(noOut.stderr).toMatch(/--out/);
    expect(fs.existsSync(path.join(tmp, 'x.f32'))).toBe(false);
  });
});

describe('features command (in process)', () => {
  function run(args: string[]): { promise: Promise<unknown>; out: string[]; err: string[] } {
    const out: string[] = [];
    const err: string[] = [];
    const ctx: CliContext = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), env: {}, cwd: tmp, isTTY: false };
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
    await expect(run(['features', 'missing.wav', '--out', 'a', '--embeddings']).promise).rejects.toThrow(/not installed yet/);
    fs.writeFileSync(path.join(tmp, 'zero.wav'), '');
    await expect(run(['features', 'zero.wav', '--out', 'a.f32']).promise).rejects.toBeInstanceOf(DataError);
  });
});
