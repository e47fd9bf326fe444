/**
 * The live detection pipeline: mono PCM at the capture rate → gain → resampler → sample ring
 * (pre-roll) → streaming log-mel → windows → bounded queue → tagger (+ gated voice, + site head)
 * → the shared window scoring → EventTracker → changes out.
 *
 * Capture calls `push` synchronously and it never waits for inference: complete windows go into a
 * bounded queue that an async worker drains; when inference falls behind, the oldest windows are
 * dropped and counted. The stream is cut into segments at every capture gap: the tail of a
 * segment is scored like `planWindows` scores the end of a file, and open events are closed, so
 * a segment yields the events the offline Analyzer finds in the same audio.
 *
 * Times: the tracker works in model-rate sample indices; each segment is anchored to the wall
 * clock at its first sample, so event times are sample counts from that anchor.
 */
import type { MelFrontend, MelStream } from '../../dsp/melspec.js';
import { createResampler, DETECTION_RESAMPLING, type Resampler } from '../../dsp/resample.js';
import type { AlertLabel, ClassMap } from '../../models/classmap.js';
import { activeLabels } from '../offline/analyzer.js';
import type { HeadScorer } from '../detect/head-scorer.js';
import { EventTracker, type EventChange } from '../detect/tracker.js';
import type { Tagger } from '../detect/types.js';
import { SpeechTrack, type TrackVoice } from '../detect/speech-track.js';
import { voiceWanted, windowScores } from '../detect/window-score.js';
import type { Logger } from '../log.js';
import { SampleRing } from './sample-ring.js';

export interface LiveChange extends EventChange {
  /** Wall-clock ms of the event's first and last sample. */
  startMs: number;
  endMs: number;
}

export interface ActivityGate {
  /** False: skip inference for this window (it scores 0 for every label). */
  active(window: Float32Array, sampleRate: number): boolean;
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

interface WindowJob {
  kind: 'window';
  segment: number;
  startSample: number;
  endSample: number;
  frames: number;
  data: Float32Array;
}
type Job = WindowJob | { kind: 'segmentEnd'; segment: number };

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

export class LivePipeline {
  readonly labels: AlertLabel[];
  readonly modelRate: number;
  readonly ring: SampleRing;
  private readonly resampler: Resampler;
  /** Voice evidence over the model-rate ring, each voice frame computed once. */
  private readonly speech: SpeechTrack | undefined;
  private readonly mel: MelStream;
  private readonly nMels: number;
  private readonly hop: number;
  private readonly windowFrames: number;
  private readonly hopFrames: number;
  private readonly frameRing: Float32Array;
  private readonly frameCap: number;
  private readonly gain: number;
  private readonly tracker: EventTracker;
  private readonly clock: () => number;
  private readonly log: Logger;
  private queue: Job[] = [];
  private working?: Promise<void>;
  private resampled = new Float32Array(8192);
  private floatBuf = new Float32Array(8192);
  // Segment state.
  private segment = 0;
  private inSegment = false;
  private segFirstSample = 0;
  private segAnchorMs = 0;
  private segFrames = 0;
  private lastWindowEnd = 0;
  private readonly anchors = new Map<number, { first: number; anchorMs: number }>();
  // Level.
  private sumSq = 0;
  private levelCount = 0;
  readonly stats: PipelineStats = { windowsQueued: 0, windowsScored: 0, windowsSkipped: 0, windowsDropped: 0, queueDepth: 0, inferenceMs: 0 };

