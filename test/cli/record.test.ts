/**
 * `earshot record` end to end: the compiled CLI with a stand-in recorder (a script that writes raw
 * s16le PCM from a recording to stdout, as arecord would, then exits), back-to-back and on a short
 * schedule; a recorder that dies mid-snippet, one that never works, SIGTERM, and bad options.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelRateAudio } from '../../agent/audio/load-model-rate.js';
import { snippetSchedule } from '../../agent/record/snippet-schedule.js';
import { float32ToInt16 } from '../../dsp/pcm.js';
import { decodeWav } from '../../dsp/wav.js';
import { runEarshot } from '../helpers/cli.js';
import { cliPath, devCorpusDir } from '../helpers/paths.js';

const RATE = 16000;
const SNIPPET_NAME = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ(-\d+)?\.wav$/;
let dir: string;
let raw: Int16Array;
let rawFile: string;
let standIn: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-record-'));
  raw = float32ToInt16(await loadModelRateAudio(path.join(devCorpusDir, 'background_rain/ibmmax_rain.wav'), RATE));
  rawFile = path.join(dir, 'rain.raw');
  fs.writeFileSync(rawFile, Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
  // argv: raw file, seconds to write, exit code, file to count runs in.
  standIn = path.join(dir, 'stand-in-recorder.mjs');
  fs.writeFileSync(
    standIn,
    `import fs from 'node:fs';
const [file, seconds, code, runs] = process.argv.slice(2);
fs.appendFileSync(runs, 'run\\n');
const bytes = fs.readFileSync(file).subarray(0, Math.round(Number(seconds) * ${RATE}) * 2);
process.stdout.write(bytes, () => process.exit(Number(code)));
`,
  );
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A configuration whose microphone is `command`; returns its path. */
function configWith(name: string, command: string, extra = ''): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, [`audio:\n  source: alsa\n  sampleRate: ${RATE}\n  recorderCommand: ${JSON.stringify(command)}${extra}`, 'log:\n  format: json\n  level: error', ''].join('\n'));
  return file;
}

function standInConfig(name: string, seconds: number, code = 3): { config: string; runs: () => number } {
  const runsFile = path.join(dir, `${name}.runs`);
  const config = configWith(name, `${process.execPath} ${standIn} ${rawFile} ${seconds} ${code} ${runsFile}`);
  return { config, runs: () => (fs.existsSync(runsFile) ? fs.readFileSync(runsFile, 'utf8').trim().split('\n').length : 0) };
}

