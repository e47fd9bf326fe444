/**
 * The live input: capture PCM at the device's rate → gain → the streaming front end
 * (dsp/frontend.ts: resampler to the model rate, log-mel) → model-rate samples into the sample
 * ring (pre-roll for clips, audio for voice and the gate) and frames out. Also measures the input
 * level after the gain.
 */
import type { FrontendSink, StreamingFrontend } from '../../dsp/frontend.js';
import type { FrameSink } from '../../dsp/melspec.js';
import type { SampleRing } from './sample-ring.js';

export interface LiveInputOptions {
  /** The streaming front end from the capture rate to the model's frames. */
  frontend: StreamingFrontend;
  ring: SampleRing;
  gainDb?: number;
}

export class LiveInput {
  /** RMS level of the last whole second of input, dBFS (none before the first second). */
  levelDbfs?: number;
  private floatBuf = new Float32Array(8192);
  private sumSq = 0;
  private levelCount = 0;
  private lastSink?: FrontendSink;

  constructor(private readonly opts: LiveInputOptions) {}

  /** Mono PCM at the input rate; the frames it completes go to `onFrame`, after their samples reached the ring. */
  push(samples: Int16Array, onFrame: FrameSink): void {
    this.opts.frontend.push(this.toFloat(samples), this.sink(onFrame));
  }

  /** End of a segment: the remaining samples and frames; the next push starts afresh. */
  flush(onFrame: FrameSink): void {
    this.opts.frontend.flush(this.sink(onFrame));
  }

  /** The front end's sink for `onFrame`, made once (capture pushes many blocks a second with the same one). */
  private sink(onFrame: FrameSink): FrontendSink {
    if (this.lastSink?.frame !== onFrame) this.lastSink = { samples: (y: Float32Array) => this.opts.ring.write(y), frame: onFrame };
    return this.lastSink;
  }

  /** int16 → float with the gain, clipped to [-1, 1], measuring the level on the way. */
  private toFloat(samples: Int16Array): Float32Array {
    if (this.floatBuf.length < samples.length) this.floatBuf = new Float32Array(samples.length);
    const x = this.floatBuf.subarray(0, samples.length);
    const g = 10 ** ((this.opts.gainDb ?? 0) / 20) / 32768;
    for (let i = 0; i < samples.length; i++) {
      const v = Math.max(-1, Math.min(1, samples[i]! * g));
      x[i] = v;
      this.sumSq += v * v;
    }
    this.levelCount += samples.length;
    if (this.levelCount >= this.opts.frontend.inputRate) {
      this.levelDbfs = Math.round(10 * Math.log10(this.sumSq / this.levelCount + 1e-12) * 10) / 10;
      this.sumSq = 0;
      this.levelCount = 0;
    }
    return x;
  }
}
