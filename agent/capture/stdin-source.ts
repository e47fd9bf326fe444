/**
 * Raw s16le PCM on stdin (`arecord ... | earshot run` with audio.source: stdin).
 *
 * start/stop may alternate (the scheduler pauses and resumes capture): stop() detaches and pauses
 * the stream, start() attaches again and resumes it explicitly (a paused stream does not resume
 * on a new 'data' listener). What the pipe held during a pause is delivered on resume. The bytes
 * of an incomplete frame are kept across a pause so the samples stay aligned. One error listener
 * stays attached from the first start, so an error while paused is logged, not thrown.
 */
import type { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import { bytesToMono, type AudioSink, type AudioSource } from './source.js';

export class StdinSource implements AudioSource {
  readonly kind = 'stdin' as const;
  readonly description = 'stdin (raw s16le)';
  /** The sink while started. */
  private sink?: AudioSink;
  /** Bytes of an incomplete frame, completed by the next chunk. */
  private rest: Buffer = Buffer.alloc(0);
  private errorListener = false;
  private failure?: string;

  constructor(
    readonly sampleRate: number,
    private readonly channels: number,
    private readonly logger: Logger,
    private readonly input: Readable = process.stdin,
  ) {}

  private readonly onData = (d: Buffer): void => {
    const { samples, rest } = bytesToMono(this.rest.length ? Buffer.concat([this.rest, d]) : d, this.channels);
    this.rest = Buffer.from(rest);
    if (samples.length) this.sink?.data(samples);
  };

  private readonly onEnd = (): void => {
    this.logger.warn({ component: 'capture' }, 'stdin ended: no more audio');
    this.sink?.interrupted('stdin ended');
  };

  private readonly onError = (err: Error): void => {
    const why = `stdin: ${err.message}`;
    if (this.sink) this.sink.interrupted(why);
    else {
      this.failure = why;
      this.logger.warn({ component: 'capture', err: err.message }, 'stdin failed while capture was paused');
    }
  };

  start(sink: AudioSink): void {
    this.detach();
    this.sink = sink;
    if (!this.errorListener) {
      this.input.on('error', this.onError);
      this.errorListener = true;
    }
    if (this.failure) {
      sink.interrupted(this.failure);
      return;
    }
    if (this.input.readableEnded) {
      sink.interrupted('stdin ended');
      return;
    }
    this.input.on('data', this.onData);
    this.input.once('end', this.onEnd);
    this.input.resume();
  }

  async stop(): Promise<void> {
    this.detach();
    this.sink = undefined;
    this.input.pause();
  }

  private detach(): void {
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
  }
}
