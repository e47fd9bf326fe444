/**
 * `earshot record --minutes N --out DIR`: background snippets from the microphone, spread over
 * hours (24 by default) so that the folder covers dawn, day, dusk and night, for `earshot train`
 * (its `background/` folder). The schedule is agent/record/snippet-schedule.ts, the capture loop
 * agent/record/record-snippets.ts; this module parses the options, opens the configured source,
 * reports progress and turns the outcome into an exit code.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { createSource } from '../capture/create-source.js';
import { recorderCommand } from '../capture/recorder-source.js';
import { EarshotError, ExitCode, UsageError, errnoCode } from '../errors.js';
import { silentLogger } from '../log.js';
import { monotonicEpochMs, recordSnippets, type CapturedSnippet, type RecordOutcome } from '../record/record-snippets.js';
import { saveSnippet } from '../record/snippet-files.js';
import { defaultSpanMs, snippetSchedule, type SnippetSchedule } from '../record/snippet-schedule.js';
import { CommandExit, globalOptions, type CliContext, type RegisterCommand } from './context.js';

const COMPONENT = 'cli.record';

interface RecordCliOptions {
  minutes?: string;
  out?: string;
  snippet: string;
  over?: string;
  now?: boolean;
  seed?: string;
}

/** The options, checked. */
export interface RecordPlanOptions {
  totalMs: number;
  snippetMs: number;
  /** 0: back-to-back. */
  spanMs: number;
  seed: number;
  /** Whether the seed was given (else it is printed so the schedule can be repeated). */
  seedGiven: boolean;
  out: string;
}

const MAX_MINUTES = 7 * 24 * 60;
const MAX_SNIPPET_SEC = 3600;
const MIN_SNIPPET_SEC = 0.5;
const MAX_SPAN_HOURS = 30 * 24;

function usage(message: string): UsageError {
  return new UsageError(message, { component: COMPONENT, code: 'usage.option' });
}

/** A number option: a plain decimal number within [min, max] (min excluded when `above`). */
function numberOption(name: string, value: string, accepted: string, ok: (n: number) => boolean): number {
  const n = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || !ok(n)) throw usage(`--${name}: expected ${accepted}, got "${value}"`);
  return n;
}

function fmtSec(sec: number): string {
  if (sec < 60) return `${Number.isInteger(sec) ? sec : sec.toFixed(1)} s`;
  if (sec < 3600) return `${+(sec / 60).toFixed(1)} min`;
  return `${+(sec / 3600).toFixed(1)} h`;
}

function fmtDbfs(db: number): string {
  return Number.isFinite(db) ? `${Math.round(db)} dBFS` : 'digital silence';
}

