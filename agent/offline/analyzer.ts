/**
 * Offline detection of one recording: samples → log-mel → windows (detect/windows.ts, the cut
 * the live pipeline makes too) → the shared WindowScorer (tagger, site head, voice evidence →
 * event tracker) → events and every label's peak. Used by `earshot analyze`, the
 * evaluation and the benchmark. A recording at a rate the front end can take directly (8 or 16 kHz
 * for a 32 kHz model: see dsp/melspec.ts) is analysed at that rate; any other rate is resampled to
 * the model rate first.
 * The tagger is injected, so tests can run the whole path with a fake.
 */
import { createMelFrontend, nativeRateFactor, type MelFrontend } from '../../dsp/melspec.js';
import { DETECTION_RESAMPLING, resample } from '../../dsp/resample.js';
import type { ModelLabelScore } from '../event.js';
import type { AlertLabel, ClassMap } from '../../models/classmap.js';
import { activeLabels, type LabelChoice } from '../detect/active-labels.js';
import type { HeadScorer } from '../detect/head-scorer.js';
import { EventTracker, type TrackedEvent } from '../detect/tracker.js';
import type { Tagger, TaggerWindowScores, VoiceDetector } from '../detect/types.js';
import { closeAfterHops, gatherWindows, planWindows, windowGrid, windowSamples, type WindowGrid } from '../detect/windows.js';
import { SpeechTrack } from '../detect/speech-track.js';
import { WindowScorer, type ScorerWindow } from '../detect/window-scorer.js';

export interface AnalyzerOptions extends LabelChoice {
  frontend: MelFrontend;
  tagger: Pick<Tagger, 'score'>;
  /** Voice activity detector for labels that take voice evidence (human_voice). */
  voice?: Pick<VoiceDetector, 'process' | 'reset' | 'sampleRate' | 'frameSamples'>;
  classMap: ClassMap;
  windowSec: number;
  hopSec: number;
  /** Windows per inference call. */
  batchSize: number;
  /**
   * A site head: its labels take its scores instead of the class map's. `classMap` should be the
   * one the head was applied to (`applyHead` in open-detection.ts), so thresholds and categories match.
   */
  head?: Pick<HeadScorer, 'score'>;
  /** Called for every scored window with the tagger's outputs and its log-mel (training reads features here). */
  onWindow?: (window: AnalyzedWindow) => void;
}

/** One scored window, as `onWindow` sees it; the arrays are reused after the call returns. */
export interface AnalyzedWindow {
  startSample: number;
  endSample: number;
  /** Rate of the sample indices. */
  rate: number;
  tagged: TaggerWindowScores;
  /** [nMels][frames] log-mel of the window. */
  mel: Float32Array;
  frames: number;
}

export interface LabelPeak {
  label: string;
  score: number;
  /** Seconds from the start of the recording to the start of the peak window. */
  atSec: number;
  modelLabels: ModelLabelScore[];
}

export interface AnalysisTimings {
  /** Resampling (when the rate needs it) and the log-mel front end. */
  frontendMs: number;
  inferenceMs: number;
  voiceMs: number;
}

export interface Analysis {
  events: TrackedEvent[];
  /** Highest window score of every analysed label. */
  peaks: LabelPeak[];
  durationSec: number;
  /** Rate the recording was analysed at: event sample indices count samples at this rate. */
  sampleRate: number;
  windows: number;
  timings: AnalysisTimings;
}

export class Analyzer {
  private readonly labels: AlertLabel[];
  private readonly grid: WindowGrid;
  /** Front ends by input rate (the model rate's is the one given). */
  private readonly frontends = new Map<number, MelFrontend>();

  constructor(private readonly opts: AnalyzerOptions) {
    this.labels = activeLabels(opts.classMap, opts);
    this.frontends.set(opts.frontend.rate, opts.frontend);
    this.grid = windowGrid(opts.frontend.params, opts.windowSec, opts.hopSec);
  }

  /** Analyses one whole mono recording at `rate` (default: the model rate). */
  async analyze(input: Float32Array, inputRate = this.opts.frontend.rate): Promise<Analysis> {
    const { classMap, batchSize } = this.opts;
    const t0 = performance.now();
    const { frontend, samples } = this.prepare(input, inputRate);
    const rate = frontend.rate;
    const mel = frontend.melspec(samples);
    const frontendMs = performance.now() - t0;

    const plan = planWindows(mel.nFrames, this.grid.windowFrames, this.grid.hopFrames);
    const scorer = new WindowScorer<ScorerWindow>({
      tagger: this.opts.tagger,
      classMap,
      labels: this.labels,
      ...(this.opts.head ? { head: this.opts.head } : {}),
      ...(this.opts.voice && this.labels.some((l) => l.voiceWeight > 0) ? { speech: new SpeechTrack(this.opts.voice, rate) } : {}),
      tracker: new EventTracker({ labels: this.labels, closeAfterHops: closeAfterHops(this.grid, frontend.params, classMap.mergeGapSec) }),
      audio: (from, to) => samples.subarray(from, to),
    });
    const events: TrackedEvent[] = [];
    const peaks = new Map<string, LabelPeak>(this.labels.map((l) => [l.name, { label: l.name, score: 0, atSec: 0, modelLabels: [] }]));
    const windowSize = mel.nMels * plan.frames;
    let batchBuf: Float32Array | undefined;

    for (let b = 0; b < plan.starts.length; b += batchSize) {
      const starts = plan.starts.slice(b, b + batchSize);
      batchBuf = gatherWindows(mel.data, mel.nMels, mel.nFrames, starts, plan.frames, batchBuf);
      const windows = starts.map((start, i) => ({
        ...windowSamples({ start, frames: plan.frames }, frontend.hop, samples.length),
        frames: plan.frames,
        mel: batchBuf!.subarray(i * windowSize, (i + 1) * windowSize),
      }));
      for (const { window: w, tagged, scores, changes } of await scorer.score(windows)) {
        this.opts.onWindow?.({ startSample: w.startSample, endSample: w.endSample, rate, tagged: tagged!, mel: w.mel, frames: w.frames });
        for (const [name, s] of scores) {
          const peak = peaks.get(name)!;
          if (s.score > peak.score) Object.assign(peak, { score: s.score, atSec: w.startSample / rate, modelLabels: s.evidence!() });
        }
        for (const change of changes) if (change.kind === 'closed') events.push(change.event);
      }
    }
    for (const change of scorer.flush()) events.push(change.event);
    events.sort((a, b) => a.startSample - b.startSample || a.label.localeCompare(b.label));
    return {
      events,
      peaks: [...peaks.values()],
      durationSec: samples.length / rate,
      sampleRate: rate,
      windows: plan.starts.length,
      timings: { frontendMs, inferenceMs: scorer.inferenceMs, voiceMs: scorer.voiceMs },
    };
  }

  /** The front end for `rate`, or the model rate's after resampling when none takes it directly. */
  private prepare(samples: Float32Array, rate: number): { frontend: MelFrontend; samples: Float32Array } {
    const model = this.opts.frontend;
    let fe = this.frontends.get(rate);
    if (!fe && nativeRateFactor(model.params, rate) !== undefined) {
      fe = createMelFrontend(model.params, { inputRate: rate });
      this.frontends.set(rate, fe);
    }
    if (fe) return { frontend: fe, samples };
    return { frontend: model, samples: resample(samples, rate, model.rate, DETECTION_RESAMPLING) };
  }
}