  constructor(private readonly opts: LivePipelineOptions) {
    const p = opts.frontend.params;
    this.modelRate = p.sampleRate;
    this.hop = p.hop;
    this.nMels = opts.frontend.nMels;
    this.labels = activeLabels(opts.classMap, {});
    const framesPerSec = p.sampleRate / p.hop;
    this.windowFrames = Math.max(1, Math.round(opts.windowSec * framesPerSec));
    this.hopFrames = Math.max(1, Math.round(opts.hopSec * framesPerSec));
    this.frameCap = this.windowFrames + this.hopFrames + 8;
    this.frameRing = new Float32Array(this.frameCap * this.nMels);
    this.resampler = createResampler(opts.inputRate, p.sampleRate, DETECTION_RESAMPLING);
    this.mel = opts.frontend.createStream();
    this.speech = opts.voice ? new SpeechTrack(opts.voice, p.sampleRate) : undefined;
    this.ring = new SampleRing(Math.round((opts.ringSec ?? 90) * p.sampleRate));
    this.gain = 10 ** ((opts.gainDb ?? 0) / 20);
    const closeAfterHops = Math.max(1, Math.ceil((opts.classMap.mergeGapSec * p.sampleRate) / (this.hopFrames * this.hop)));
    this.tracker = new EventTracker({ labels: this.labels, closeAfterHops });
    this.clock = opts.clock ?? Date.now;
    this.log = opts.logger.child({ component: 'pipeline' });
  }

  /** Mono PCM at the input rate. Synchronous and bounded: never waits for inference. */
  push(samples: Int16Array): void {
    if (samples.length === 0) return;
    if (!this.inSegment) this.beginSegment(samples.length);
    if (this.floatBuf.length < samples.length) this.floatBuf = new Float32Array(samples.length);
    const x = this.floatBuf.subarray(0, samples.length);
    const g = this.gain / 32768;
    for (let i = 0; i < samples.length; i++) {
      const v = Math.max(-1, Math.min(1, samples[i]! * g));
      x[i] = v;
      this.sumSq += v * v;
    }
    this.levelCount += samples.length;
    if (this.levelCount >= this.opts.inputRate) {
      this.stats.levelDbfs = Math.round(10 * Math.log10(this.sumSq / this.levelCount + 1e-12) * 10) / 10;
      this.sumSq = 0;
      this.levelCount = 0;
    }
    const max = this.resampler.maxOutput(x.length);
    if (this.resampled.length < max) this.resampled = new Float32Array(max);
    this.feed(this.resampler.push(x, this.resampled));
  }

  /** Capture stopped: score the segment's tail, close its events; the next push starts a new segment. */
  endSegment(): void {
    if (!this.inSegment) return;
    this.feed(this.resampler.flush());
    this.mel.flush(this.onFrame);
    if (this.segFrames > 0 && this.lastWindowEnd < this.segFrames) {
      const frames = Math.min(this.windowFrames, this.segFrames);
      this.enqueueWindow(this.segFrames - frames, frames);
    }
    this.enqueue({ kind: 'segmentEnd', segment: this.segment });
    this.resampler.reset();
    this.mel.reset();
    this.inSegment = false;
  }

  /** Resolves once every queued window has been scored. */
  async drain(): Promise<void> {
    while (this.working) await this.working;
  }

  /** Wall-clock ms of a model-rate sample index. */
  timeOf(sample: number, segment = this.segment): number {
    const a = this.anchors.get(segment) ?? { first: this.segFirstSample, anchorMs: this.segAnchorMs };
    return a.anchorMs + ((sample - a.first) * 1000) / this.modelRate;
  }

  private beginSegment(firstChunk: number): void {
    this.segment++;
    this.inSegment = true;
    this.segFirstSample = this.ring.end;
    this.segAnchorMs = this.clock() - (firstChunk * 1000) / this.opts.inputRate;
    this.anchors.set(this.segment, { first: this.segFirstSample, anchorMs: this.segAnchorMs });
    if (this.anchors.size > 64) this.anchors.delete(this.anchors.keys().next().value!);
    this.segFrames = 0;
    this.lastWindowEnd = 0;
    this.speech?.reset(); // voice state does not carry over a capture gap
  }

  private feed(y: Float32Array): void {
    if (y.length === 0) return;
    this.ring.write(y);
    this.mel.push(y, this.onFrame);
  }

