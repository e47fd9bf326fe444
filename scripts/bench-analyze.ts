/**
 * `npm run bench:analyze [-- --minutes 10] [--json]`: × real time of analysis (decode →
 * resample → log-mel → inference → events) on one inference thread over at least 10 minutes of
 * the development corpus, with the share of time spent in each stage. Repeated runs give the
 * median; the figure is audio seconds per CPU second of this process.
 */
import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { loadModelRateAudio } from '../agent/audio/load-model-rate.js';
import { findAudioFiles } from '../agent/detect/find-audio.js';
import { openDetection } from '../agent/detect/open-detection.js';
import { packageRoot } from '../models/registry.js';

const opts = new Command('bench-analyze')
  .option('-c, --config <file>', 'configuration file (storage.dataDir must hold the installed model)')
  .option('--corpus <dir>', 'recordings to analyse', path.join(packageRoot(), '..', 'shared', 'data', 'dev'))
  .option('--minutes <n>', 'least audio per run, minutes', '10')
  .option('--runs <n>', 'repetitions (median reported)', '3')
  .option('--json', 'print the figures as JSON on the last line')
  .parse()
  .opts<{ config?: string; corpus: string; minutes: string; runs: string; json?: boolean }>();

const { config } = loadConfig({ flag: opts.config, env: process.env });
const stack = await openDetection(config, { threads: 1, mirror: process.env.EARSHOT_MODEL_MIRROR });
const analyzer = stack.analyzer();
const rate = stack.frontend.params.sampleRate;

// A spread of the corpus: files from every class in turn, until the minutes are reached.
const byClass = findAudioFiles([opts.corpus]).files.reduce<Map<string, string[]>>((m, f) => {
  const cls = path.basename(path.dirname(f));
  m.set(cls, [...(m.get(cls) ?? []), f]);
  return m;
}, new Map());
const queues = [...byClass.values()];
const files: string[] = [];
let seconds = 0;
const needSec = Number(opts.minutes) * 60;
const durations = new Map<string, Float32Array>();
while (seconds < needSec && queues.some((q) => q.length)) {
  for (const q of queues) {
    const f = q.shift();
    if (!f) continue;
    const s = await loadModelRateAudio(f, rate);
    durations.set(f, s);
    files.push(f);
    seconds += s.length / rate;
    if (seconds >= needSec) break;
  }
}
durations.clear();

interface Run {
  audioSec: number;
  cpuSec: number;
  decodeMs: number;
  frontendMs: number;
  inferenceMs: number;
  otherMs: number;
}
const runs: Run[] = [];
for (let r = 0; r < Number(opts.runs); r++) {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const run: Run = { audioSec: 0, cpuSec: 0, decodeMs: 0, frontendMs: 0, inferenceMs: 0, otherMs: 0 };
  for (const f of files) {
    const t0 = performance.now();
    const samples = await loadModelRateAudio(f, rate);
    run.decodeMs += performance.now() - t0;
    const result = await analyzer.analyze(samples);
    run.audioSec += result.durationSec;
    run.frontendMs += result.timings.frontendMs;
    run.inferenceMs += result.timings.inferenceMs;
  }
  const cpu = process.cpuUsage(cpu0);
  run.cpuSec = (cpu.user + cpu.system) / 1e6;
  run.otherMs = performance.now() - wall0 - run.decodeMs - run.frontendMs - run.inferenceMs;
  runs.push(run);
}
await stack.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const speed = median(runs.map((r) => r.audioSec / r.cpuSec));
const mid = runs.find((r) => r.audioSec / r.cpuSec === speed)!;
const total = mid.decodeMs + mid.frontendMs + mid.inferenceMs + mid.otherMs;
const share = (ms: number) => `${((100 * ms) / total).toFixed(1)}%`;
console.log(`analyze: ${files.length} files, ${(mid.audioSec / 60).toFixed(1)} min of audio per run, ${runs.length} runs, window ${config.detection.windowSec} s / hop ${config.detection.hopSec} s, 1 inference thread`);
console.log(`  × real time (audio s per CPU s, median): ${speed.toFixed(0)}×   [runs: ${runs.map((r) => (r.audioSec / r.cpuSec).toFixed(0)).join(', ')}]`);
console.log(`  time share: decode+resample ${share(mid.decodeMs)}, front end ${share(mid.frontendMs)}, inference ${share(mid.inferenceMs)}, tracking/other ${share(mid.otherMs)}`);
if (opts.json) {
  console.log(JSON.stringify({ realTimeFactor: speed, audioSec: mid.audioSec, files: files.length, shares: { decode: mid.decodeMs / total, frontend: mid.frontendMs / total, inference: mid.inferenceMs / total, other: mid.otherMs / total } }));
}
