/**
 * `npm run bench:analyze [-- --minutes N] [--json]`: × real time of analysis (decode → log-mel,
 * resampling only rates the front end cannot take directly → inference → voice → events) on
 * one inference thread over the development corpus (all of it, 1.2 h; or a seeded random
 * sample of at least N minutes), with the share of time spent in each stage and the speed per
 * input sample rate. Repeated runs give the median; the figure is audio seconds per CPU second
 * of this process and its children (the sox processes that decode FLAC).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { decodeAudioFile } from '../agent/audio/decode-file.js';
import { findAudioFiles } from '../agent/offline/find-audio.js';
import { openDetection } from '../agent/detect/open-detection.js';
import { packageRoot } from '../models/registry.js';

const opts = new Command('bench-analyze')
  .option('-c, --config <file>', 'configuration file (storage.dataDir must hold the installed model)')
  .option('--corpus <dir>', 'recordings to analyse', path.join(packageRoot(), '..', 'shared', 'data', 'dev'))
  .option('--minutes <n>', 'least audio per run, minutes (default: the whole corpus)')
  .option('--runs <n>', 'repetitions (median reported)', '3')
  .option('--json', 'print the figures as JSON on the last line')
  .parse()
  .opts<{ config?: string; corpus: string; minutes?: string; runs: string; json?: boolean }>();

const { config } = loadConfig({ flag: opts.config, env: process.env });
const stack = await openDetection(config, { threads: 1, mirror: process.env.EARSHOT_MODEL_MIRROR });
const analyzer = stack.analyzer();

/** CPU seconds of finished child processes (Linux: /proc/self/stat cutime + cstime, in USER_HZ = 100 ticks). */
function childrenCpuSec(): number {
  try {
    const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return 0;
  }
}

// The whole corpus, or a seeded shuffle of it cut at the minutes asked for (every class in
// proportion to its share of the corpus, as a long field deployment would see them).
const all = findAudioFiles([opts.corpus]).files;
let seed = 7;
const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
for (let i = all.length - 1; i > 0; i--) {
  const k = Math.floor(rand() * (i + 1));
  [all[i], all[k]] = [all[k]!, all[i]!];
}
// Durations are only needed to cut a sample: the whole corpus is not decoded an extra time.
const files: string[] = opts.minutes ? [] : all;
let seconds = 0;
const needSec = Number(opts.minutes) * 60;
for (const f of opts.minutes ? all : []) {
  if (seconds >= needSec) break;
  files.push(f);
  seconds += (await decodeAudioFile(f)).durationSec;
}
files.sort();

interface Run {
  audioSec: number;
  cpuSec: number;
  decodeMs: number;
  frontendMs: number;
  inferenceMs: number;
  voiceMs: number;
  otherMs: number;
  /** Audio and wall seconds per input sample rate. */
  byRate: Map<number, { audioSec: number; wallSec: number }>;
}
const runs: Run[] = [];
for (let r = 0; r < Number(opts.runs); r++) {
  const cpu0 = process.cpuUsage();
  const children0 = childrenCpuSec();
  const wall0 = performance.now();
  const run: Run = { audioSec: 0, cpuSec: 0, decodeMs: 0, frontendMs: 0, inferenceMs: 0, voiceMs: 0, otherMs: 0, byRate: new Map() };
  for (const f of files) {
    const t0 = performance.now();
    const audio = await decodeAudioFile(f);
    run.decodeMs += performance.now() - t0;
    const result = await analyzer.analyze(audio.mono, audio.sampleRate);
    const r = run.byRate.get(audio.sampleRate) ?? { audioSec: 0, wallSec: 0 };
    r.audioSec += result.durationSec;
    r.wallSec += (performance.now() - t0) / 1000;
    run.byRate.set(audio.sampleRate, r);
    run.audioSec += result.durationSec;
    run.frontendMs += result.timings.frontendMs;
    run.inferenceMs += result.timings.inferenceMs;
    run.voiceMs += result.timings.voiceMs;
  }
  const cpu = process.cpuUsage(cpu0);
  run.cpuSec = (cpu.user + cpu.system) / 1e6 + (childrenCpuSec() - children0);
  run.otherMs = performance.now() - wall0 - run.decodeMs - run.frontendMs - run.inferenceMs - run.voiceMs;
  runs.push(run);
}
await stack.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const speed = median(runs.map((r) => r.audioSec / r.cpuSec));
const mid = runs.find((r) => r.audioSec / r.cpuSec === speed)!;
const total = mid.decodeMs + mid.frontendMs + mid.inferenceMs + mid.voiceMs + mid.otherMs;
const share = (ms: number) => `${((100 * ms) / total).toFixed(1)}%`;
console.log(`analyze: ${files.length} files, ${(mid.audioSec / 60).toFixed(1)} min of audio per run, ${runs.length} runs, window ${config.detection.windowSec} s / hop ${config.detection.hopSec} s, 1 inference thread`);
console.log(`  × real time (audio s per CPU s, median): ${speed.toFixed(0)}×   [runs: ${runs.map((r) => (r.audioSec / r.cpuSec).toFixed(0)).join(', ')}]`);
console.log(
  `  by input rate (audio s per wall s): ${[...mid.byRate]
    .sort((a, b) => a[0] - b[0])
    .map(([rate, r]) => `${rate / 1000} kHz ${(r.audioSec / r.wallSec).toFixed(0)}× (${(r.audioSec / 60).toFixed(1)} min)`)
    .join(', ')}`,
);
console.log(`  time share: decode ${share(mid.decodeMs)}, front end (+ resampling) ${share(mid.frontendMs)}, inference ${share(mid.inferenceMs)}, voice ${share(mid.voiceMs)}, tracking/other ${share(mid.otherMs)}`);
if (opts.json) {
  console.log(JSON.stringify({ realTimeFactor: speed, audioSec: mid.audioSec, files: files.length, byRate: Object.fromEntries([...mid.byRate].map(([rate, r]) => [rate, { audioSec: r.audioSec, realTimeFactor: r.audioSec / r.wallSec }])), shares: { decode: mid.decodeMs / total, frontend: mid.frontendMs / total, inference: mid.inferenceMs / total, voice: mid.voiceMs / total, other: mid.otherMs / total } }));
}
