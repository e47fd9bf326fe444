/** `earshot analyze <files or folders...>`: detections in recordings, offline. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { decodeAudioFile, type DecodedAudio } from '../audio/decode-file.js';
import { openDetection } from '../detect/open-detection.js';
import { findAudioFiles } from '../offline/find-audio.js';
import { pictureBaseNames, writeEventPictures } from '../render/event-pictures.js';
import { cannotCreate, ensureOutputFolder } from '../offline/output-path.js';
import { offlineEvent, RAVEN_SUFFIX, ravenTable, ravenTableNames } from '../offline/report.js';
import { EVENT_CSV_HEADER, eventCsvLine } from '../store/event-csv.js';
import { scoringHead } from '../detect/scoring-head.js';
import type { EarshotEvent } from '../event.js';
import { EarshotError, ExitCode, InputMissingError, UsageError } from '../errors.js';
import { CommandExit, globalOptions, type CliContext, type RegisterCommand } from './context.js';
import { numberOption } from './number-option.js';
import { ProgressLine } from './progress.js';

const COMPONENT = 'cli.analyze';
const FORMATS = ['text', 'json', 'csv', 'raven'] as const;
type Format = (typeof FORMATS)[number];

interface AnalyzeOptions {
  format: string;
  out?: string;
  minConfidence?: string;
  labels?: string;
  threads?: string;
  window?: string;
  hop?: string;
  batch?: string;
  head?: string;
  spectrograms?: string;
}

function optionalNumber(name: string, value: string | undefined, min: number, max: number): number | undefined {
  return value === undefined ? undefined : numberOption(COMPONENT, name, value, min, max);
}

function fmtTime(sec: number): string {
  const m = Math.floor(sec / 60);
  return `${String(m).padStart(2, '0')}:${(sec - m * 60).toFixed(1).padStart(4, '0')}`;
}

function textLine(e: EarshotEvent): string {
  const top = e.modelLabels[0];
  return `${e.file}\t${fmtTime(e.startSec ?? 0)}–${fmtTime(e.endSec ?? 0)}\t${e.label}\t${e.confidence.toFixed(2)}${top ? `\t(${top.label} ${top.score.toFixed(2)})` : ''}\n`;
}

export const registerAnalyzeCommand: RegisterCommand = (program, ctx) => {
  program
    .command('analyze')
    .description('detect events in recordings (WAV; FLAC/MP3/OGG with sox or ffmpeg); folders are walked')
    .argument('<inputs...>', 'audio files or folders')
    .option('-f, --format <format>', `output: ${FORMATS.join(', ')} (json: one event per line)`, 'text')
    .option('-o, --out <dir>', 'folder for Raven selection tables (--format raven)', '.')
    .option('--min-confidence <x>', 'report threshold for every label, 0–1 (0: every label\'s peak per file)')
    .option('--labels <list>', 'only these alert labels, comma-separated')
    .option('--threads <n>', 'inference threads (default: detection.threads)')
    .option('--window <sec>', 'window length in seconds (default: detection.windowSec)')
    .option('--hop <sec>', 'hop between windows in seconds (default: detection.hopSec)')
    .option('--batch <n>', 'windows per inference call', '8')
    .option('--head <file|default|none>', 'site head scoring its labels (default: detection.head)')
    .option('--spectrograms <dir>', 'also write a PNG spectrogram per event into this folder (<recording>_<label>_<start>s.png)')
    .action(async (inputs: string[], opts: AnalyzeOptions, cmd: Command) => {
      const code = await analyze(inputs, opts, cmd, ctx);
      if (code !== ExitCode.ok) throw new CommandExit(code);
    });
};

async function analyze(inputs: string[], opts: AnalyzeOptions, cmd: Command, ctx: CliContext): Promise<number> {
  if (!(FORMATS as readonly string[]).includes(opts.format)) {
    throw new UsageError(`--format: expected one of ${FORMATS.join(', ')}, got "${opts.format}"`, { component: COMPONENT, code: 'usage.format' });
  }
  const format = opts.format as Format;
  const minConfidence = optionalNumber('min-confidence', opts.minConfidence, 0, 1);
  const threads = optionalNumber('threads', opts.threads, 1, 64);
  const windowSec = optionalNumber('window', opts.window, 0.1, 60);
  const hopSec = optionalNumber('hop', opts.hop, 0.05, 60);
  const batchSize = optionalNumber('batch', opts.batch, 1, 256) ?? 8;
  const configFile = globalOptions(cmd).config;
  const { config } = loadConfig({ flag: configFile, env: ctx.env });

  const { files, missing } = findAudioFiles(inputs);
  for (const m of missing) ctx.stderr(`earshot: ${m}: no such file or folder\n`);
  if (files.length === 0) {
    throw new InputMissingError(`no audio files found in ${inputs.join(', ')}`, { component: COMPONENT, code: 'analyze.no-input' });
  }
  // Before the model loads: a bad --out is the user's to fix (exit 73), found in a second, not after the first file.
  const outDir = opts.out ?? '.';
  if (format === 'raven') ensureOutputFolder(outDir);
  const ravenNames = format === 'raven' ? ravenTableNames(files) : undefined;
  if (opts.spectrograms !== undefined) ensureOutputFolder(opts.spectrograms, '--spectrograms');
  const pictureNames = opts.spectrograms === undefined ? undefined : pictureBaseNames(files);
  for (const [file, name] of ravenNames ?? []) {
    if (name !== `${path.basename(file, path.extname(file))}${RAVEN_SUFFIX}`) ctx.stderr(`earshot: ${file}: Raven table ${name} (another input has the same name)\n`);
  }

  const stack = await openDetection(config, { threads, head: opts.head, mirror: ctx.env.EARSHOT_MODEL_MIRROR, configFile });
  const head = scoringHead(stack.head);
  const labels = opts.labels?.split(',').map((s) => s.trim()).filter(Boolean);
  const known = stack.classMap.labels.map((l) => l.name);
  const unknown = labels?.filter((l) => !known.includes(l)) ?? [];
  if (unknown.length) {
    await stack.close();
    throw new UsageError(`--labels: unknown label ${unknown.join(', ')}; accepted: ${known.join(', ')}`, { component: COMPONENT, code: 'usage.labels' });
  }
  const analyzer = stack.analyzer({ minConfidence, labels, batchSize, windowSec, hopSec });
  const progress = new ProgressLine(ctx, files.length);
  const byLabel = new Map<string, number>();
  let failed = missing.length;
  let audioSec = 0;
  let seq = 0;
  const t0 = process.cpuUsage();
  const wall0 = performance.now();
  if (format === 'csv') ctx.stdout(`${EVENT_CSV_HEADER}\n`);

  try {
    for (const file of files) {
      progress.update(file);
      let audio: DecodedAudio;
      try {
        audio = await decodeAudioFile(file);
      } catch (err) {
        failed++;
        progress.clear();
        ctx.stderr(`earshot: ${err instanceof EarshotError ? err.message : `${file}: ${(err as Error).message}`} (skipped)\n`);
        continue;
      }
      // A recording cut short (power loss) is analysed up to where it stops, but never silently.
      for (const w of audio.warnings) {
        progress.clear();
        ctx.stderr(`earshot: ${file}: warning: ${w}\n`);
      }
      const result = await analyzer.analyze(audio.mono, audio.sampleRate);
      audioSec += result.durationSec;
      const mtimeMs = fs.statSync(file).mtimeMs;
      const events = result.events.map((ev) =>
        offlineEvent(ev, ++seq, {
          device: config.device.id,
          model: stack.modelRef,
          location: config.device.location,
          file,
          sampleRate: result.sampleRate,
          recordingStartMs: mtimeMs - result.durationSec * 1000,
          clockSynced: false,
          ...(head ? { head } : {}),
        }),
      );
      progress.clear();
      for (const e of events) {
        byLabel.set(e.label, (byLabel.get(e.label) ?? 0) + 1);
        if (format === 'json') ctx.stdout(`${JSON.stringify(e)}\n`);
        else if (format === 'csv') ctx.stdout(`${eventCsvLine(e)}\n`);
        else if (format === 'text') ctx.stdout(textLine(e));
      }
      if (opts.spectrograms !== undefined && events.length) {
        const { clipPreSec: preSec, clipPostSec: postSec } = config.storage;
        const dir = opts.spectrograms;
        writeEventPictures(audio.mono, audio.sampleRate, events, { dir, baseName: pictureNames!.get(file)!, preSec, postSec, cannotWrite: (f, err) => cannotCreate('spectrogram', f, err) });
      }
      if (format === 'raven') {
        const out = path.join(outDir, ravenNames!.get(file)!);
        try {
          fs.writeFileSync(out, ravenTable(events, Math.min(stack.frontend.params.fMax, audio.sampleRate / 2)));
        } catch (err) {
          throw cannotCreate('Raven table', out, err);
        }
      }
    }
  } finally {
    progress.clear();
    await stack.close();
  }

  const cpu = process.cpuUsage(t0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  const wallSec = (performance.now() - wall0) / 1000;
  const labelsText = [...byLabel.entries()].sort((a, b) => b[1] - a[1]).map(([l, n]) => `${l} ${n}`).join(', ') || 'none';
  ctx.stderr(
    `analyzed ${files.length - (failed - missing.length)} of ${files.length} file(s)${failed ? `, ${failed} failed` : ''}; ` +
      `${(audioSec / 3600).toFixed(3)} h of audio in ${wallSec.toFixed(1)} s (${(audioSec / Math.max(cpuSec, 1e-9)).toFixed(0)}× real time per CPU second); ` +
      `events: ${labelsText}${head ? `; head ${head.ref.name} (${head.labels.join(', ')})` : ''}\n`,
  );
  return failed > 0 ? ExitCode.dataErr : ExitCode.ok;
}
