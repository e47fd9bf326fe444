/**
 * Offline detection of one recording: model-rate samples → log-mel → windows → tagger →
 * class map scores → event tracker. Used by `earshot analyze`, the evaluation and the benchmark.
 * The tagger is injected, so tests can run the whole path with a fake.
 */
import type { MelFrontend } from '../../dsp/melspec.js';
import type { ModelLabelScore } from '../event.js';
import type { AlertLabel, ClassMap } from '../../models/classmap.js';
import { EventTracker, type TrackedEvent } from './tracker.js';
import type { Tagger, VoiceDetector } from './types.js';
import { gatherWindows, planWindows } from './windows.js';
import { speechShare, voiceWanted, windowScores } from './window-score.js';

export interface AnalyzerOptions {
  frontend: MelFrontend;
  tagger: Pick<Tagger, 'score'>;
  /** Voice activity detector for labels that take voice evidence (human_voice). */
  voice?: Pick<VoiceDetector, 'process' | 'reset' | 'sampleRate' | 'frameSamples'>;
  classMap: ClassMap;
  windowSec: number;
  hopSec: number;
  /** Windows per inference call. */
  batchSize: number;
  /** Lowers every label's threshold to this (0: report every label's peak). */
  minConfidence?: number;
  /** Only these alert labels (default: every enabled label). */
  labels?: readonly string[];
}

export interface LabelPeak {
  label: string;
  score: number;
  /** Seconds from the start of the recording to the start of the peak window. */
  atSec: number;
  modelLabels: ModelLabelScore[];
}

export interface AnalysisTimings {
  frontendMs: number;
  inferenceMs: number;
  voiceMs: number;
}

export interface Analysis {
  events: TrackedEvent[];
  /** Highest window score of every analysed label. */
  peaks: LabelPeak[];
  durationSec: number;
  windows: number;
  timings: AnalysisTimings;
}

/** The alert labels an analysis reports, with thresholds lowered by `minConfidence`. */
export function activeLabels(classMap: ClassMap, opts: Pick<AnalyzerOptions, 'minConfidence' | 'labels'>): AlertLabel[] {
  const chosen = opts.labels ? classMap.labels.filter((l) => opts.labels!.includes(l.name)) : classMap.labels.filter((l) => l.enabled);
  if (opts.minConfidence === undefined) return chosen;
  const floor = opts.minConfidence;
  return chosen.map((l) => {
    const threshold = Math.min(l.threshold, floor);
    return { ...l, threshold, closeThreshold: threshold * (l.threshold > 0 ? l.closeThreshold / l.threshold : 1) };
  });
}

export class Analyzer {
  private readonly labels: AlertLabel[];
  private readonly windowFrames: number;
  private readonly hopFrames: number;
  private readonly hopSamples: number;

  constructor(private readonly opts: AnalyzerOptions) {
    const p = opts.frontend.params;
    this.labels = activeLabels(opts.classMap, opts);
    this.hopSamples = p.hop;
    const framesPerSec = p.sampleRate / p.hop;
    this.windowFrames = Math.max(1, Math.round(opts.windowSec * framesPerSec));
    this.hopFrames = Math.max(1, Math.round(opts.hopSec * framesPerSec));
  }

  /** Analyses one whole recording at the front end's rate. */
  async analyze(samples: Float32Array): Promise<Analysis> {
    const { frontend, tagger, classMap, batchSize } = this.opts;
    const rate = frontend.params.sampleRate;
    let t0 = performance.now();
    const mel = frontend.melspec(samples);
    const frontendMs = performance.now() - t0;

    // The voice detector is a second opinion: it runs only on windows where a label that takes
    // voice evidence already scores at least its `voiceGate` from the tagger (saves most of its
    // cost on forest background, where it would otherwise run all the time).
    const voice = this.opts.voice && this.labels.some((l) => l.voiceWeight > 0) ? this.opts.voice : undefined;
    this.voiceMs = 0;

    const plan = planWindows(mel.nFrames, this.windowFrames, this.hopFrames);
    const closeAfterHops = Math.max(1, Math.ceil((classMap.mergeGapSec * rate) / (this.hopFrames * this.hopSamples)));
    const tracker = new EventTracker({ labels: this.labels, closeAfterHops });
    const events: TrackedEvent[] = [];
    const peaks = new Map<string, LabelPeak>(this.labels.map((l) => [l.name, { label: l.name, score: 0, atSec: 0, modelLabels: [] }]));
    let inferenceMs = 0;
    let batchBuf: Float32Array | undefined;

    for (let b = 0; b < plan.starts.length; b += batchSize) {
      const starts = plan.starts.slice(b, b + batchSize);
      batchBuf = gatherWindows(mel.data, mel.nMels, mel.nFrames, starts, plan.frames, batchBuf);
      t0 = performance.now();
      const scored = await tagger.score({ data: batchBuf, batch: starts.length, frames: plan.frames });
      inferenceMs += performance.now() - t0;
      for (const [i, start] of starts.entries()) {
        const p = scored[i]!.probabilities;
        const startSample = start * this.hopSamples;
        const endSample = Math.min(samples.length, (start + plan.frames) * this.hopSamples);
        const speech = voice && voiceWanted(this.labels, p) ? await this.speechShareOf(voice, samples.subarray(startSample, endSample)) : 0;
        const scores = windowScores(this.labels, classMap, p, speech);
        for (const [name, w] of scores) {
          const peak = peaks.get(name)!;
          if (w.score > peak.score) Object.assign(peak, { score: w.score, atSec: (start * this.hopSamples) / rate, modelLabels: w.evidence!() });
        }
        for (const change of tracker.update(startSample, endSample, scores)) if (change.kind === 'closed') events.push(change.event);
      }
    }
    for (const change of tracker.flush()) events.push(change.event);
    events.sort((a, b) => a.startSample - b.startSample || a.label.localeCompare(b.label));
    return {
      events,
      peaks: [...peaks.values()],
      durationSec: samples.length / rate,
      windows: plan.starts.length,
      timings: { frontendMs, inferenceMs, voiceMs: this.voiceMs },
    };
  }

  private voiceMs = 0;

  /** Speech share of one window, timed. */
  private async speechShareOf(voice: NonNullable<AnalyzerOptions['voice']>, window: Float32Array): Promise<number> {
    const t0 = performance.now();
    const share = await speechShare(voice, window);
    this.voiceMs += performance.now() - t0;
    return share;
  }
}
