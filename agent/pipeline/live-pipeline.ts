/**
 * The live detection pipeline, composed of one-job parts:
 *   LiveInput      capture PCM → gain → resampler → sample ring (pre-roll) → log-mel frames
 *   WindowCutter   frames → model windows (the cut the offline Analyzer makes: detect/windows.ts)
 *   InferenceQueue bounded; drops the oldest window when inference falls behind
 *   WindowScorer   tagger (+ activity gate, + gated voice, + site head) → scores → EventTracker
 *   SegmentClock   sample indices → wall-clock ms
 *
 * Capture calls `push` synchronously and it never waits for inference. The stream is cut into
 * segments at every capture gap: the tail of a segment is scored like the end of a file, and
 * open events are closed, so a segment yields the events the offline Analyzer finds in the same
 * audio. The tracker works in model-rate sample indices of the ring.
 */
import { createStreamingFrontend } from '../../dsp/frontend.js';
import type { MelFrontend } from '../../dsp/melspec.js';
import { DETECTION_RESAMPLING } from '../../dsp/resample.js';
import type { ClassMap } from '../../models/classmap.js';
import { activeLabels } from '../detect/active-labels.js';
import type { HeadScorer } from '../detect/head-scorer.js';
import { SpeechTrack, type TrackVoice } from '../detect/speech-track.js';
import { EventTracker, type EventChange } from '../detect/tracker.js';
import type { Tagger } from '../detect/types.js';
import { WindowScorer, type ScorerWindow } from '../detect/window-scorer.js';
import { closeAfterHops, windowGrid, windowSamples } from '../detect/windows.js';
import type { Logger } from '../log.js';
import type { ActivityGate } from './activity-gate.js';
import { InferenceQueue } from './inference-queue.js';
import { LiveInput } from './live-input.js';
import { SampleRing } from './sample-ring.js';
import { SegmentClock } from './segment-clock.js';
import { WindowCutter, type CutWindow } from './window-cutter.js';

export type { ActivityGate } from './activity-gate.js';

export interface LiveChange extends EventChange {
  /** Wall-clock ms of the event's first and last sample. */
  startMs: number;
  endMs: number;
}

export interface LivePipelineOptions {
  inputRate: number;
  frontend: MelFrontend;
  tagger: Pick<Tagger, 'score'>;
  voice?: TrackVoice;
  /** The class map (with the head applied when a head runs: `applyHead` in open-detection.ts). */
  classMap: ClassMap;
  /** A site head scoring its labels from the tagger's embedding, logits and the window's log-mel. */
  head?: Pick<HeadScorer, 'score'>;
  windowSec: number;
  hopSec: number;
  gainDb?: number;
  /** Windows waiting for inference before the oldest is dropped. */
  queueMax?: number;
  batchSize?: number;
  /** Seconds of model-rate audio kept for clips and voice. */
  ringSec?: number;
  gate?: ActivityGate;
  onChange: (change: LiveChange) => void;
  clock?: () => number;
  logger: Logger;
}

export interface PipelineStats {
  windowsQueued: number;
  windowsScored: number;
  windowsSkipped: number;
  windowsDropped: number;
  queueDepth: number;
  /** RMS level of the last second of input, dBFS. */
  levelDbfs?: number;
  inferenceMs: number;
}

/** A window in the queue: its segment and ring sample indices. */
interface LiveWindow extends ScorerWindow {
  segment: number;
}

export class LivePipeline {
  readonly modelRate: number;
  readonly ring: SampleRing;
  private readonly input: LiveInput;
  private readonly cutter: WindowCutter;
  private readonly queue: InferenceQueue<LiveWindow, number>;
  private readonly scorer: WindowScorer<LiveWindow>;
  private readonly times: SegmentClock;
  private readonly log: Logger;
  private inSegment = false;
  private windowsScored = 0;
  private windowsSkipped = 0;

