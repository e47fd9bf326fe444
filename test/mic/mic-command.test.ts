/**
 * `earshot mic test` end to end with stand-in recorders (scripts writing raw s16le PCM to stdout
 * as arecord would), through the configured source (audio.recorderCommand).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runEarshot } from '../helpers/cli.js';
import { devCorpusDir, sharedModelsDir } from '../helpers/paths.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-mic-'));
const env = { EARSHOT_MODEL_MIRROR: sharedModelsDir };

/** A stand-in recorder: a 1 kHz sine at `peakDbfs` (+ DC), 32 kHz mono, 3 s, then it waits like arecord. */
const sineRecorder = path.join(dir, 'sine.cjs');
fs.writeFileSync(
  sineRecorder,
  `const rate = 32000, amp = 10 ** (Number(process.argv[2]) / 20) * 32768, dc = Number(process.argv[3] || 0) * 32768;
const b = Buffer.alloc(rate * 3 * 2);
for (let i = 0; i < rate * 3; i++) b.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(amp * Math.sin(2 * Math.PI * 1000 * i / rate) + dc))), 2 * i);
process.stdout.write(b, () => setTimeout(() => {}, 60000));
`,
);

function config(name: string, audio: string): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, `storage:\n  dataDir: ${path.join(dir, 'data')}\n${audio}`);
  return file;
}

const recorder = (cmd: string, rate = 32000) => `audio:\n  source: alsa\n  sampleRate: ${rate}\n  recorderCommand: ${JSON.stringify(cmd)}\n`;

describe('earshot mic test', () => {
  beforeAll(() => {
    const r = runEarshot(['-c', config('install', ''), 'models', 'install'], { env });
    expect(r.code, r.stderr).toBe(0);
  });

  it('measures a sine at -12 dBFS from the recorder: the level numbers in --json and the plain summary', () => {
    const cfg = config('sine', recorder(`exec ${process.execPath} ${sineRecorder} -12`));
    const j = runEarshot(['-c', cfg, 'mic', 'test', '--seconds', '2', '--json']);
    expect(j.code, j.stderr).toBe(0);
    const out = JSON.parse(j.stdout) as { heardSec: number; sampleRate: number; level: Record<string, number> };
    expect(out.sampleRate).toBe(32000);
    expect(out.heardSec).toBe(2);
    expect(out.level.samples).toBe(64000);
    expect(out.level.peakDbfs).toBeCloseTo(-12, 1);
    expect(out.level.rmsDbfs).toBeCloseTo(-15.01, 1);
    expect(out.level.clipped).toBe(0);
    const t = runEarshot(['-c', cfg, 'mic', 'test', '--seconds', '1']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^peak +-12\.0 dBFS$/m);
    expect(t.stdout).toMatch(/^clipped +0 samples$/m);
    // Not a terminal: no live meter drawn.
    expect(t.stderr).not.toContain('\r');
  });

  it('a clipped input with a DC offset is reported as such', () => {
    const r = runEarshot(['-c', config('clip', recorder(`exec ${process.execPath} ${sineRecorder} 3`)), 'mic', 'test', '--seconds', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^warning +clipping: \d{4,} samples at full scale/m);
    const d = runEarshot(['-c', config('dc', recorder(`exec ${process.execPath} ${sineRecorder} -20 0.05`)), 'mic', 'test', '--seconds', '1']);
    expect(d.stdout).toMatch(/^DC offset +5\.00 % of full scale$/m);
    expect(d.stdout).toMatch(/^warning +DC offset 5\.0 %/m);
  });

  it('a recorder that fails ("Unknown PCM default") is exit 69 with its own stderr line, at once', () => {
    const failing = 'echo "ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM default" >&2; echo "arecord: main:850: audio open error: No such file or directory" >&2; exit 1';
    const r = runEarshot(['-c', config('fail', recorder(failing)), 'mic', 'test', '--seconds', '5']);
    expect(r.code).toBe(69);
    expect(r.stderr).toContain('Unknown PCM default');
    expect(r.stderr).toContain('arecord: main:850: audio open error');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--detect runs detection on what was heard: a dev gunshot recording played to the "microphone" is a gunshot', () => {
    const wav = path.join(devCorpusDir, 'gunshot', 'belize_gunshot_0.wav');
    // The file is 8 kHz mono 16-bit with a 44-byte header: its samples are what arecord would write.
    const player = path.join(dir, 'play.cjs');
    fs.writeFileSync(player, `process.stdout.write(require('fs').readFileSync(process.argv[2]).subarray(44), () => setTimeout(() => {}, 60000));\n`);
    const cfg = config('gun', recorder(`exec ${process.execPath} ${player} ${wav}`, 8000));
    const r = runEarshot(['-c', cfg, 'mic', 'test', '--seconds', '4', '--detect', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { events: { label: string; confidence: number }[] };
    expect(out.events.map((e) => e.label)).toContain('gunshot');
    const t = runEarshot(['-c', cfg, 'mic', 'test', '--seconds', '4', '--detect'], { env });
    expect(t.stdout).toMatch(/^ +\d\d:\d\d\.\d–\d\d:\d\d\.\d +gunshot 0\.\d\d/m);
  });
});
