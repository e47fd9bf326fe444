/**
 * Detection quality on a labelled corpus: `npm run eval -- <folder> [options]`.
 * The folder holds one subfolder per class; a subfolder named after an alert label (or an alias,
 * agent/train/corpus.ts) holds positives for it, `background*` subfolders hold background on which
 * false alarms are counted. Prints per label: recall and precision at the operating threshold,
 * false alarms per hour of background, recall at 1 % false clips and at ≤ 1 false alarm per hour,
 * and (with --sweep) the threshold sweep.
 *
 *  --head FILE    evaluate with a head (as `earshot analyze --head`)
 *  --cross-site   leave-one-site-out: for each site, a head trained on all other sites scores it;
 *                 printed next to the class map on the same recordings
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { EarshotError, InputMissingError, UsageError } from '../agent/errors.js';
import { decodeAudioFile, type DecodedAudio } from '../agent/audio/decode-file.js';
import { findAudioFiles } from '../agent/offline/find-audio.js';
import { labelQuality, recallAtFalseAlarmRate, type LabelQuality, type ScoredClip } from '../agent/offline/metrics.js';
import { openDetection, type DetectionStack } from '../agent/detect/open-detection.js';
import { BACKGROUND, CLASS_ALIASES, scanCorpus } from '../agent/train/corpus.js';
import { collectRows, DEFAULT_AUGMENT } from '../agent/train/collect.js';
import { crossSite, type SiteClip } from '../agent/train/cross-site.js';
import { WindowFeatureExtractor } from '../agent/train/extract.js';
import { DEFAULT_L2 } from '../agent/train/logistic.js';
import { featurePenalty, featureSpec, TRAINABLE_CATEGORIES } from '../agent/train/trainer.js';

const program = new Command('eval')
  .argument('<folder>', 'corpus with one subfolder per class')
  .option('-c, --config <file>', 'configuration file')
  .option('--target <rate>', 'false-clip rate for "recall at" (0.01 = 1 %)', '0.01')
  .option('--window <sec>', 'window length override')
  .option('--hop <sec>', 'hop override')
  .option('--class-map <file>', 'a class map other than models/classmap.yaml')
  .option('--head <file>', 'evaluate with this head ("none", "default" or a head file)')
  .option('--cross-site', 'leave-one-site-out: train a head on all sites but one, test on that one')
  .option('--augment <n>', 'cross-site: mixes per positive clip', String(DEFAULT_AUGMENT.perClip))
  .option('--seed <n>', 'cross-site: seed', String(DEFAULT_AUGMENT.seed))
  .option('--folds <n>', 'cross-site: folds for each head\'s threshold', '4')
  .option('--max-false-per-hour <x>', 'cross-site: the heads\' false-alarm target', '1')
  .option('--cache <dir>', 'cross-site: feature cache folder', '.earshot/cache/eval')
  .option('--l2 <x>', 'cross-site: weight decay of the heads', String(DEFAULT_L2))
  .option('--embedding <n>', 'cross-site: embedding values the heads read (0: logits and onset features only)', '384')
  .option('--sweep', 'print the threshold sweep (ROC points) per label')
  .option('--json <file>', 'write per-clip peaks and the quality table as JSON')
  .parse();

interface EvalOptions {
  config?: string;
  target: string;
  window?: string;
  hop?: string;
  classMap?: string;
  head?: string;
  crossSite?: boolean;
  augment: string;
  seed: string;
  folds: string;
  maxFalsePerHour: string;
  cache: string;
  embedding: string;
  l2: string;
  sweep?: boolean;
  json?: string;
}

/**
 * A user's mistake (a corpus folder that is not there, the model not installed, a bad
 * configuration) is one line with its sysexits code, as in the CLI; anything else is a bug.
 */