function snippets(out: string): string[] {
  // In time order: "...Z.wav" before "...Z-1.wav".
  const key = (f: string) => f.replace(/\.wav$/, '');
  return fs
    .readdirSync(out)
    .filter((f) => SNIPPET_NAME.test(f))
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function readSnippet(file: string): { rate: number; samples: Int16Array } {
  const wav = decodeWav(fs.readFileSync(file));
  expect(wav.channels).toBe(1);
  expect(wav.containerBits).toBe(16);
  expect(wav.encoding).toBe('pcm');
  return { rate: wav.sampleRate, samples: Int16Array.from(wav.mono, (x) => Math.round(x * 32768)) };
}

const SETTLE = RATE / 4;

describe('earshot record', () => {
  it('--over 0: three 2 s snippets back-to-back from the microphone, 16-bit at the capture rate; files already there are kept', () => {
    const { config, runs } = standInConfig('healthy', 10);
    const out = path.join(dir, 'healthy-out');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'keep.wav'), 'not mine');
    const r = runEarshot(['-c', config, 'record', '--minutes', '0.1', '--snippet', '2', '--over', '0', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const files = snippets(out);
    expect(files).toHaveLength(3);
    expect(fs.readFileSync(path.join(out, 'keep.wav'), 'utf8')).toBe('not mine');
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    files.forEach((f, i) => {
      const { rate, samples } = readSnippet(path.join(out, f));
      expect(rate).toBe(RATE);
      expect(samples.length).toBe(2 * RATE);
      // After the 250 ms start-up, contiguous stretches of what the microphone heard.
      const from = SETTLE + i * 2 * RATE;
      expect(Array.from(samples)).toEqual(Array.from(raw.subarray(from, from + 2 * RATE)));
    });
    // Named by their start: 2 s apart (sample counts from the recorder's start, not the pace of delivery).
    const times = files.map((f) => Date.parse(f.slice(0, 19).replace(/T(\d\d)-(\d\d)-(\d\d)/, 'T$1:$2:$3') + 'Z'));
    expect(times.map((t) => t - times[0]!)).toEqual([0, 2000, 4000]);
    // The recorder ran once: back-to-back snippets do not restart it.
    expect(runs()).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^recording 3 snippets of 2 s \(6 s in all\) into .*healthy-out, back-to-back, now, from the recorder ".*stand-in-recorder\.mjs/);
    expect(lines.slice(1, 4)).toEqual(files.map((f, i) => expect.stringMatching(new RegExp(`^kept ${i + 1}/3: .*healthy-out/${f} \\(2\\.0 s, -\\d+ dBFS\\)$`))));
    expect(lines[4]).toMatch(/^kept 3\/3 snippets \(6 s\) in .*healthy-out$/);
  });

  it('a recorder that dies mid-snippet: the loss is reported, the recorder restarted, the snippet retried; all kept, exit 0', () => {
    // Each run of the stand-in gives 3 s: the first snippet and part of the next, then it exits.
    const { config, runs } = standInConfig('dying', 3, 3);
    const out = path.join(dir, 'dying-out');
    const r = runEarshot(['-c', config, 'record', '--minutes', '0.1', '--snippet', '2', '--now', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const lost = r.stderr.trim().split('\n').filter((l) => l.startsWith('earshot: lost snippet'));
    expect(lost).toEqual([
      expect.stringMatching(/^earshot: lost snippet 2\/3: recorder exited \(code 3\) after 0\.8 s of the snippet; retrying at \d\d:\d\d:\d\d UTC$/),
      expect.stringMatching(/^earshot: lost snippet 3\/3: recorder exited \(code 3\) after 0\.8 s of the snippet; retrying at /),
    ]);
    expect(runs()).toBe(3);
    const files = snippets(out);
    expect(files).toHaveLength(3);
    for (const f of files) {
      const { rate, samples } = readSnippet(path.join(out, f));
      expect(rate).toBe(RATE);
      expect(samples.length).toBe(2 * RATE);
      // Every snippet is the first 2 s of a fresh run (after its start-up): no partial snippet was kept.
      expect(Array.from(samples.subarray(0, 100))).toEqual(Array.from(raw.subarray(SETTLE, SETTLE + 100)));
    }
    expect(r.stdout).toMatch(/kept 3\/3 snippets \(6 s\) in .*dying-out; 2 attempts lost to the audio source \(last: recorder exited \(code 3\) after 0\.8 s of the snippet\)\n$/);
  });

  it('a microphone that never works: exit 69 after three attempts, naming the recorder command', () => {
    const config = configWith('dead', 'echo "arecord: main:831: audio open error: No such device" >&2; exit 1');
    const out = path.join(dir, 'dead-out');
    const t0 = Date.now();
    const r = runEarshot(['-c', config, 'record', '--minutes', '1', '--now', '--out', out]);
    expect(r.code, r.stderr).toBe(69);
    expect(r.stderr).toMatch(
      /earshot: no audio from "echo "arecord: main:831: audio open error: No such device" >&2; exit 1": 3 attempts failed \(last: recorder exited \(code 1\): arecord: main:831: audio open error: No such device\); check the microphone, audio.device and audio.recorderCommand/,
    );
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(snippets(out)).toEqual([]);
  });

  it('on a schedule the recorder is started for each snippet and stopped between; SIGTERM stops cleanly keeping the snippets written', async () => {
    // 3 snippets of 1 s over 0.006 h (21.6 s). Pick a seed whose snippets are well apart, so the
    // recorder is stopped between them, and whose first snippet leaves time for the microphone check.
    const req = { totalMs: 3000, snippetMs: 1000, spanMs: 21_600, startMs: 0 };
    let seed = 0;
    for (; ; seed++) {
      const p = snippetSchedule({ ...req, seed }).snippets.map((s) => s.startMs);
      if (p[0]! >= 3000 && p[1]! - p[0]! >= 5000 && p[2]! - p[1]! >= 5000 && p[1]! <= 13_000) break;
    }
    const { config, runs } = standInConfig('scheduled', 10);
    const out = path.join(dir, 'scheduled-out');
    const child = spawn(process.execPath, [cliPath, '-c', config, 'record', '--minutes', '0.05', '--snippet', '1', '--over', '0.006', '--seed', String(seed), '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!/kept 2\/3/.test(stdout)) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`no second snippet:\n${stdout}\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const t0 = Date.now();
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(stdout).toMatch(new RegExp(`spread over 21\\.6 s \\(one per 7\\.2 s, seed ${seed}\\), first at \\d\\d:\\d\\d:\\d\\d UTC`));
    expect(stdout).toMatch(/^microphone ok: 16000 Hz, -\d+ dBFS$/m);
    expect(stdout).toMatch(/stopped by SIGTERM: kept 2\/3 snippets \(2 s\) in .*scheduled-out; the files written are complete\n$/);
    // The check, then one run per snippet.
    expect(runs()).toBe(3);
    const files = snippets(out);
    expect(files).toHaveLength(2);
    for (const f of files) expect(readSnippet(path.join(out, f)).samples.length).toBe(RATE);
    expect(fs.readdirSync(out)).toEqual(files);
  });

  it('bad options: exit 2 naming the option and what it accepts', () => {
    const config = configWith('opts', 'exit 1');
    const out = path.join(dir, 'opts-out');
    const cases: [string[], RegExp][] = [
      [['--out', out], /--minutes <n> is required: the total minutes of audio to keep, a number > 0/],
      [['--minutes', '5'], /--out <dir> is required/],
      [['--minutes', '0', '--out', out], /--minutes: expected a number of minutes > 0 and ≤ 10080, got "0"/],
      [['--minutes', 'ten', '--out', out], /--minutes: expected a number of minutes > 0 .*, got "ten"/],
      [['--minutes', '5', '--snippet', '0', '--out', out], /--snippet: expected a snippet length in seconds from 0\.5 to 3600, got "0"/],
      [['--minutes', '5', '--over', '-1', '--out', out], /--over: expected 0 \(back-to-back\) or a number of hours up to 720, got "-1"/],
      [['--minutes', '90', '--over', '1', '--out', out], /--over: 1 h is shorter than the audio itself \(1\.5 h\); give at least 1\.5 hours, or 0 for back-to-back/],
      [['--minutes', '5', '--seed', '1.5', '--out', out], /--seed: expected a whole number from 0 to 4294967295, got "1\.5"/],
      [['--minutes', '5', '--now', '--over', '3', '--out', out], /--now records back-to-back and cannot be combined with --over 3/],
      [['--minutes', '5', '--out', standIn], /--out: .*stand-in-recorder\.mjs is a file, not a folder/],
      [['--minute', '5', '--out', out], /unknown option '--minute'/],
    ];
    for (const [args, message] of cases) {
      const r = runEarshot(['-c', config, 'record', ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect(fs.existsSync(out)).toBe(false);
  });
});
