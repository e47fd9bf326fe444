import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudioFile } from '../../agent/audio/decode-file.js';
import { loadAudioAtRate, loadModelRateAudio } from '../../agent/audio/load-model-rate.js';
import { DataError, InputMissingError, UnavailableError, UsageError } from '../../agent/errors.js';
import { decodeWav } from '../../dsp/wav.js';
import { devCorpusDir, frontendFixturesDir } from '../helpers/paths.js';

function has(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const haveSox = has('sox');
const fixture = path.join(frontendFixturesDir, 'belize_gunshot_32k.wav');
let tmp = '';

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-decode-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Element-wise identity (faster than toEqual on long arrays). */
function identical(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('decodeAudioFile', () => {
  it('parses WAV in-process', async () => {
    const a = await decodeAudioFile(fixture);
    const w = decodeWav(fs.readFileSync(fixture));
    expect(a.decoder).toBe('wav');
    expect(a.sampleRate).toBe(32000);
    expect(identical(a.mono, w.mono)).toBe(true);
    expect(a.durationSec).toBe(w.frames / 32000);
  });

  it('a missing file is InputMissingError (exit 66), a folder a UsageError', async () => {
    const e = await rejection(decodeAudioFile(path.join(tmp, 'nope.flac')));
    expect(e).toBeInstanceOf(InputMissingError);
    expect(e.message).toContain('nope.flac');
    expect((e as InputMissingError).exitCode).toBe(66);
    expect(await rejection(decodeAudioFile(tmp))).toBeInstanceOf(UsageError);
  });

  it('a corrupt WAV is a DataError naming the file (exit 65)', async () => {
    const bad = path.join(tmp, 'bad.wav');
    fs.writeFileSync(bad, fs.readFileSync(fixture).subarray(0, 30));
    const e = await rejection(decodeAudioFile(bad));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toContain('bad.wav');
    expect((e as DataError).exitCode).toBe(65);
  });

  it('without sox or ffmpeg, a FLAC fails with UnavailableError saying what to install', async () => {
    const flac = path.join(tmp, 'x.flac');
    fs.writeFileSync(flac, Buffer.from('fLaC\0\0\0\x22not really'));
    const e = await rejection(decodeAudioFile(flac, { tools: { sox: path.join(tmp, 'no-sox'), ffmpeg: path.join(tmp, 'no-ffmpeg') } }));
    expect(e).toBeInstanceOf(UnavailableError);
    expect(e.message).toMatch(/neither.*installed/);
    expect(e.message).toMatch(/apt install sox/);
    expect(e.message).toMatch(/ffmpeg/);
  });

  it.skipIf(!haveSox)('decodes FLAC through sox, sample-exact against the WAV it was made from', async () => {
    const flac = path.join(tmp, 'gunshot.flac');
    execFileSync('sox', [fixture, flac]);
    const a = await decodeAudioFile(flac);
    const w = decodeWav(fs.readFileSync(fixture));
    expect(a.decoder).toBe('sox');
    expect(a.sampleRate).toBe(32000);
    expect(a.frames).toBe(w.frames);
    expect(a.truncated).toBe(false);
    let maxDiff = 0;
    for (let i = 0; i < w.frames; i++) maxDiff = Math.max(maxDiff, Math.abs(a.mono[i] - w.mono[i]));
    expect(maxDiff).toBe(0);
  });

  it.skipIf(!haveSox)('keeps the channels and the rate of a stereo 44.1 kHz OGG', async () => {
    const ogg = path.join(tmp, 'stereo.ogg');
    execFileSync('sox', ['-n', '-r', '44100', '-c', '2', ogg, 'synth', '0.5', 'sine', '1000', 'sine', '2000']);
    const a = await decodeAudioFile(ogg);
    expect(a.channels).toBe(2);
    expect(a.sampleRate).toBe(44100);
    expect(Math.abs(a.durationSec - 0.5)).toBeLessThan(0.01);
    expect(identical(a.channelData[0], a.channelData[1])).toBe(false);
  });

  it.skipIf(!haveSox)('hands a WAV codec it does not parse (µ-law) to sox', async () => {
    const ulaw = path.join(tmp, 'ulaw.wav');
    execFileSync('sox', [fixture, '-e', 'u-law', ulaw]);
    const a = await decodeAudioFile(ulaw);
    expect(a.decoder).toBe('sox');
    expect(a.frames).toBe(decodeWav(fs.readFileSync(fixture)).frames);
  });

  it.skipIf(!haveSox)('a corrupt FLAC is a DataError quoting the decoder', async () => {
    const bad = path.join(tmp, 'bad.flac');
    fs.writeFileSync(bad, Buffer.concat([Buffer.from('fLaC'), Buffer.alloc(200, 7)]));
    const e = await rejection(decodeAudioFile(bad));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/bad\.flac.*sox/);
  });

  it.skipIf(!haveSox)('loads a real 16 kHz FLAC from the corpus at the model rate', async () => {
    const dir = path.join(devCorpusDir, 'speech');
    const flac = fs.readdirSync(dir).find((f) => f.endsWith('.flac'));
    expect(flac).toBeDefined();
    const file = path.join(dir, flac as string);
    const r = await loadAudioAtRate(file, 32000);
    expect(r.source.sampleRate).toBe(16000);
    expect(r.samples.length).toBe(r.source.frames * 2);
    const samples = await loadModelRateAudio(file, 32000);
    expect(identical(samples, r.samples)).toBe(true);
  });
});
