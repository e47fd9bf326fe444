/**
 * Audio sources behind one interface: a microphone through a recorder program, a file replay,
 * raw PCM on stdin. A source delivers mono 16-bit PCM at its `sampleRate` and reports gaps
 * (the recorder died, the device vanished, stdin ended): it never throws into the pipeline.
 */

/** A stretch of time without audio: from the last sample before it to the first after it. */
export interface CaptureGap {
  /** ISO times. */
  start: string;
  end: string;
  durationMs: number;
  /** Samples delivered by the source before the gap. */
  samplesBefore: number;
  /** Samples missing (duration × rate). */
  missingSamples: number;
  reason: string;
}

export interface AudioSink {
  /** Mono PCM at the source's rate; the array is the caller's to keep. */
  data(samples: Int16Array): void;
  /** Audio stopped (the stream is discontinuous from here). */
  interrupted(reason: string): void;
  /** Audio is back after a gap. */
  gap(gap: CaptureGap): void;
}

/**
 * The contract every source passes (test/capture/source-contract.ts):
 * - `sampleRate` is the rate of every block delivered. A source that is told its rate (recorder,
 *   stdin) knows it from construction; a file replay learns it when start() decodes the file and
 *   reads 0 until then. It is final once start() has resolved, and before the first data().
 * - start() → stop() → start() works any number of times: audio flows again after each start,
 *   each sample is delivered once, and a later failure is reported once. Nothing is delivered
 *   after stop() has resolved, even when stop() came while start() was still pending.
 * - stop() is idempotent and may be called before start().
 * - Failures never throw into the caller: once running, a lost input (device gone, recorder
 *   exited, stream ended) reaches `interrupted` once, and `gap` when audio is back. The one
 *   exception is an input that cannot be opened at all where that is a configuration error: a
 *   replay file that is missing or unreadable rejects start() with an EarshotError naming it.
 */
export interface AudioSource {
  readonly kind: 'alsa' | 'file' | 'stdin';
  readonly sampleRate: number;
  /** Human-readable: the command, the file, "stdin". */
  readonly description: string;
  start(sink: AudioSink): void | Promise<void>;
  stop(): Promise<void>;
}

/** Interleaved little-endian s16 bytes → mono int16 (mean of the channels). Leftover bytes are returned. */
export function bytesToMono(buf: Buffer, channels: number): { samples: Int16Array; rest: Buffer } {
  const frameBytes = 2 * channels;
  const frames = Math.floor(buf.length / frameBytes);
  const out = new Int16Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += buf.readInt16LE(f * frameBytes + 2 * c);
    out[f] = Math.round(sum / channels);
  }
  return { samples: out, rest: buf.subarray(frames * frameBytes) };
}

/** Tracks when audio stopped and turns the restart into a CaptureGap. */
export class GapTracker {
  private stoppedAt?: number;
  private reason = '';
  samples = 0;

  constructor(
    private readonly rate: number,
    private readonly clock: () => number,
  ) {}

  get interrupted(): boolean {
    return this.stoppedAt !== undefined;
  }

  stopped(reason: string): boolean {
    if (this.stoppedAt !== undefined) return false;
    this.stoppedAt = this.clock();
    this.reason = reason;
    return true;
  }

  /** Call with each delivered block; returns the gap it ends, if any. */
  delivered(n: number): CaptureGap | undefined {
    let gap: CaptureGap | undefined;
    if (this.stoppedAt !== undefined) {
      const now = this.clock();
      const durationMs = Math.max(0, now - this.stoppedAt);
      gap = {
        start: new Date(this.stoppedAt).toISOString(),
        end: new Date(now).toISOString(),
        durationMs,
        samplesBefore: this.samples,
        missingSamples: Math.round((durationMs * this.rate) / 1000),
        reason: this.reason,
      };
      this.stoppedAt = undefined;
    }
    this.samples += n;
    return gap;
  }
}
