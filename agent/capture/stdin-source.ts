/** Raw s16le PCM on stdin (`arecord ... | earshot run` with audio.source: stdin). */
import type { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import { bytesToMono, type AudioSink, type AudioSource } from './source.js';

export class StdinSource implements AudioSource {
  readonly kind = 'stdin' as const;
  readonly description = 'stdin (raw s16le)';
  private onData?: (d: Buffer) => void;

  constructor(
    readonly sampleRate: number,
    private readonly channels: number,
    private readonly logger: Logger,
    private readonly input: Readable = process.stdin,
  ) {}

  start(sink: AudioSink): void {
    let rest: Buffer = Buffer.alloc(0);
    this.onData = (d: Buffer) => {
      const { samples, rest: r } = bytesToMono(rest.length ? Buffer.concat([rest, d]) : d, this.channels);
      rest = Buffer.from(r);
      if (samples.length) sink.data(samples);
    };
    this.input.on('data', this.onData);
    this.input.once('end', () => {
      this.logger.warn({ component: 'capture' }, 'stdin ended: no more audio');
      sink.interrupted('stdin ended');
    });
    this.input.on('error', (err) => sink.interrupted(`stdin: ${err.message}`));
  }

  async stop(): Promise<void> {
    if (this.onData) this.input.off('data', this.onData);
    this.input.pause();
  }
}