function userError(err: unknown): never {
  if (err instanceof EarshotError) {
    process.stderr.write(`eval: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  throw err;
}

/** The corpus folder, checked before the model loads. */
function checkCorpus(dir: string): void {
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (!st) throw new InputMissingError(`${dir}: no such folder (name a corpus folder with one subfolder per class: gunshot/, chainsaw/, background/, ...)`, { component: 'eval', code: 'eval.no-corpus' });
  if (!st.isDirectory()) throw new UsageError(`${dir}: is a file; name a corpus folder with one subfolder per class`, { component: 'eval', code: 'eval.not-folder' });
}

const [root] = program.args as [string];
const opts = program.opts<EvalOptions>();
const { config, stack } = await (async () => {
  try {
    checkCorpus(root);
    const { config } = loadConfig({ flag: opts.config, env: process.env });
    const stack = await openDetection(config, { mirror: process.env.EARSHOT_MODEL_MIRROR, classMapFile: opts.classMap, head: opts.crossSite ? 'none' : opts.head });
    return { config, stack };
  } catch (err) {
    userError(err);
  }
})();
const windowSec = opts.window ? Number(opts.window) : config.detection.windowSec;
const hopSec = opts.hop ? Number(opts.hop) : config.detection.hopSec;
const target = Number(opts.target);
const labelNames = new Set(stack.classMap.labels.map((l) => l.name));
const positivesOf = (cls: string) => {
  const name = CLASS_ALIASES[cls] ?? cls;
  return labelNames.has(name) ? name : undefined;
};
const isBackground = (cls: string) => cls.startsWith(BACKGROUND);
const pct = (x: number) => (Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`);
const cpu0 = process.cpuUsage();

interface Row extends LabelQuality {
  recallAt1PerHour: number;
}

function quality(clips: readonly ScoredClip[], thresholdOf: (label: string) => number): Row[] {
  return stack.classMap.labels
    .filter((l) => clips.some((c) => positivesOf(c.cls) === l.name))
    .map((l) => ({
      ...labelQuality(l.name, thresholdOf(l.name), clips, { positivesOf, isBackground, targetFalseClipRate: target }),
      recallAt1PerHour: recallAtFalseAlarmRate(l.name, clips, { positivesOf, isBackground }, 1).recall,
    }));
}

function printTable(title: string, rows: readonly Row[]): void {
  console.log(`\n${title}`);
  console.log(`| label | clips | threshold | recall | precision | false alarms / h of background | recall at ${pct(target)} false clips (threshold) | recall at ≤ 1 false alarm / h |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.label} | ${r.positives} | ${r.threshold} | ${pct(r.recall)} | ${pct(r.precision)} | ${r.falseAlarmsPerHour.toFixed(1)} | ${pct(r.recallAtTarget)} (${r.thresholdAtTarget.toFixed(2)}) | ${pct(r.recallAt1PerHour)} |`,
    );
  }
  if (opts.sweep) {
    for (const r of rows) {
      console.log(`\n${r.label}: threshold → recall / false-clip rate`);
      console.log(r.sweep.filter((p) => Math.round(p.threshold * 100) % 5 === 0).map((p) => `${p.threshold.toFixed(2)}: ${pct(p.recall)} / ${pct(p.falseClipRate)}`).join('\n'));
    }
  }
}

function corpusLine(clips: readonly ScoredClip[]): void {
  const audioSec = clips.reduce((s, c) => s + c.durationSec, 0);
  const background = clips.filter((c) => isBackground(c.cls));
  const bgHours = background.reduce((s, c) => s + c.durationSec, 0) / 3600;
  const cpu = process.cpuUsage(cpu0);
  console.log(`corpus ${root}: ${clips.length} clips, ${(audioSec / 3600).toFixed(2)} h; background ${background.length} clips, ${bgHours.toFixed(2)} h`);
  console.log(`window ${windowSec} s, hop ${hopSec} s; ${(audioSec / ((cpu.user + cpu.system) / 1e6)).toFixed(0)}× real time per CPU second`);
}

/** Class map (or --head) over every file of the corpus. */
async function evaluate(s: DetectionStack): Promise<void> {
  const analyzer = s.analyzer({ minConfidence: 0, windowSec, hopSec });
  const classes = fs
    .readdirSync(root)
    .filter((name) => fs.statSync(path.join(root, name)).isDirectory())
    .sort();
  const clips: (ScoredClip & { file: string })[] = [];
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
      clips.push({ file: path.relative(root, file), cls, durationSec: result.durationSec, peaks: Object.fromEntries(result.peaks.map((p) => [p.label, p.score])) });
    }
  }
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  corpusLine(clips);
  const rows = quality(clips, (name) => s.classMap.labels.find((l) => l.name === name)!.threshold);
  printTable(s.head ? `head ${s.head.ref.name} (${s.head.ref.sha256.slice(0, 12)}) + class map` : 'class map', rows);
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ root, target, head: s.headRef, rows, clips }, null, 1));
}