function fmtUtc(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

/** Checks the options (exit 2 with the option and what it accepts when one is wrong). */
export function parseRecordOptions(opts: RecordCliOptions, random: () => number = Math.random): RecordPlanOptions {
  if (opts.minutes === undefined) throw usage('--minutes <n> is required: the total minutes of audio to keep, a number > 0 (e.g. --minutes 90)');
  if (opts.out === undefined || opts.out.trim() === '') throw usage('--out <dir> is required: the folder the snippets go to (created if missing), e.g. --out site/background');
  const minutes = numberOption('minutes', opts.minutes, `a number of minutes > 0 and ≤ ${MAX_MINUTES}`, (n) => n > 0 && n <= MAX_MINUTES);
  const snippetSec = numberOption('snippet', opts.snippet, `a snippet length in seconds from ${MIN_SNIPPET_SEC} to ${MAX_SNIPPET_SEC}`, (n) => n >= MIN_SNIPPET_SEC && n <= MAX_SNIPPET_SEC);
  const totalMs = Math.round(minutes * 60_000);
  const snippetMs = Math.round(snippetSec * 1000);
  let spanMs: number;
  if (opts.now) {
    if (opts.over !== undefined && Number(opts.over) !== 0) throw usage(`--now records back-to-back and cannot be combined with --over ${opts.over}; give one of them`);
    spanMs = 0;
  } else if (opts.over === undefined) {
    spanMs = defaultSpanMs(totalMs);
  } else {
    const hours = numberOption('over', opts.over, `0 (back-to-back) or a number of hours up to ${MAX_SPAN_HOURS}`, (n) => n >= 0 && n <= MAX_SPAN_HOURS);
    spanMs = Math.round(hours * 3_600_000);
    if (spanMs > 0 && spanMs < totalMs) {
      throw usage(`--over: ${opts.over} h is shorter than the audio itself (${fmtSec(totalMs / 1000)}); give at least ${+(totalMs / 3_600_000).toFixed(3)} hours, or 0 for back-to-back`);
    }
  }
  let seed: number;
  const seedGiven = opts.seed !== undefined;
  if (opts.seed !== undefined) {
    if (!/^\d+$/.test(opts.seed.trim()) || Number(opts.seed) > 0xffffffff) throw usage(`--seed: expected a whole number from 0 to 4294967295, got "${opts.seed}"`);
    seed = Number(opts.seed);
  } else {
    seed = Math.floor(random() * 0x100000000) >>> 0;
  }
  return { totalMs, snippetMs, spanMs, seed, seedGiven, out: opts.out };
}

/** A one-line status on stderr, only on a terminal (agent/cli/progress.ts style), refreshed each second while waiting. */
class RecordProgress {
  private state = '';
  private last = '';
  private shown = false;
  private ticker?: NodeJS.Timeout;

  constructor(
    private readonly ctx: CliContext,
    private readonly total: number,
  ) {}

  private bar(kept: number): string {
    const width = 24;
    const filled = Math.round((width * kept) / Math.max(1, this.total));
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${kept}/${this.total}`;
  }

  waiting(kept: number, atWallMs: number): void {
    this.set(() => {
      const left = Math.max(0, atWallMs - Date.now()) / 1000;
      return `${this.bar(kept)} next snippet at ${fmtUtc(atWallMs)} (in ${left < 60 ? `${Math.ceil(left)} s` : fmtSec(left)})`;
    }, true);
  }

  recording(kept: number, number: number, durationMs: number): void {
    this.set(() => `${this.bar(kept)} recording ${number}/${this.total} (${fmtSec(durationMs / 1000)})`, false);
  }

  kept(kept: number, line: string): void {
    this.last = line;
    this.set(() => this.bar(kept), false);
  }

  private set(text: () => string, tick: boolean): void {
    if (!this.ctx.isTTY) return;
    clearInterval(this.ticker);
    this.state = '';
    const render = () => {
      this.state = text();
      this.ctx.stderr(`\r\x1b[2K${this.state}${this.last ? ` · last: ${this.last}` : ''}`);
      this.shown = true;
    };
    render();
    if (tick) {
      this.ticker = setInterval(render, 1000);
      this.ticker.unref();
    }
  }

  /** Prints a line that stays (above the status line). */
  line(text: string): void {
    this.clear();
    this.ctx.stderr(text);
  }

  clear(): void {
    if (this.shown) this.ctx.stderr('\r\x1b[2K');
    this.shown = false;
  }

  close(): void {
    clearInterval(this.ticker);
    this.clear();
  }
}

export const registerRecordCommand: RegisterCommand = (program, ctx) => {
  program
    .command('record')
    .description('record background snippets from the microphone, spread over hours (dawn, day, dusk, night), to train a site head (`earshot train`)')
    .option('--minutes <n>', 'total audio to keep, in minutes (required, > 0)')
    .option('--out <dir>', 'folder for the snippets, WAV files named by UTC start time (required; created; existing files are kept)')
    .option('--snippet <sec>', 'length of each snippet, in seconds', '10')
    .option('--over <hours>', 'hours the snippets are spread over (default 24, never less than the audio itself; 0: back-to-back)')
    .option('--now', 'record the snippets back-to-back, now (same as --over 0)')
    .option('--seed <n>', 'seed of the random jitter of the schedule (default: random, printed)')
    .action(async (opts: RecordCliOptions, cmd: Command) => {
      const code = await record(opts, cmd, ctx);
      // Nothing may keep the process alive once the snippets are written (a paused stdin).
      setTimeout(() => process.exit(process.exitCode ?? code), 500).unref();
      if (code !== ExitCode.ok) throw new CommandExit(code);
    });
};

async function record(cliOpts: RecordCliOptions, cmd: Command, ctx: CliContext): Promise<number> {
  const opts = parseRecordOptions(cliOpts);
  const { config } = loadConfig({ flag: globalOptions(cmd).config, env: ctx.env });
  const audio = config.audio;
  const outDir = path.resolve(ctx.cwd, opts.out);
  makeFolder(outDir, opts.out);

  const clock = monotonicEpochMs;
  const schedule = snippetSchedule({ totalMs: opts.totalMs, snippetMs: opts.snippetMs, spanMs: opts.spanMs, seed: opts.seed, startMs: clock() });
  const toWall = (ms: number) => Date.now() + (ms - clock());
  const logger = silentLogger();
  const continuous = audio.source !== 'alsa';
  const command = recorderCommand(audio);
  const describe = audio.source === 'alsa' ? `the recorder "${Array.isArray(command) ? command.join(' ') : command}"` : audio.source === 'file' ? `the replay of ${audio.file}` : 'stdin';
  ctx.stdout(`${planLine(schedule, opts, describe)}\n`);

  const progress = new RecordProgress(ctx, schedule.snippets.length);
  const shown = (file: string) => path.join(opts.out, path.basename(file));
  const ac = new AbortController();
  let stoppedBy: string | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(130);
    stoppedBy = sig;
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let outcome: RecordOutcome;
  try {
    outcome = await recordSnippets({
      schedule,
      openSource: (wanted) => createSource(audio, logger, wanted),
      continuous,
      save: (s: CapturedSnippet) => saveSnippet(outDir, s.startMs, s.samples, s.sampleRate),
      signal: ac.signal,
      clock,
      gainDb: audio.gainDb,
      check: !continuous && opts.spanMs > 0,
      report: {
        checked: ({ sampleRate, levelDbfs }) => {
          progress.clear();
          ctx.stdout(`microphone ok: ${sampleRate} Hz, ${fmtDbfs(levelDbfs)}\n`);
        },
        waiting: (number, at) => progress.waiting(number - 1, toWall(at)),
        recording: (number, durationMs) => progress.recording(number - 1, number, durationMs),
        kept: (s, file) => {
          const what = `${shown(file)} (${(s.samples.length / s.sampleRate).toFixed(1)} s, ${fmtDbfs(s.levelDbfs)})`;
          if (ctx.isTTY) progress.kept(s.number, what);
          else ctx.stdout(`kept ${s.number}/${schedule.snippets.length}: ${what}\n`);
        },
        lost: (number, reason, next) => {
          const then = next === undefined ? 'not retried' : `retrying at ${fmtUtc(toWall(next))}`;
          progress.line(`earshot: lost snippet ${number}/${schedule.snippets.length}: ${reason}; ${then}\n`);
        },
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.close();
  }

  const total = schedule.snippets.length;
  const kept = `kept ${outcome.kept}/${total} snippet${total === 1 ? '' : 's'} (${fmtSec(outcome.keptMs / 1000)}) in ${opts.out}`;
  const losses = outcome.losses ? `; ${outcome.losses} attempt${outcome.losses === 1 ? '' : 's'} lost to the audio source (last: ${outcome.lastLoss})` : '';
  switch (outcome.end) {
    case 'done':
      ctx.stdout(`${kept}${losses}\n`);
      return ExitCode.ok;
    case 'stopped':
      ctx.stdout(`stopped${stoppedBy ? ` by ${stoppedBy}` : ''}: ${kept}${losses}; the files written are complete\n`);
      return ExitCode.ok;
    case 'gave-up':
      ctx.stdout(`${kept}${losses}\n`);
      ctx.stderr(`earshot: gave up on the last ${total - outcome.kept} snippet(s): ${describe} failed at every retry after the last slot; check the microphone and run again for the rest\n`);
      return ExitCode.unavailable;
    case 'source-ended':
      ctx.stdout(`${kept}${losses}\n`);
      ctx.stderr(`earshot: ${describe} ended before the ${total - outcome.kept} remaining snippet(s) were recorded\n`);
      return ExitCode.unavailable;
  }
}

function planLine(schedule: SnippetSchedule, opts: RecordPlanOptions, from: string): string {
  const n = schedule.snippets.length;
  const first = schedule.snippets[0]!.durationMs;
  const last = schedule.snippets[n - 1]!.durationMs;
  const lengths = n === 1 || last === first ? fmtSec(first / 1000) : `${fmtSec(first / 1000)}, the last ${fmtSec(last / 1000)}`;
  const what = `${n} snippet${n === 1 ? '' : 's'} of ${lengths} (${fmtSec(schedule.totalMs / 1000)} in all) into ${opts.out}`;
  const when =
    schedule.spanMs === 0
      ? 'back-to-back, now'
      : `spread over ${fmtSec(schedule.spanMs / 1000)} (one per ${fmtSec(schedule.periodMs / 1000)}, seed ${opts.seed}), first at ${fmtUtc(Date.now() + (schedule.snippets[0]!.startMs - monotonicEpochMs()))}`;
  return `recording ${what}, ${when}, from ${from}`;
}

function makeFolder(dir: string, shown: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST' || code === 'ENOTDIR') throw usage(`--out: ${shown} is a file, not a folder; give a folder for the snippets`);
    throw new EarshotError(`--out: cannot create the folder ${shown}: ${code ?? (err as Error).message}`, { component: COMPONENT, code: 'record.out', cause: err });
  }
  if (!fs.statSync(dir).isDirectory()) throw usage(`--out: ${shown} is a file, not a folder; give a folder for the snippets`);
}
