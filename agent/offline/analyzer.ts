/**
 * Offline detection of one recording: samples → log-mel → windows → tagger → class map
 * scores (a site head's, for the head's labels) → event tracker. Used by `earshot analyze`, the
 * evaluation and the benchmark. A recording at a rate the front end can take directly (8 or 16 kHz
 * for a 32 kHz model: see dsp/melspec.ts) is analysed at that rate; any other rate is resampled to
 * the model rate first.
 * The tagger is injected, so tests can run the whole path with a fake.
 */
import { createMelFrontend, nativeRateFactor, type MelFrontend } from '../../dsp/melspec.js';
import { DETECTION_RESAMPLING, resample } from '../../dsp/resample.js';
import type { ModelLabelScore } from '../event.js';
import type { AlertLabel, ClassMap } from '../../models/classmap.js';
import type { HeadScorer } from '../detect/head-scorer.js';
import { EventTracker, type TrackedEvent } from '../detect/tracker.js';
import type { Tagger, TaggerWindowScores, VoiceDetector } from '../detect/types.js';
import { gatherWindows, planWindows } from '../detect/windows.js';
import { SpeechTrack } from '../detect/speech-track.js';
import { voiceWanted, windowScores } from '../detect/window-score.js';

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
  /** Front ends by input rate (the model rate's is the one given). */
  private readonly frontends = new Map<number, MelFrontend>();
  private readonly speechTracks = new Map<number, SpeechTrack>();

  constructor(private readonly opts: AnalyzerOptions) {
    const p = opts.frontend.params;
    this.labels = activeLabels(opts.classMap, opts);
    this.frontends.set(opts.frontend.rate, opts.frontend);
    const framesPerSec = p.sampleRate / p.hop; // the same at every input rate
    this.windowFrames = Math.max(1, Math.round(opts.windowSec * framesPerSec));
    this.hopFrames = Math.max(1, Math.round(opts.hopSec * framesPerSec));
  }

  /** Analyses one whole mono recording at `rate` (default: the model rate). */
  async analyze(input: Float32Array, inputRate = this.opts.frontend.rate): Promise<Analysis> {
    const { tagger, classMap, batchSize } = this.opts;
    let t0 = performance.now();
    const { frontend, samples } = this.prepare(input, inputRate);
    const rate = frontend.rate;
    const hopSamples = frontend.hop;
    const mel = frontend.melspec(samples);
    const frontendMs = performance.now() - t0;

    // The voice detector is a second opinion: it runs only on windows where a label that takes
    // voice evidence already scores at least its `voiceGate` from the tagger (saves most of its
    // cost on forest background, where it would otherwise run all the time).
    const wantsVoice = this.opts.voice && this.labels.some((l) => l.voiceWeight > 0);
    const speech = wantsVoice ? this.speechTrack(rate) : undefined;
    speech?.reset();
    this.voiceMs = 0;

    const plan = planWindows(mel.nFrames, this.windowFrames, this.hopFrames);
    const closeAfterHops = Math.max(1, Math.ceil((classMap.mergeGapSec * rate) / (this.hopFrames * hopSamples)));
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
        const startSample = start * hopSamples;
        const endSample = Math.min(samples.length, (start + plan.frames) * hopSamples);
        const windowSize = mel.nMels * plan.frames;
        const melWindow = batchBuf.subarray(i * windowSize, (i + 1) * windowSize);
        this.opts.onWindow?.({ startSample, endSample, rate, tagged: scored[i]!, mel: melWindow, frames: plan.frames });
        const headScores = this.opts.head?.score(scored[i]!, { data: melWindow, frames: plan.frames });
        const share = speech && voiceWanted(this.labels, p) ? await this.speechShareOf(speech, samples.subarray(startSample, endSample), startSample) : 0;
        const scores = windowScores(this.labels, classMap, p, share, headScores);
        for (const [name, w] of scores) {
          const peak = peaks.get(name)!;
          if (w.score > peak.score) Object.assign(peak, { score: w.score, atSec: startSample / rate, modelLabels: w.evidence!() });
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
      sampleRate: rate,
      windows: plan.starts.length,
      timings: { frontendMs, inferenceMs, voiceMs: this.voiceMs },
    };
  }

  private voiceMs = 0;

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

  private speechTrack(rate: number): SpeechTrack {
    let track = this.speechTracks.get(rate);
    if (!track) {
      track = new SpeechTrack(this.opts.voice!, rate);
      this.speechTracks.set(rate, track);
    }
    return track;
  }

  /** Speech share of one window, timed. */
  private async speechShareOf(track: SpeechTrack, window: Float32Array, start: number): Promise<number> {
    const t0 = performance.now();
    const share = await track.share(window, start);
    this.voiceMs += performance.now() - t0;
    return share;
  }
}