/** Leave-one-site-out: heads trained without each site, against the class map on the same clips. */
async function evaluateCrossSite(s: DetectionStack): Promise<void> {
  const trainable = s.classMap.labels.filter((l) => TRAINABLE_CATEGORIES.has(l.category)).map((l) => l.name);
  const corpus = scanCorpus(root, new Set(trainable));
  const labels = trainable.filter((l) => corpus.files.some((f) => f.cls === l));
  const spec = featureSpec(s.classMap, labels, Number(opts.embedding));
  const extractor = new WindowFeatureExtractor({ stack: s, spec, windowSec, hopSec, peakLabels: labels, cacheDir: opts.cache });
  const siteClips: SiteClip[] = [];
  const started = performance.now();
  const rows = await collectRows(corpus.files, {
    extractor,
    hopSec,
    windowSec,
    augment: { ...DEFAULT_AUGMENT, perClip: Number(opts.augment), seed: Number(opts.seed) },
    progress: (done, total) => {
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2Kfeatures ${done + 1}/${total}`);
    },
    onSkip: (file, err) => process.stderr.write(`\nskipped ${file}: ${err.message}\n`),
    onFile: (f, r, clip) => siteClips.push({ file: path.relative(root, f.file), cls: f.cls, site: f.site, durationSec: r.durationSec, clip, classMap: r.peaks }),
  });
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  process.stderr.write(`features: ${rows.rows} windows (${rows.meta.filter((m) => m.augmented).length} augmented) in ${((performance.now() - started) / 1000).toFixed(0)} s; cache ${extractor.cacheHits} hits, ${extractor.cacheMisses} misses\n`);
  const result = crossSite(rows, siteClips, labels, {
    maxFalsePerHour: Number(opts.maxFalsePerHour),
    folds: Number(opts.folds),
    seed: Number(opts.seed),
    l2: Number(opts.l2),
    penalty: featurePenalty(spec),
    minClips: 3,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  // Scored clips use the corpus class names ("background", labels) for the shared metrics.
  const asScored = (peaks: (c: (typeof result.clips)[number]) => Record<string, number>) => result.clips.map((c) => ({ cls: c.cls, durationSec: c.durationSec, peaks: peaks(c) }));
  const mapClips = asScored((c) => c.classMap);
  const headClips = asScored((c) => c.head);
  corpusLine(mapClips);
  const mapThreshold = (name: string) => s.classMap.labels.find((l) => l.name === name)!.threshold;
  printTable('class map (same recordings)', quality(mapClips, mapThreshold));
  printTable('leave-one-site-out heads (each site scored by a head that never heard it; labels no other site has fall back to the class map)', quality(headClips, (name) => (labels.includes(name) ? 0.5 : mapThreshold(name))));
  const sites = [...new Set(result.clips.map((c) => c.site))].sort();
  console.log('\nper held-out site (recall at the operating threshold / false alarms per hour; class map → head):');
  for (const site of sites) {
    const m = mapClips.filter((_, i) => result.clips[i]!.site === site);
    const h = headClips.filter((_, i) => result.clips[i]!.site === site);
    const qm = quality(m, mapThreshold);
    const qh = quality(h, (name) => (result.trained[site]!.includes(name) ? 0.5 : mapThreshold(name)));
    const bg = m.filter((c) => isBackground(c.cls));
    const bgHours = bg.reduce((a, c) => a + c.durationSec, 0) / 3600;
    const falseOf = (clips: typeof m, label: string, t: number) => clips.filter((c) => isBackground(c.cls) && (c.peaks[label] ?? 0) >= t).length / Math.max(bgHours, 1e-9);
    const parts = labels.map((l) => {
      const a = qm.find((r) => r.label === l);
      const b = qh.find((r) => r.label === l);
      const rec = a ? ` recall ${pct(a.recall)} → ${pct(b!.recall)}` : '';
      const fa = bgHours > 0 ? ` FA/h ${falseOf(m, l, mapThreshold(l)).toFixed(1)} → ${falseOf(h, l, result.trained[site]!.includes(l) ? 0.5 : mapThreshold(l)).toFixed(1)}` : '';
      return rec || fa ? `${l}:${rec}${fa}` : '';
    });
    console.log(`- ${site} (${m.length} clips, ${bgHours.toFixed(2)} h background; head: ${result.trained[site]!.join(', ') || '—'}): ${parts.filter(Boolean).join('; ')}`);
  }
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ root, target, clips: result.clips, trained: result.trained, thresholds: result.thresholds }, null, 1));
}

try {
  if (opts.crossSite) await evaluateCrossSite(stack);
  else await evaluate(stack);
} catch (err) {
  userError(err);
} finally {
  await stack.close();
}
