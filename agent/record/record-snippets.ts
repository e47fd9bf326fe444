/**
 * The capture loop of `earshot record`: waits for each planned snippet, starts the audio source,
 * keeps the snippet's samples, stops the source again (saves power, and each start shows the
 * microphone is still there), and hands the snippet to `save`.
 *
 * A lost microphone does not end the run: the snippet is retried at the next slot (after the last
 * slot, at extra slots spaced like the others) and the loss is reported. Only when the first
 * attempts all fail (nothing was ever heard) does it give up with an UnavailableError naming the
 * source. Sources that are not a microphone (stdin, a file replay) run throughout: there is no
 * device to rest between snippets, and their end is final.
 * Clock, sleep and source are injected: tests run whole schedules without waiting.
 */
import { UnavailableError } from '../errors.js';
import type { AudioSink, AudioSource } from '../capture/source.js';
import type { SnippetSchedule } from './snippet-schedule.js';

const COMPONENT = 'record';

export interface CapturedSnippet {
  /** Number of the snippet, from 1. */
  number: number;
  samples: Int16Array;
  sampleRate: number;
  /** Wall-clock time of the first sample (epoch ms). */
  startMs: number;
  /** RMS level, dBFS (-Infinity for digital silence). */
  levelDbfs: number;
}

export interface RecordReporter {
  /** The microphone check at the start passed. */
  checked?(info: { sampleRate: number; levelDbfs: number }): void;
  /** Waiting for snippet `number` (clock time `atMs`). */
  waiting?(number: number, atMs: number): void;
  recording?(number: number, durationMs: number): void;
  kept(snippet: CapturedSnippet, file: string): void;
  /** An attempt at snippet `number` failed; it is retried at `nextAtMs` (undefined: no retry). */
  lost(number: number, reason: string, nextAtMs: number | undefined): void;
}

export interface RecordOptions {
  schedule: SnippetSchedule;
  /**
   * A source to start; called again after each stop when `continuous` is false (a fresh one each
   * time). `wanted` says whether a snippet is being taken (a file replayed as fast as possible waits for it).
   */
  openSource: (wanted: () => boolean) => AudioSource;
  /** Keep one source running throughout (stdin, file replay: no microphone to rest). */
  continuous: boolean;
  save: (snippet: CapturedSnippet) => string;
  report: RecordReporter;
  signal: AbortSignal;
  /** Clock the schedule is in (ms). Default: monotonic, epoch-based (a clock step does not move slots). */
  clock?: () => number;
  /** Wall clock for snippet times (default Date.now). */
  wallClock?: () => number;
  /** Resolves after `ms` or when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  gainDb?: number;
  /** Audio dropped after each start of the source (a microphone's start-up transient). Default 250 ms. */
  settleMs?: number;
  /** Least time between a failed attempt and the next. Default 1 s. */
  retryDelayMs?: number;
  /** The source is left running when the next snippet is due within this long. Default 2 s. */
  keepRunningMs?: number;
  /** Give up with UnavailableError after this many failed attempts with nothing kept; also the failures in a row tolerated after the last slot. Default 3. */
  failFastAttempts?: number;
  /** An attempt with no complete snippet after its length plus this long has failed. Default 30 s. */
  attemptGraceMs?: number;
  /** Check the microphone (half a second of audio) before waiting for the first slot. */
  check?: boolean;
}

export type RecordEnd = 'done' | 'stopped' | 'gave-up' | 'source-ended';

export interface RecordOutcome {
  end: RecordEnd;
  kept: number;
  total: number;
  keptMs: number;
  files: string[];
  /** Failed attempts. */
  losses: number;
  lastLoss?: string;
}

/** dBFS of the RMS of 16-bit samples. */
export function levelDbfs(samples: Int16Array): number {
  if (samples.length === 0) return -Infinity;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  const rms = Math.sqrt(sum / samples.length);
  return rms === 0 ? -Infinity : 20 * Math.log10(rms / 32768);
}

/** Applies a gain in dB in place, clipping to 16 bits. */
export function applyGain(samples: Int16Array, gainDb: number): void {
  if (!gainDb) return;
  const g = 10 ** (gainDb / 20);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i] * g)));
}

/** A monotonic clock in epoch milliseconds. */
export function monotonicEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** setTimeout as a promise that also ends on abort; waits in steps of at most an hour (timer limits). */
export async function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  let left = ms;
  while (left > 0 && !signal.aborted) {
    const step = Math.min(left, 3_600_000);
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, step);
      signal.addEventListener('abort', done, { once: true });
    });
    left -= step;
  }
}

type Attempt = { ok: true; samples: Int16Array; sampleRate: number; startMs: number } | { ok: false; reason: string; aborted?: boolean };

/**
 * The sink between the source and the snippet being taken: keeps what is asked for, drops the
 * rest. Snippet times are sample counts from the first block the source delivered (anchored to
 * the wall clock then), as the agent times its events: back-to-back snippets follow each other
 * exactly, whatever the pace at which blocks arrive.
 */