  private readonly onFrame = (frame: Float32Array) => {
    this.frameRing.set(frame, (this.segFrames % this.frameCap) * this.nMels);
    this.segFrames++;
    const n = this.segFrames;
    if (n >= this.windowFrames && (n - this.windowFrames) % this.hopFrames === 0) this.enqueueWindow(n - this.windowFrames, this.windowFrames);
  };

  private enqueueWindow(startFrame: number, frames: number): void {
    const data = new Float32Array(this.nMels * frames);
    for (let f = 0; f < frames; f++) {
      const base = ((startFrame + f) % this.frameCap) * this.nMels;
      for (let m = 0; m < this.nMels; m++) data[m * frames + f] = this.frameRing[base + m]!;
    }
    this.lastWindowEnd = startFrame + frames;
    const startSample = this.segFirstSample + startFrame * this.hop;
    const endSample = Math.min(this.ring.end, this.segFirstSample + (startFrame + frames) * this.hop);
    this.stats.windowsQueued++;
    this.enqueue({ kind: 'window', segment: this.segment, startSample, endSample, frames, data });
  }

  private enqueue(job: Job): void {
    const max = this.opts.queueMax ?? 16;
    let windows = this.queue.filter((j) => j.kind === 'window').length;
    while (job.kind === 'window' && windows >= max) {
      const i = this.queue.findIndex((j) => j.kind === 'window');
      this.queue.splice(i, 1);
      windows--;
      this.stats.windowsDropped++;
    }
    this.queue.push(job);
    this.stats.queueDepth = this.queue.length;
    if (!this.working) {
      this.working = this.work().finally(() => (this.working = undefined));
    }
  }

  private async work(): Promise<void> {
    // Let capture return first: inference starts on a later turn of the event loop.
    await new Promise((r) => setImmediate(r));
    while (this.queue.length) {
      const head = this.queue[0]!;
      if (head.kind === 'segmentEnd') {
        this.queue.shift();
        for (const c of this.tracker.flush()) this.emit(c, head.segment);
        continue;
      }
      const batch: WindowJob[] = [];
      while (batch.length < (this.opts.batchSize ?? 4) && this.queue[0]?.kind === 'window' && (this.queue[0] as WindowJob).frames === head.frames) batch.push(this.queue.shift() as WindowJob);
      this.stats.queueDepth = this.queue.length;
      try {
        await this.scoreBatch(batch);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'inference failed; windows skipped');
      }
    }
    this.stats.queueDepth = 0;
  }

  private async scoreBatch(batch: WindowJob[]): Promise<void> {
    const active = batch.filter((j) => !this.opts.gate || this.opts.gate.active(this.ring.read(j.startSample, j.endSample), this.modelRate));
    this.stats.windowsSkipped += batch.length - active.length;
    let probs = new Map<WindowJob, Float32Array>();
    const heads = new Map<WindowJob, Map<string, number>>();
    if (active.length) {
      const frames = active[0]!.frames;
      const data = new Float32Array(active.length * this.nMels * frames);
      active.forEach((j, i) => data.set(j.data, i * this.nMels * frames));
      const t0 = performance.now();
      const scored = await this.opts.tagger.score({ data, batch: active.length, frames });
      this.stats.inferenceMs += performance.now() - t0;
      probs = new Map(active.map((j, i) => [j, scored[i]!.probabilities.slice()]));
      // The tagger's arrays are views into its per-call buffers: the head reads them now.
      const head = this.opts.head;
      if (head) active.forEach((j, i) => heads.set(j, head.score(scored[i]!, { data: j.data, frames: j.frames })));
    }
    for (const job of batch) {
      this.stats.windowsScored++;
      const p = probs.get(job) ?? new Float32Array(this.opts.classMap.modelLabels.length);
      let speech = 0;
      if (this.speech && probs.has(job) && voiceWanted(this.labels, p)) speech = await this.speech.share(this.ring.read(job.startSample, job.endSample), job.startSample);
      const scores = windowScores(this.labels, this.opts.classMap, p, speech, heads.get(job));
      for (const c of this.tracker.update(job.startSample, job.endSample, scores)) this.emit(c, job.segment);
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
