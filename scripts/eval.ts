/**
 * Detection quality on a labelled corpus: `npm run eval -- <folder> [options]`.
 * The folder holds one subfolder per class; a subfolder named after an alert label (or an alias
 * below) holds positives for it, `background*` subfolders hold background on which false alarms
 * are counted. Prints per label: recall and precision at the configured threshold, false alarms
 * per hour of background, recall at 1 % false clips with the threshold that gives it, and
 * (with --sweep) the threshold sweep as ROC points. `--json FILE` writes everything.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { decodeAudioFile, type DecodedAudio } from '../agent/audio/decode-file.js';
import { findAudioFiles } from '../agent/detect/find-audio.js';
import { labelQuality, type LabelQuality, type ScoredClip } from '../agent/detect/metrics.js';
import { openDetection } from '../agent/detect/open-detection.js';

/** Folder names of common corpora that differ from the alert label. */
const ALIASES: Record<string, string> = { speech: 'human_voice', voice: 'human_voice', engine: 'vehicle', car: 'vehicle', gunshots: 'gunshot', dogs: 'dog', chainsaws: 'chainsaw' };

const program = new Command('eval')
  .argument('<folder>', 'corpus with one subfolder per class')
  .option('-c, --config <file>', 'configuration file')
  .option('--target <rate>', 'false-clip rate for "recall at" (0.01 = 1 %)', '0.01')
  .option('--window <sec>', 'window length override')
  .option('--hop <sec>', 'hop override')
  .option('--class-map <file>', 'a class map other than models/classmap.yaml')
  .option('--sweep', 'print the threshold sweep (ROC points) per label')
  .option('--json <file>', 'write per-clip peaks and the quality table as JSON')
  .parse();

const [root] = program.args as [string];
const opts = program.opts<{ config?: string; target: string; window?: string; hop?: string; classMap?: string; sweep?: boolean; json?: string }>();
const { config } = loadConfig({ flag: opts.config, env: process.env });
const stack = await openDetection(config, { mirror: process.env.EARSHOT_MODEL_MIRROR, classMapFile: opts.classMap });
const analyzer = stack.analyzer({ minConfidence: 0, windowSec: opts.window ? Number(opts.window) : undefined, hopSec: opts.hop ? Number(opts.hop) : undefined });

const classes = fs
  .readdirSync(root)
  .filter((name) => fs.statSync(path.join(root, name)).isDirectory())
  .sort();
const labelNames = new Set(stack.classMap.labels.map((l) => l.name));
const positivesOf = (cls: string) => {
  const name = ALIASES[cls] ?? cls;
  return labelNames.has(name) ? name : undefined;
};
const isBackground = (cls: string) => cls.startsWith('background');

const clips: (ScoredClip & { file: string })[] = [];
const cpu0 = process.cpuUsage();
let audioSec = 0;
for (const cls of classes) {
  const { files } = findAudioFiles([path.join(root, cls)]);
  for (const [i, file] of files.entries()) {
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${cls} ${i + 1}/${files.length}`);
    let audio: DecodedAudio;
    try {
      audio = await decodeAudioFile(file);
    } catch (err) {
      process.stderr.write(`\nskipped ${file}: ${(err as Error).message}\n`);
      continue;
    }
    const result = await analyzer.analyze(audio.mono, audio.sampleRate);
    audioSec += result.durationSec;
    clips.push({ file: path.relative(root, file), cls, durationSec: result.durationSec, peaks: Object.fromEntries(result.peaks.map((p) => [p.label, p.score])) });
  }
}
if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
await stack.close();
const cpu = process.cpuUsage(cpu0);

const target = Number(opts.target);
const rows: LabelQuality[] = stack.classMap.labels
  .filter((l) => clips.some((c) => positivesOf(c.cls) === l.name))
  .map((l) => labelQuality(l.name, l.threshold, clips, { positivesOf, isBackground, targetFalseClipRate: target }));

const pct = (x: number) => (Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`);
const backgroundClips = clips.filter((c) => isBackground(c.cls));
const bgHours = backgroundClips.reduce((s, c) => s + c.durationSec, 0) / 3600;
console.log(`corpus ${root}: ${clips.length} clips, ${(audioSec / 3600).toFixed(2)} h; background ${backgroundClips.length} clips, ${bgHours.toFixed(2)} h`);
console.log(`window ${opts.window ?? config.detection.windowSec} s, hop ${opts.hop ?? config.detection.hopSec} s; ${(audioSec / ((cpu.user + cpu.system) / 1e6)).toFixed(0)}× real time per CPU second`);
console.log('');
console.log(`| label | clips | threshold | recall | precision | false alarms / h of background | recall at ${pct(target)} false clips (threshold) |`);
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.label} | ${r.positives} | ${r.threshold} | ${pct(r.recall)} | ${pct(r.precision)} | ${r.falseAlarmsPerHour.toFixed(1)} | ${pct(r.recallAtTarget)} (${r.thresholdAtTarget.toFixed(2)}) |`);
}
if (opts.sweep) {
  for (const r of rows) {
    console.log(`\n${r.label}: threshold → recall / false-clip rate`);
    console.log(r.sweep.filter((p) => Math.round(p.threshold * 100) % 5 === 0).map((p) => `${p.threshold.toFixed(2)}: ${pct(p.recall)} / ${pct(p.falseClipRate)}`).join('\n'));
  }
}
if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ root, target, rows, clips }, null, 1));