class SnippetTap implements AudioSink {
  /** Why the source stopped, if it did since it was started. */
  down?: string;
  /** Wall-clock time of the source's first sample. */
  private anchorMs?: number;
  /** Samples delivered since the start. */
  private heard = 0;
  /** Audio heard after the last snippet was complete, in the same block, and its position. */
  private carry?: { samples: Int16Array; pos: number };
  private job?: {
    needMs: number;
    skipMs: number;
    need: number;
    skip: number;
    got: number;
    chunks: Int16Array[];
    startMs: number;
    finish: (a: Attempt) => void;
  };

  constructor(
    private readonly rate: () => number,
    private readonly wallClock: () => number,
  ) {}

  get busy(): boolean {
    return this.job !== undefined;
  }

  /** The next `needMs` of audio after dropping `skipMs`; fails when the source stops, after `timeoutMs`, or on abort. */
  take(needMs: number, skipMs: number, timeoutMs: number, signal: AbortSignal): Promise<Attempt> {
    return new Promise<Attempt>((resolve) => {
      const finish = (a: Attempt) => {
        if (this.job !== job) return;
        this.job = undefined;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(a);
      };
      const job = { needMs, skipMs, need: -1, skip: 0, got: 0, chunks: [] as Int16Array[], startMs: 0, finish };
      const onAbort = () => finish({ ok: false, reason: 'stopped', aborted: true });
      const timer = setTimeout(() => finish({ ok: false, reason: `no audio for ${Math.round(timeoutMs / 1000)} s` }), timeoutMs);
      this.job = job;
      signal.addEventListener('abort', onAbort, { once: true });
      const carry = this.carry;
      this.carry = undefined;
      if (signal.aborted) onAbort();
      else if (this.down !== undefined) finish({ ok: false, reason: this.down });
      else if (carry && skipMs === 0) this.feed(carry.samples, carry.pos);
    });
  }

  data(samples: Int16Array): void {
    const pos = this.heard;
    this.heard += samples.length;
    // A block arrives when its last sample has been heard: its first was that long ago.
    this.anchorMs ??= this.wallClock() - (samples.length / this.rate()) * 1000;
    this.carry = undefined;
    this.feed(samples, pos);
  }

  /** `samples` start at sample `pos` of the stream. */
  private feed(samples: Int16Array, pos: number): void {
    const job = this.job;
    if (!job) return;
    const rate = this.rate();
    if (job.need < 0) {
      // The rate of a file replay is known once it runs: size the snippet at its first block.
      job.need = Math.max(1, Math.round((job.needMs * rate) / 1000));
      job.skip = Math.round((job.skipMs * rate) / 1000);
    }
    let s = samples;
    let at = pos;
    if (job.skip > 0) {
      const k = Math.min(job.skip, s.length);
      job.skip -= k;
      s = s.subarray(k);
      at += k;
      if (s.length === 0) return;
    }
    if (job.got === 0) job.startMs = (this.anchorMs ?? this.wallClock()) + (at / rate) * 1000;
    const take = Math.min(s.length, job.need - job.got);
    job.chunks.push(s.slice(0, take));
    job.got += take;
    if (job.got < job.need) return;
    // The rest of the block starts the next snippet if that one is taken before more audio comes.
    if (take < s.length) this.carry = { samples: s.slice(take), pos: at + take };
    const out = new Int16Array(job.need);
    let p = 0;
    for (const c of job.chunks) {
      out.set(c, p);
      p += c.length;
    }
    job.finish({ ok: true, samples: out, sampleRate: rate, startMs: job.startMs });
  }

  interrupted(reason: string): void {
    this.down = reason;
    const job = this.job;
    if (job) {
      const heard = job.need > 0 ? ` after ${(job.got / this.rate()).toFixed(1)} s of the snippet` : '';
      job.finish({ ok: false, reason: `${reason}${heard}` });
    }
  }

  gap(): void {
    // The stream is discontinuous; a snippet in progress already failed at the interruption.
  }
}