  constructor(private readonly opts: LivePipelineOptions) {
    const params = opts.frontend.params;
    const grid = windowGrid(params, opts.windowSec, opts.hopSec);
    const labels = activeLabels(opts.classMap, {});
    const gate = opts.gate;
    this.log = opts.logger.child({ component: 'pipeline' });
    this.modelRate = params.sampleRate;
    this.ring = new SampleRing(Math.round((opts.ringSec ?? 90) * params.sampleRate));
    const frontend = createStreamingFrontend(params, opts.inputRate, { mel: opts.frontend, resampler: DETECTION_RESAMPLING });
    this.input = new LiveInput({ frontend, ring: this.ring, ...(opts.gainDb !== undefined ? { gainDb: opts.gainDb } : {}) });
    this.cutter = new WindowCutter(grid, opts.frontend.nMels);
    this.scorer = new WindowScorer<LiveWindow>({
      tagger: opts.tagger,
      classMap: opts.classMap,
      labels,
      ...(opts.head ? { head: opts.head } : {}),
      ...(opts.voice ? { speech: new SpeechTrack(opts.voice, params.sampleRate) } : {}),
      tracker: new EventTracker({ labels, closeAfterHops: closeAfterHops(grid, params, opts.classMap.mergeGapSec) }),
      audio: (from, to) => this.ring.read(from, to),
      ...(gate ? { active: (w: LiveWindow) => gate.active(this.ring.read(w.startSample, w.endSample), params.sampleRate) } : {}),
    });
    this.queue = new InferenceQueue<LiveWindow, number>({
      worker: {
        windows: (batch) => this.scoreBatch(batch),
        marker: (segment) => this.scorer.flush().forEach((c) => this.emit(c, segment)),
        onError: (err) => this.log.error({ err: (err as Error).message }, 'inference failed; windows skipped'),
      },
      maxWindows: opts.queueMax ?? 16,
      batchSize: opts.batchSize ?? 4,
    });
    this.times = new SegmentClock(params.sampleRate);
  }

  get stats(): PipelineStats {
    const level = this.input.levelDbfs;
    return {
      windowsQueued: this.queue.queued,
      windowsScored: this.windowsScored,
      windowsSkipped: this.windowsSkipped,
      windowsDropped: this.queue.dropped,
      queueDepth: this.queue.depth,
      ...(level !== undefined ? { levelDbfs: level } : {}),
      inferenceMs: this.scorer.inferenceMs,
    };
  }

  /** Mono PCM at the input rate. Synchronous and bounded: never waits for inference. */
  push(samples: Int16Array): void {
    if (samples.length === 0) return;
    if (!this.inSegment) {
      this.inSegment = true;
      const clock = this.opts.clock ?? Date.now;
      this.times.begin(this.ring.end, clock() - (samples.length * 1000) / this.opts.inputRate);
    }
    this.input.push(samples, this.onFrame);
  }

  /** Capture stopped: score the segment's tail, close its events; the next push starts a new segment. */
  endSegment(): void {
    if (!this.inSegment) return;
    this.input.flush(this.onFrame);
    const tail = this.cutter.end();
    if (tail) this.enqueue(tail);
    this.queue.pushMarker(this.times.current);
    this.inSegment = false;
  }

  /** Resolves once every queued window has been scored. */
  drain(): Promise<void> {
    return this.queue.drain();
  }

  /** Wall-clock ms of a ring sample index of `segment` (default: the current one). */
  timeOf(sample: number, segment?: number): number {
    return this.times.timeOf(sample, segment);
  }

  private readonly onFrame = (frame: Float32Array): void => {
    const window = this.cutter.push(frame);
    if (window) this.enqueue(window);
  };

  private enqueue(window: CutWindow): void {
    const first = this.times.firstSample;
    const span = windowSamples(window, this.opts.frontend.params.hop, this.ring.end - first);
    this.queue.pushWindow({ segment: this.times.current, startSample: first + span.startSample, endSample: first + span.endSample, frames: window.frames, mel: window.mel });
  }

  private async scoreBatch(batch: LiveWindow[]): Promise<void> {
    const scored = await this.scorer.score(batch);
    for (const { window, tagged, changes } of scored) {
      this.windowsScored++;
      if (!tagged) this.windowsSkipped++;
      for (const c of changes) this.emit(c, window.segment);
    }
  }

  private emit(change: EventChange, segment: number): void {
    try {
      this.opts.onChange({ ...change, startMs: this.timeOf(change.event.startSample, segment), endMs: this.timeOf(change.event.endSample, segment) });
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'event change not handled');
    }
  }
}
