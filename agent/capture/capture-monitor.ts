/**
 * Between the audio source and detection: the AudioSink every source delivers to. It counts what
 * capture did (samples, gaps, the current interruption) for health and `earshot status`, and
 * passes the audio on: blocks to the consumer, and a segment end whenever the stream breaks (the
 * source was interrupted, or capture was paused by the listening controller).
 */
import type { AudioSink, CaptureGap } from './source.js';

/** What health reports about capture. */
export interface CaptureHealth {
  source: string;
  description: string;
  running: boolean;
  samples: number;
  gaps: number;
  gapMsTotal: number;
  lastGap?: CaptureGap;
  /** When the current interruption began (audio is missing now). */
  interruptedSince?: string;
  interruptedReason?: string;
}

/** Where captured audio goes (the live detection). */
export interface CaptureConsumer {
  audio(samples: Int16Array): void;
  /** The stream is discontinuous from here. */
  segmentEnded(): void;
}

export interface CaptureMonitorOptions {
  /** The configured source kind and its description. */
  source: string;
  description: string;
  consumer: CaptureConsumer;
  clock: () => number;
  /** Audio is back after a gap (health samples at once, so the gap is on record). */
  onGap?: (gap: CaptureGap) => void;
}

export class CaptureMonitor implements AudioSink {
  private readonly counters: CaptureHealth;

  constructor(private readonly opts: CaptureMonitorOptions) {
    this.counters = { source: opts.source, description: opts.description, running: false, samples: 0, gaps: 0, gapMsTotal: 0 };
  }

  /** A copy of the counters. */
  health(): CaptureHealth {
    return { ...this.counters };
  }

  data(samples: Int16Array): void {
    const c = this.counters;
    c.running = true;
    c.samples += samples.length;
    // Audio flows: whatever interrupted it is over (a restarted source need not report a gap).
    delete c.interruptedSince;
    delete c.interruptedReason;
    this.opts.consumer.audio(samples);
  }

  interrupted(reason: string): void {
    const c = this.counters;
    c.running = false;
    c.interruptedSince ??= new Date(this.opts.clock()).toISOString();
    c.interruptedReason = reason;
    this.opts.consumer.segmentEnded();
  }

  gap(gap: CaptureGap): void {
    const c = this.counters;
    c.gaps++;
    c.gapMsTotal += gap.durationMs;
    c.lastGap = gap;
    delete c.interruptedSince;
    delete c.interruptedReason;
    this.opts.onGap?.(gap);
  }
}