/** Records the schedule's snippets; resolves with what was kept (files written by `save`). */
export async function recordSnippets(opts: RecordOptions): Promise<RecordOutcome> {
  const clock = opts.clock ?? monotonicEpochMs;
  const wallClock = opts.wallClock ?? Date.now;
  const sleep = opts.sleep ?? abortableSleep;
  const settleMs = opts.settleMs ?? 250;
  const retryDelayMs = opts.retryDelayMs ?? 1000;
  const keepRunningMs = opts.keepRunningMs ?? 2000;
  const failFast = opts.failFastAttempts ?? 3;
  const graceMs = opts.attemptGraceMs ?? 30_000;
  const { schedule, signal, report } = opts;
  const plan = schedule.snippets;
  const total = plan.length;
  const outcome: RecordOutcome = { end: 'done', kept: 0, total, keptMs: 0, files: [], losses: 0 };

  let source: AudioSource | undefined;
  let tap: SnippetTap | undefined;
  let description = '';
  let kind: AudioSource['kind'] = 'alsa';
  const start = async (): Promise<string | undefined> => {
    const opened: { source?: AudioSource } = {};
    const t = new SnippetTap(() => opened.source?.sampleRate ?? 0, wallClock);
    const s = opts.openSource(() => t.busy);
    opened.source = s;
    description = s.description;
    kind = s.kind;
    source = s;
    tap = t;
    try {
      await s.start(t);
    } catch (err) {
      if (opts.continuous) throw err;
      await stop();
      return `could not start ${s.description}: ${(err as Error).message}`;
    }
    return undefined;
  };
  const stop = async () => {
    const s = source;
    source = undefined;
    tap = undefined;
    await s?.stop();
  };
  const sourceName = () => (description ? `"${description}"` : 'the audio source');
  const noAudio = (attempts: number, reason: string) =>
    new UnavailableError(
      `no audio from ${sourceName()}: ${attempts} attempt${attempts === 1 ? '' : 's'} failed (last: ${reason})` +
        (kind === 'alsa' ? '; check the microphone, audio.device and audio.recorderCommand (arecord -L lists the capture devices)' : ''),
      { component: COMPONENT, code: 'record.no-audio' },
    );

  /** One attempt: start the source when it is not running, take `durationMs`, stop it again unless told to keep it. */
  const attempt = async (durationMs: number): Promise<Attempt> => {
    if (tap?.down !== undefined && !opts.continuous) await stop();
    let skip = 0;
    if (!source) {
      const failed = await start();
      if (failed) return { ok: false, reason: failed };
      skip = opts.continuous ? 0 : settleMs;
    }
    const a = await tap!.take(durationMs, skip, durationMs + skip + graceMs, signal);
    if (!a.ok && !opts.continuous) await stop();
    return a;
  };

  try {
    if (opts.check && !opts.continuous && total > 0 && plan[0].startMs - clock() > keepRunningMs) {
      for (let n = 1; ; n++) {
        const a = await attempt(500);
        if (signal.aborted) break;
        await stop();
        if (a.ok) {
          applyGain(a.samples, opts.gainDb ?? 0);
          report.checked?.({ sampleRate: a.sampleRate, levelDbfs: levelDbfs(a.samples) });
          break;
        }
        if (n >= failFast) throw noAudio(n, a.reason);
        await sleep(retryDelayMs, signal);
      }
    }

    let slot = 0;
    let notBefore = -Infinity;
    let failedBeforeFirst = 0;
    let failedInARow = 0;
    // Back-to-back: every attempt as soon as possible (a retry only waits for the retry delay).
    const slotTime = (i: number) =>
      schedule.spanMs === 0 ? -Infinity : i < total ? plan[i].startMs : plan[total - 1].startMs + (i - total + 1) * schedule.periodMs;
    while (outcome.kept < total) {
      if (signal.aborted) break;
      const number = outcome.kept + 1;
      const durationMs = plan[outcome.kept].durationMs;
      const due = Math.max(slotTime(slot), notBefore);
      const wait = due - clock();
      if (source && !opts.continuous && wait > keepRunningMs) await stop();
      if (wait > 0) {
        report.waiting?.(number, due);
        await sleep(wait, signal);
        if (signal.aborted) break;
      }
      report.recording?.(number, durationMs);
      const a = await attempt(durationMs);
      const extraSlot = slot >= total;
      slot++;
      if (!a.ok && a.aborted) break;
      if (a.ok) {
        applyGain(a.samples, opts.gainDb ?? 0);
        const snippet: CapturedSnippet = { number, samples: a.samples, sampleRate: a.sampleRate, startMs: a.startMs, levelDbfs: levelDbfs(a.samples) };
        const file = opts.save(snippet);
        outcome.kept++;
        outcome.keptMs += (a.samples.length / a.sampleRate) * 1000;
        outcome.files.push(file);
        failedInARow = 0;
        report.kept(snippet, file);
        continue;
      }
      outcome.losses++;
      outcome.lastLoss = a.reason;
      if (outcome.kept === 0 && ++failedBeforeFirst >= failFast) throw noAudio(failedBeforeFirst, a.reason);
      if (opts.continuous && tap?.down !== undefined) {
        if (outcome.kept === 0) throw noAudio(failedBeforeFirst, a.reason);
        report.lost(number, a.reason, undefined);
        outcome.end = 'source-ended';
        break;
      }
      if (extraSlot && ++failedInARow >= failFast) {
        report.lost(number, a.reason, undefined);
        outcome.end = 'gave-up';
        break;
      }
      notBefore = clock() + retryDelayMs;
      report.lost(number, a.reason, Math.max(slotTime(slot), notBefore));
    }
  } finally {
    await stop();
  }
  if (outcome.end === 'done' && outcome.kept < total) outcome.end = 'stopped';
  return outcome;
}
