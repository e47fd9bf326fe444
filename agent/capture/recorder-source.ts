/**
 * The microphone: a recorder program (arecord or sox, or `audio.recorderCommand`) writing raw
 * s16le PCM to stdout, spawned directly rather than through node-record-lpcm16. That package
 * has no 'error' handler on its child (a missing arecord crashes the process), hides stderr,
 * writes a WAV header of unknown length, and treats arecord's exit 1 on SIGTERM as a failure;
 * the spawn is twenty lines, so we own it.
 *
 * When the program exits or stalls (no data for `stallMs`), it is restarted with doubling
 * backoff (reset once it has delivered audio for a while); the silence is reported as a gap.
 */
import { spawn, type ChildProcess, type SpawnOptionsWithStdioTuple } from 'node:child_process';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../log.js';
import { systemTimers, type TimerHandle, type Timers } from '../timers.js';
import { bytesToMono, GapTracker, type AudioSink, type AudioSource } from './source.js';

export interface RecorderSourceOptions {
  /** argv of the recorder, or a shell command line (run with /bin/sh -c). */
  command: string[] | string;
  sampleRate: number;
  channels: number;
  logger: Logger;
  clock?: () => number;
  /** Restart backoff, stall watch and the stop timeout. Default: the system timers. */
  timers?: Timers;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** No data for this long: the recorder is killed and restarted. */
  stallMs?: number;
}

/** The recorder's argv from the audio configuration. */
export function recorderCommand(audio: Config['audio']): string[] | string {
  if (audio.recorderCommand) return audio.recorderCommand;
  if (audio.recorder === 'sox') {
    return ['sox', '-q', '-t', 'alsa', audio.device, '-t', 'raw', '-b', '16', '-e', 'signed-integer', '-L', '-c', String(audio.channels), '-r', String(audio.sampleRate), '-'];
  }
  return ['arecord', '-q', '-D', audio.device, '-f', 'S16_LE', '-t', 'raw', '-c', String(audio.channels), '-r', String(audio.sampleRate)];
}

export class RecorderSource implements AudioSource {
  readonly kind = 'alsa' as const;
  readonly sampleRate: number;
  readonly description: string;
  private child?: ChildProcess;
  private sink?: AudioSink;
  private stopping = false;
  private backoffMs: number;
  private restartTimer?: TimerHandle;
  private stallTimer?: TimerHandle;
  private readonly gaps: GapTracker;
  private readonly clock: () => number;
  private readonly timers: Timers;
  private readonly log: Logger;
  restarts = 0;
  private startedAt = 0;

  constructor(private readonly opts: RecorderSourceOptions) {
    this.sampleRate = opts.sampleRate;
    this.description = Array.isArray(opts.command) ? opts.command.join(' ') : opts.command;
    this.clock = opts.clock ?? Date.now;
    this.timers = opts.timers ?? systemTimers;
    this.backoffMs = opts.minBackoffMs ?? 1000;
    this.gaps = new GapTracker(opts.sampleRate, this.clock);
    this.log = opts.logger.child({ component: 'capture' });
  }

  start(sink: AudioSink): void {
    this.sink = sink;
    this.stopping = false;
    this.spawnRecorder();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.clearTimer('restartTimer');
    this.clearTimer('stallTimer');
    const child = this.child;
    // A child without a pid never started (its spawn error is on its way): nothing to end.
    if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = this.timers.setTimeout(() => killGroup(child, 'SIGKILL'), 1000);
      child.once('close', () => {
        this.timers.clearTimeout(t);
        resolve();
      });
      killGroup(child, 'SIGTERM');
    });
  }

  private spawnRecorder(): void {
    const cmd = this.opts.command;
    let child: ChildProcess;
    try {
      // Its own process group, so stop and the stall watch reach what a shell command started
      // (dash does not exec the last command: killing only the shell left the recorder holding
      // the pipe, and stop() waited for a close that never came).
      const options: SpawnOptionsWithStdioTuple<'ignore', 'pipe', 'pipe'> = { stdio: ['ignore', 'pipe', 'pipe'], detached: true };
      child = Array.isArray(cmd) ? spawn(cmd[0]!, cmd.slice(1), options) : spawn('/bin/sh', ['-c', cmd], options);
    } catch (err) {
      this.failed(`could not start the recorder: ${(err as Error).message}`);
      return;
    }
    this.child = child;
    this.startedAt = this.clock();
    let rest: Buffer = Buffer.alloc(0);
    let stderr = '';
    let reported = false;
    const done = (why: string) => {
      if (reported) return;
      reported = true;
      this.clearTimer('stallTimer');
      if (this.child === child) this.child = undefined;
      if (!this.stopping) this.failed(`${why}${stderr.trim() ? `: ${stderr.trim().slice(-300)}` : ''}`);
    };
    child.on('error', (err) => done(`recorder ${this.description} failed: ${err.message}`));
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.stdout!.on('data', (d: Buffer) => {
      const { samples, rest: r } = bytesToMono(rest.length ? Buffer.concat([rest, d]) : d, this.opts.channels);
      rest = Buffer.from(r);
      if (samples.length === 0) return;
      this.armStall(child);
      if (this.clock() - this.startedAt > 10_000) this.backoffMs = this.opts.minBackoffMs ?? 1000;
      const gap = this.gaps.delivered(samples.length);
      if (gap) {
        this.log.info({ gap }, 'audio is back');
        this.sink?.gap(gap);
      }
      this.sink?.data(samples);
    });
    child.on('close', (code, signal) => done(`recorder exited (${signal ?? `code ${code}`})`));
    this.armStall(child);
  }

  private armStall(child: ChildProcess): void {
    this.clearTimer('stallTimer');
    this.stallTimer = this.timers.setTimeout(() => {
      this.log.warn({ stallMs: this.opts.stallMs ?? 10_000 }, 'no audio from the recorder: restarting it');
      killGroup(child, 'SIGKILL');
    }, this.opts.stallMs ?? 10_000);
  }

  private clearTimer(which: 'restartTimer' | 'stallTimer'): void {
    const t = this[which];
    if (t !== undefined) this.timers.clearTimeout(t);
    this[which] = undefined;
  }

  private failed(why: string): void {
    if (this.stopping) return;
    if (this.gaps.stopped(why)) this.sink?.interrupted(why);
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.opts.maxBackoffMs ?? 30_000, this.backoffMs * 2);
    this.log.warn({ retryInMs: delay }, why);
    this.restartTimer = this.timers.setTimeout(() => {
      this.restartTimer = undefined;
      this.restarts++;
      if (!this.stopping) this.spawnRecorder();
    }, delay);
  }
}

/** Signals the recorder's whole process group (it leads one: spawned detached); falls back to the child. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    child.kill(signal);
  }
}
