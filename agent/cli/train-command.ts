/** `earshot train <folder> --out <file>`: a site head from labelled recordings (see agent/train/). */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { openDetection } from '../detect/open-detection.js';
import { fileSha256, resolveHead } from '../detect/open-head.js';
import { checkHeadBase, headJson, readHead } from '../../models/head.js';
import { DataError, EarshotError, ExitCode, InputMissingError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { DEFAULT_AUGMENT } from '../train/collect.js';
import type { LabelReport } from '../train/fit.js';
import { trainHead } from '../train/trainer.js';
import { DEFAULT_L2 } from '../train/logistic.js';
import { CommandExit, globalOptions, type CliContext, type RegisterCommand } from './context.js';
import { numberOption } from './number-option.js';
import { ProgressLine } from './progress.js';

const COMPONENT = 'cli.train';

interface TrainCliOptions {
  out: string;
  base?: string;
  maxFalsePerHour: string;
  augment: string;
  seed: string;
  folds: string;
  labels?: string;
  cache: string | false;
  name?: string;
  keepRows: string;
  minClips: string;
  threads?: string;
  l2: string;
}

const option = (name: string, value: string, min: number, max: number, integer = false) => numberOption(COMPONENT, name, value, min, max, integer);

const pct = (x: number) => (Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)} %`);

/** The report table `earshot train` prints (and `earshot models list` repeats). */
export function reportTable(reports: Record<string, LabelReport>): string {
  const rate = (x: number) => (Number.isNaN(x) ? '—' : x.toFixed(2));
  const lines = [
    '| label | clips | augmented windows | background h | threshold | recall (CV) | false alarms / h (CV) | recall at ≤ 1 false alarm / h | augmented recall |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [label, r] of Object.entries(reports)) {
    lines.push(
      `| ${label} | ${r.clips} | ${r.augmentedWindows} | ${r.backgroundHours.toFixed(2)} | ${r.threshold.toFixed(4)} | ${pct(r.recall)} | ${rate(r.falseAlarmsPerHour)} | ${pct(r.recallAt1PerHour)} | ${pct(r.augmentedRecall)} |`,
    );
    const m = r.classMap;
    if (m) lines.push(`| ${label}: class map on the same recordings | | | | | ${pct(m.recall)} | ${rate(m.falseAlarmsPerHour)} | ${pct(m.recallAt1PerHour)} | ${pct(m.augmentedRecall)} |`);
  }
  return `${lines.join('\n')}\n`;
}

export const registerTrainCommand: RegisterCommand = (program, ctx) => {
  program
    .command('train')
    .description('train a site head from a folder of labelled recordings: <folder>/<label>/ (gunshot, chainsaw, vehicle, human_voice, dog) and <folder>/background/')
    .argument('<folder>', 'folder with one subfolder per alert label and background/')
    .requiredOption('--out <file>', 'head file to write (JSON)')
    .option('--base <head>', 'add the training rows stored in a head: "default" (the shipped head) or a head file')
    .option('--max-false-per-hour <x>', 'false alarms per hour of background the thresholds allow', '1')
    .option('--augment <n>', 'mixes of each positive clip into the background (0: none)', String(DEFAULT_AUGMENT.perClip))
    .option('--seed <n>', 'seed of the augmentation and the folds (same seed, same head)', String(DEFAULT_AUGMENT.seed))
    .option('--folds <n>', 'cross-validation folds for the thresholds and the report', '5')
    .option('--labels <list>', 'only these labels, comma-separated')
    .option('--cache <dir>', 'folder for cached window features (default: <folder>/.earshot-cache)')
    .option('--no-cache', 'do not cache window features')
    .option('--name <name>', 'name of the head (default: the output file name)')
    .option('--keep-rows <n>', 'store a float16 sample of this many training rows in the head, so it can serve as --base', '0')
    .option('--min-clips <n>', 'fewest recordings of a label for it to be trained', '3')
    .option('--threads <n>', 'inference threads (default: detection.threads)')
    .option('--l2 <x>', 'weight decay of the heads (larger: simpler heads that carry better to other sites)', String(DEFAULT_L2))
    .action(async (folder: string, opts: TrainCliOptions, cmd: Command) => {
      const code = await train(folder, opts, cmd, ctx);
      if (code !== ExitCode.ok) throw new CommandExit(code);
    });
};

async function train(folder: string, opts: TrainCliOptions, cmd: Command, ctx: CliContext): Promise<number> {
  const maxFalsePerHour = option('max-false-per-hour', opts.maxFalsePerHour, 0, 1000);
  const perClip = option('augment', opts.augment, 0, 1000, true);
  const seed = option('seed', opts.seed, 0, 2 ** 32 - 1, true);
  const folds = option('folds', opts.folds, 2, 20, true);
  const keepRows = option('keep-rows', opts.keepRows, 0, 1_000_000, true);
  const minClips = option('min-clips', opts.minClips, 1, 1_000_000, true);
  const l2 = option('l2', opts.l2, 0, 1000);
  const threads = opts.threads === undefined ? undefined : option('threads', opts.threads, 1, 64, true);
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) {
    throw new InputMissingError(`${folder}: no such folder (expected <folder>/<label>/ and <folder>/background/ with recordings)`, { component: COMPONENT, code: 'train.no-folder' });
  }
  const configFile = globalOptions(cmd).config;
  const { config } = loadConfig({ flag: configFile, env: ctx.env });
  // The base is checked before the model is loaded: a wrong --base fails at once.
  const resolvedBase = opts.base ? resolveHead(opts.base) : undefined;
  const baseHead = resolvedBase ? readHead(resolvedBase.file, { sha256: resolvedBase.sha256 }) : undefined;
  if (baseHead && !baseHead.trainingSet) {
    throw new DataError(`${resolvedBase!.file}: this head holds no training rows, so it cannot be a --base (train it with --keep-rows)`, { component: COMPONENT, code: 'train.base-rows' });
  }
  const stack = await openDetection(config, { threads, mirror: ctx.env.EARSHOT_MODEL_MIRROR, configFile, head: 'none' });
  const started = performance.now();
  let skipped = 0;
  let bar: ProgressLine | undefined;
  try {
    if (baseHead) checkHeadBase(baseHead, resolvedBase!.file, stack.modelRef);
    const windowSec = baseHead?.window.windowSec ?? config.detection.windowSec;
    const hopSec = baseHead?.window.hopSec ?? config.detection.hopSec;
    const result = await trainHead(stack, {
      root: folder,
      name: opts.name ?? path.basename(opts.out, path.extname(opts.out)),
      labels: opts.labels?.split(',').map((s) => s.trim()).filter(Boolean),
      base: baseHead ? { head: baseHead, file: resolvedBase!.file, sha256: resolvedBase!.sha256 ?? fileSha256(resolvedBase!.file) } : undefined,
      augment: { ...DEFAULT_AUGMENT, perClip, seed },
      maxFalsePerHour,
      folds,
      l2,
      minClips,
      cacheDir: opts.cache === false ? undefined : (opts.cache ?? path.join(folder, '.earshot-cache')),
      keepRows: keepRows || undefined,
      windowSec,
      hopSec,
      progress: (done, total, file) => {
        bar ??= new ProgressLine(ctx, total);
        bar.update(file);
        if (!ctx.isTTY && (done % 100 === 0 || done === total - 1)) ctx.stderr(`features: ${done + 1}/${total} recordings\n`);
      },
      onSkip: (file, err) => {
        skipped++;
        bar?.clear();
        ctx.stderr(`earshot: ${err instanceof EarshotError ? err.message : `${file}: ${err.message}`} (skipped)\n`);
      },
      log: (line) => ctx.stderr(`${line}\n`),
      createdAtMs: ctx.env.SOURCE_DATE_EPOCH ? Number(ctx.env.SOURCE_DATE_EPOCH) * 1000 : undefined,
    });
    bar?.clear();
    // Readable by the service's own user (heads hold no secrets); written whole or not at all.
    writeFileAtomic(opts.out, headJson(result.head), { mode: 0o644 });
    const seconds = (performance.now() - started) / 1000;
    ctx.stdout(reportTable(result.reports));
    const bytes = fs.statSync(opts.out).size;
    ctx.stderr(
      `wrote ${opts.out} (${(bytes / 1024).toFixed(0)} KiB): head "${result.head.name}" for ${Object.keys(result.head.labels).join(', ')}; ` +
        `${result.rows} windows (${result.cacheHits} of ${result.corpus.files.length} recordings from the feature cache) in ${seconds.toFixed(1)} s, peak memory ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB${skipped ? `; ${skipped} recording(s) skipped` : ''}\n` +
        `use it: earshot analyze --head ${opts.out} <recordings>, or earshot config set detection.head ${path.resolve(opts.out)}\n`,
    );
    return skipped ? ExitCode.dataErr : ExitCode.ok;
  } finally {
    bar?.clear();
    await stack.close();
  }
}
