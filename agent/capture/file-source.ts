/**
 * File replay for demos, tests and benchmarks: decodes a recording (WAV, or FLAC/MP3/OGG with
 * sox/ffmpeg) and delivers it in 100 ms blocks, paced in real time or as fast as the pipeline
 * takes it, optionally looping.
 *
 * The file is decoded once, at the first start (that is when `sampleRate` becomes known). A stop
 * pauses the replay where it is and the next start goes on from there, as a paused stream would.
 */
import { decodeAudioFile } from '../audio/decode-file.js';
import { float32ToInt16 } from '../../dsp/pcm.js';
import type { Logger } from '../log.js';
import { systemTimers, type TimerHandle, type Timers } from '../timers.js';
import type { AudioSink, AudioSource } from './source.js';

export interface FileSourceOptions {
  file: string;
  realtime: boolean;
  loop: boolean;
  logger: Logger;
  /** Block length, ms. */
  blockMs?: number;
  /** As-fast-as-possible replay waits while this is false (the pipeline's queue is full): no drops. */
  ready?: () => boolean;
  /** Default: the system timers. */
  timers?: Timers;
  /** Monotonic milliseconds that pace real-time replay. Default: performance.now. */
  clock?: () => number;
}

export class FileSource implements AudioSource {
  readonly kind = 'file' as const;
  /** 0 until the first start() has decoded the file. */
  sampleRate = 0;
  readonly description: string;
  /** Finished (no loop). */
  ended = false;
  private decoding?: Promise<Int16Array>;
  /** Next sample to deliver. */
  private pos = 0;
  /** Bumped by every start and stop: a decode or a tick of an earlier run ends there. */
  private run = 0;
  private timer?: TimerHandle;
  private immediate?: NodeJS.Immediate;
  private readonly timers: Timers;
  private readonly clock: () => number;
  private readonly log: Logger;

  constructor(private readonly opts: FileSourceOptions) {
    this.description = opts.file;
    this.timers = opts.timers ?? systemTimers;
    this.clock = opts.clock ?? (() => performance.now());
    this.log = opts.logger.child({ component: 'capture' });
  }

  /** Decodes the file at the first start (errors are the caller's: a bad replay file is a configuration error). */
  async start(sink: AudioSink): Promise<void> {
    this.cancel();
    const run = this.run;
    const pcm = await this.decoded();
    // Stopped (or started again) while decoding: that later call owns the replay.
    if (run !== this.run) return;
    this.play(run, pcm, sink);
  }

  async stop(): Promise<void> {
    this.cancel();
  }

  private cancel(): void {
    this.run++;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  /** The 16-bit samples, decoded once; a failed decode is tried again at the next start. */
  private decoded(): Promise<Int16Array> {
    // Only the rate and the 16-bit copy are kept, not the decoded float samples (twice the size).
    this.decoding ??= decodeAudioFile(this.opts.file).then(
      (audio) => {
        this.sampleRate = audio.sampleRate;
        return float32ToInt16(audio.mono);
      },
      (err: unknown) => {
        this.decoding = undefined;
        throw err;
      },
    );
    return this.decoding;
  }

  private play(run: number, pcm: Int16Array, sink: AudioSink): void {
    const { realtime, loop, ready } = this.opts;
    const rate = this.sampleRate;
    const blockMs = this.opts.blockMs ?? 100;
    const block = Math.max(1, Math.round((rate * blockMs) / 1000));
    let t0 = this.clock();
    let sent = 0;
    const tick = () => {
      if (run !== this.run) return;
      if (!realtime && ready && !ready()) {
        this.timer = this.timers.setTimeout(tick, 5);
        return;
      }
      // Real time: deliver what the clock says is due (catching up after a stall).
      let n = realtime ? Math.max(0, Math.floor(((this.clock() - t0) / 1000) * rate) - sent) : block;
      while (n > 0) {
        if (this.pos >= pcm.length) {
          if (!loop) {
            this.ended = true;
            this.log.info({ file: this.opts.file }, 'replay finished');
            sink.interrupted('end of replay file');
            return;
          }
          this.pos = 0;
        }
        const take = Math.min(n, block, pcm.length - this.pos);
        sink.data(pcm.slice(this.pos, this.pos + take));
        this.pos += take;
        sent += take;
        n -= take;
        // The sink may have stopped the source.
        if (run !== this.run) return;
      }
      if (realtime && sent > rate * 3600) {
        t0 += (sent / rate) * 1000;
        sent = 0;
      }
      // As fast as possible yields to the event loop between blocks rather than waiting.
      if (realtime) this.timer = this.timers.setTimeout(tick, blockMs);
      else this.immediate = setImmediate(tick);
    };
    tick();
  }
}
