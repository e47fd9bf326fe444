import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keepClipPolicy } from '../../agent/store/clip-policy.js';
import { ClipWriter } from '../../agent/store/clip-writer.js';
import { probeFlacEncoder, type FlacEncoder } from '../../agent/store/flac-encoder.js';
import { FakeClock, T0, makeTempDir, removeTempDir } from './helpers.js';

const has = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
const HAS_FLAC = has('flac');
const HAS_SOX = has('sox');

function noiseSamples(n: number): Int16Array {
  const out = new Int16Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = ((x >>> 16) & 0xffff) - 32768 + Math.round(3000 * Math.sin(i / 10));
  }
  return out;
}

/** Decodes a FLAC file back to raw little-endian Int16 with the flac tool. */
function decodeFlac(file: string): Int16Array {
  const raw = execFileSync('flac', ['-d', '-c', '-s', '--force-raw-format', '--endian=little', '--sign=signed', file]);
  return new Int16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('ClipWriter', () => {
  let dir: string;
  const clock = new FakeClock(T0);
  beforeEach(() => (dir = makeTempDir('earshot-clips-')));
  afterEach(() => removeTempDir(dir));

  it('writes WAV when asked, into a folder per UTC day, with the sha256 of the file', async () => {
    const writer = new ClipWriter({ dir, format: 'wav', keepClip: () => true, clock: clock.now });
    const samples = noiseSamples(16_000);
    const clip = (await writer.write({ eventId: '0195-abc', label: 'gunshot', samples, sampleRateHz: 16_000 }))!;
    expect(clip.format).toBe('wav');
    expect(clip.path).toBe(path.join(dir, '2026-03-01', '0195-abc-gunshot.wav'));
    expect(clip.durationMs).toBe(1000);
    expect(clip.bytes).toBe(44 + 32_000);
    expect(clip.sha256).toBe(sha256(clip.path));
    const bytes = fs.readFileSync(clip.path);
    expect(new Int16Array(bytes.buffer.slice(bytes.byteOffset + 44, bytes.byteOffset + bytes.length))).toEqual(samples);
    expect(fs.readdirSync(path.dirname(clip.path))).toEqual(['0195-abc-gunshot.wav']); // no temp file left
  });

  // sox needs flac too here, but only to decode the result for the comparison.
  it.for([
    ['flac', HAS_FLAC],
    ['sox', HAS_SOX && HAS_FLAC],
  ] as const)('writes lossless FLAC through %s when it is installed', async ([name, available], ctx) => {
    if (!available) ctx.skip();
    const encoder = await probeFlacEncoder([name]);
    expect(encoder?.name).toBe(name);
    const writer = new ClipWriter({ dir, format: 'flac', keepClip: () => true, clock: clock.now, findEncoder: async () => encoder });
    await writer.start();
    expect(writer.format).toBe('flac');
    const samples = noiseSamples(32_000);
    const clip = (await writer.write({ eventId: 'e1', label: 'chainsaw', samples, sampleRateHz: 32_000 }))!;
    expect(clip).toMatchObject({ format: 'flac', durationMs: 1000 });
    expect(clip.path.endsWith('e1-chainsaw.flac')).toBe(true);
    expect(fs.readFileSync(clip.path).subarray(0, 4).toString('latin1')).toBe('fLaC');
    expect(clip.sha256).toBe(sha256(clip.path));
    expect(clip.bytes).toBe(fs.statSync(clip.path).size);
    expect(decodeFlac(clip.path)).toEqual(samples);
  });

  it('checks for an encoder once and falls back to WAV without one', async () => {
    let probes = 0;
    const writer = new ClipWriter({ dir, format: 'flac', keepClip: () => true, findEncoder: async () => (probes++, undefined) });
    const a = await writer.write({ eventId: 'a', label: 'dog', samples: noiseSamples(100), sampleRateHz: 8000 });
    const b = await writer.write({ eventId: 'b', label: 'dog', samples: noiseSamples(100), sampleRateHz: 8000 });
    expect([a?.format, b?.format]).toEqual(['wav', 'wav']);
    expect(probes).toBe(1);
  });

  it('falls back to WAV when the encoder fails on a clip', async () => {
    const broken: FlacEncoder = { name: 'flac', encode: async (_wav, out) => {
      fs.writeFileSync(out, 'partial');
      throw new Error('flac failed (exit 1): boom');
    } };
    const writer = new ClipWriter({ dir, format: 'flac', keepClip: () => true, clock: clock.now, findEncoder: async () => broken });
    const clip = await writer.write({ eventId: 'x', label: 'dog', samples: noiseSamples(100), sampleRateHz: 8000 });
    expect(clip?.format).toBe('wav');
    expect(fs.readdirSync(path.join(dir, '2026-03-01'))).toEqual(['x-dog.wav']);
  });

  it('removes temp files a crash left behind when it starts', async () => {
    const day = path.join(dir, '2026-02-28');
    fs.mkdirSync(day, { recursive: true });
    fs.writeFileSync(path.join(day, '.e9-dog.wav.tmp'), 'half a clip');
    fs.writeFileSync(path.join(day, 'e8-dog.wav'), 'a whole clip');
    await new ClipWriter({ dir, format: 'wav', keepClip: () => true }).start();
    expect(fs.readdirSync(day)).toEqual(['e8-dog.wav']);
  });

  it('keeps no clip for labels switched off; human_voice is off unless configured on', async () => {
    const policy = keepClipPolicy({ dog: { keepClips: false }, chainsaw: {} });
    expect(['gunshot', 'chainsaw', 'dog', 'human_voice'].map(policy)).toEqual([true, true, false, false]);
    expect(keepClipPolicy({ human_voice: { keepClips: true } })('human_voice')).toBe(true);
    const writer = new ClipWriter({ dir, format: 'wav', keepClip: policy });
    expect(await writer.write({ eventId: 'v', label: 'human_voice', samples: noiseSamples(100), sampleRateHz: 8000 })).toBeUndefined();
    expect(fs.readdirSync(dir, { recursive: true })).toEqual([]);
  });
});
