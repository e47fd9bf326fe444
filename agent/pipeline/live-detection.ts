/**
 * Detection of live audio, from captured blocks to recorded events: the LivePipeline and the
 * EventRecorder behind it, as one component. The pipeline is sized by the capture rate, which a
 * file source only learns when it starts decoding, so both are built at start when the rate is
 * known and otherwise at the first block. Stopping ends the segment (open events close), lets the
 * queued windows be scored, then writes the clips still pending.
 */
import type { Config } from '../../config/schema.js';
import type { CaptureConsumer } from '../capture/capture-monitor.js';
import { withinTimeLimit, type Component } from '../component.js';
import type { DetectionStack } from '../detect/open-detection.js';
import { scoringHead } from '../detect/scoring-head.js';
import type { Logger } from '../log.js';
import type { ClipWriter } from '../store/clip-writer.js';
import type { Store } from '../store/types.js';
import type { Timers } from '../timers.js';
import { EventRecorder } from './event-recorder.js';
import { LivePipeline, type ActivityGate, type PipelineStats } from './live-pipeline.js';

/** Of the stop budget, what scoring the queued windows may take before the clips are written anyway. */
const DRAIN_LIMIT_MS = 1000;
const FLUSH_LIMIT_MS = 800;

export interface LiveDetectionOptions {
  config: Config;
  /** The opened model (started before this component). */
  detection: () => DetectionStack;
  /** The capture rate; 0 while the source does not know it yet. */
  inputRate: () => number;
  store: Store;
  clips?: Pick<ClipWriter, 'write'>;
  gate?: ActivityGate;
  clockSynced: () => boolean;
  /** New alerts are in the outbox. */
  kick?: () => void;
  clock: () => number;
  timers: Timers;
  logger: Logger;
}

export class LiveDetection implements Component, CaptureConsumer {
  readonly name = 'detection';
  readonly stopLimitMs = DRAIN_LIMIT_MS + FLUSH_LIMIT_MS;
  private pipeline?: LivePipeline;
  private recorder?: EventRecorder;

  constructor(private readonly opts: LiveDetectionOptions) {}

  /** Undefined until the pipeline is built. */
  get stats(): PipelineStats | undefined {
    return this.pipeline?.stats;
  }

  start(): void {
    const rate = this.opts.inputRate();
    if (rate > 0) this.build(rate);
  }

  audio(samples: Int16Array): void {
    const pipeline = this.pipeline ?? this.build(this.opts.inputRate());
    pipeline.push(samples);
    this.recorder!.audioProgressed();
  }

  segmentEnded(): void {
    this.pipeline?.endSegment();
    this.recorder?.segmentEnded();
  }

  async stop(): Promise<void> {
    this.pipeline?.endSegment();
    try {
      await withinTimeLimit(() => this.pipeline?.drain(), DRAIN_LIMIT_MS, this.opts.timers);
    } catch (err) {
      this.opts.logger.warn({ component: this.name, err: (err as Error).message }, 'queued windows not all scored');
    }
    await this.recorder?.flush();
  }

  private build(rate: number): LivePipeline {
    const { config, logger } = this.opts;
    const detection = this.opts.detection();
    const pipeline = new LivePipeline({
      inputRate: rate,
      frontend: detection.frontend,
      tagger: detection.tagger,
      ...(detection.voice ? { voice: detection.voice } : {}),
      ...(detection.head ? { head: detection.head } : {}),
      classMap: detection.classMap,
      windowSec: config.detection.windowSec,
      hopSec: config.detection.hopSec,
      gainDb: config.audio.gainDb,
      ringSec: Math.max(30, config.storage.clipPreSec + config.storage.clipPostSec + 60),
      ...(this.opts.gate ? { gate: this.opts.gate } : {}),
      onChange: (c) => this.recorder?.onChange(c),
      clock: this.opts.clock,
      logger,
    });
    this.recorder = new EventRecorder({
      config,
      store: this.opts.store,
      ...(this.opts.clips ? { clips: this.opts.clips } : {}),
      ring: pipeline.ring,
      modelRate: pipeline.modelRate,
      model: detection.modelRef,
      ...(detection.head ? { head: scoringHead(detection.head) } : {}),
      clockSynced: this.opts.clockSynced,
      ...(this.opts.kick ? { kick: this.opts.kick } : {}),
      logger,
    });
    this.pipeline = pipeline;
    return pipeline;
  }
}
