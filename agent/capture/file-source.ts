/**
 * File replay for demos, tests and benchmarks: decodes a recording (WAV, or FLAC/MP3/OGG with
 * sox/ffmpeg) and delivers it in 100 ms blocks, paced in real time or as fast as the pipeline
 * takes it, optionally looping.
 */
import { decodeAudioFile } from '../audio/decode-file.js';
import { float32ToInt16 } from '../../dsp/pcm.js';
import type { Logger } from '../log.js';
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
}

export class FileSource implements AudioSource {
  readonly kind = 'file' as const;
  sampleRate = 0;
  readonly description: string;
  private pcm: Int16Array = new Int16Array(0);
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** Finished (no loop). */
  ended = false;
  private readonly log: Logger;

  constructor(private readonly opts: FileSourceOptions) {
    this.description = opts.file;
    this.log = opts.logger.child({ component: 'capture' });
  }

  /** Decodes the file (errors are the caller's: a bad replay file is a configuration error). */
  async start(sink: AudioSink): Promise<void> {
    const audio = await decodeAudioFile(this.opts.file);
    // Only the rate and the 16-bit copy are kept: the closure below must not capture `audio`, or
    // the decoded float samples (twice the size of the copy) would stay in memory for good.
    const rate = audio.sampleRate;
    this.sampleRate = rate;
    this.pcm = float32ToInt16(audio.mono);
    this.stopped = false;
    const block = Math.max(1, Math.round((rate * (this.opts.blockMs ?? 100)) / 1000));
    let pos = 0;
    let t0 = performance.now();
    let sent = 0;
    const tick = () => {
      if (this.stopped) return;
      if (!this.opts.realtime && this.opts.ready && !this.opts.ready()) {
        this.timer = setTimeout(tick, 5);
        return;
      }
      // Real time: deliver what the wall clock says is due (catching up after a stall).
      const due = this.opts.realtime ? Math.floor(((performance.now() - t0) / 1000) * rate) - sent : block;
      let n = Math.max(0, due);
      while (n > 0 && !this.stopped) {
        if (pos >= this.pcm.length) {
          if (!this.opts.loop) {
            this.ended = true;
            this.log.info({ file: this.opts.file }, 'replay finished');
            sink.interrupted('end of replay file');
            return;
          }
          pos = 0;
        }
        const take = Math.min(n, block, this.pcm.length - pos);
        sink.data(this.pcm.slice(pos, pos + take));
        pos += take;
        sent += take;
        n -= take;
      }
      if (this.opts.realtime && sent > rate * 3600) {
        t0 += (sent / rate) * 1000;
        sent = 0;
      }
      this.timer = this.opts.realtime ? setTimeout(tick, this.opts.blockMs ?? 100) : (setImmediate(tick) as unknown as NodeJS.Timeout);
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearImmediate(this.timer as unknown as NodeJS.Immediate);
  }
}
