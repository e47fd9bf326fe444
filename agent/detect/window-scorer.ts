/**
 * Scoring of a stream of log-mel windows: tagger (one call per batch) → a site head's scores →
 * voice evidence where the tagger hints at it → every label's score (window-score.ts) → the
 * EventTracker. Shared by the offline Analyzer and the live pipeline, so a recording gives the
 * same events whether it is analysed or heard.
 */
import type { AlertLabel, ClassMap } from '../../models/classmap.js';
import type { HeadScorer } from './head-scorer.js';
import type { SpeechTrack } from './speech-track.js';
import type { EventChange, EventTracker, WindowScore } from './tracker.js';
import type { Tagger, TaggerWindowScores } from './types.js';
import { voiceWanted, windowScores } from './window-score.js';

/** One window of the stream, in sample indices of the stream (at the rate `audio` reads). */
export interface ScorerWindow {
  startSample: number;
  endSample: number;
  frames: number;
  /** [nMels][frames] log-mel of the window. */
  mel: Float32Array;
}

export interface ScoredWindow<W extends ScorerWindow> {
  window: W;
  /** The tagger's outputs (views valid until the next `score`); none when `active` skipped it. */
  tagged?: TaggerWindowScores;
  scores: Map<string, WindowScore>;
  /** What this window changed in the tracker. */
  changes: EventChange[];
}

export interface WindowScorerOptions<W extends ScorerWindow> {
  tagger: Pick<Tagger, 'score'>;
  classMap: ClassMap;
  labels: readonly AlertLabel[];
  head?: Pick<HeadScorer, 'score'>;
  /** Voice evidence over the same stream; consulted only where `voiceWanted`. */
  speech?: SpeechTrack;
  tracker: EventTracker;
  /** The stream's samples [from, to), for voice evidence. */
  audio: (from: number, to: number) => Float32Array;
  /** False: the window skips inference and scores 0 for every label (the activity gate). */
  active?: (window: W) => boolean;
  /** Milliseconds for the timings (default performance.now). */
  now?: () => number;
}

const performanceNow = (): number => performance.now();

export class WindowScorer<W extends ScorerWindow> {
  inferenceMs = 0;
  voiceMs = 0;
  private tensor = new Float32Array(0);

  constructor(private readonly opts: WindowScorerOptions<W>) {}

  /**
   * Scores consecutive windows of one length, in stream order. The tracker is fed only once
   * every await is behind, so a failing tagger or voice detector leaves it as it was.
   */
  async score(windows: readonly W[]): Promise<ScoredWindow<W>[]> {
    const { tagger, head, speech, labels, classMap } = this.opts;
    const now = this.opts.now ?? performanceNow;
    const active = windows.filter((w) => this.opts.active?.(w) ?? true);
    const tagged = new Map<W, TaggerWindowScores>();
    const probabilities = new Map<W, Float32Array>();
    const heads = new Map<W, Map<string, number>>();
    if (active.length) {
      const frames = active[0]!.frames;
      const t0 = now();
      const scored = await tagger.score({ data: this.batchTensor(active), batch: active.length, frames });
      this.inferenceMs += now() - t0;
      active.forEach((w, i) => {
        tagged.set(w, scored[i]!);
        // A score's evidence may be read after the tagger's next call has reused its arrays.
        probabilities.set(w, scored[i]!.probabilities.slice());
        if (head) heads.set(w, head.score(scored[i]!, { data: w.mel, frames: w.frames }));
      });
    }
    const silent = new Float32Array(classMap.modelLabels.length);
    const speechShares: number[] = [];
    for (const w of windows) {
      const p = probabilities.get(w);
      speechShares.push(speech && p && voiceWanted(labels, p) ? await this.speechShare(speech, w) : 0);
    }
    return windows.map((w, i) => {
      const scores = windowScores(labels, classMap, probabilities.get(w) ?? silent, speechShares[i]!, heads.get(w));
      const changes = this.opts.tracker.update(w.startSample, w.endSample, scores);
      const t = tagged.get(w);
      return { window: w, ...(t ? { tagged: t } : {}), scores, changes };
    });
  }

  /** End of the stream: closes the open events and forgets the voice state. */
  flush(): EventChange[] {
    this.opts.speech?.reset();
    return this.opts.tracker.flush();
  }

  /** [batch][nMels][frames] of the windows, in a buffer reused from call to call. */
  private batchTensor(windows: readonly W[]): Float32Array {
    const size = windows[0]!.mel.length;
    if (this.tensor.length < windows.length * size) this.tensor = new Float32Array(windows.length * size);
    windows.forEach((w, i) => this.tensor.set(w.mel, i * size));
    return this.tensor.subarray(0, windows.length * size);
  }

  private async speechShare(speech: SpeechTrack, w: W): Promise<number> {
    const now = this.opts.now ?? performanceNow;
    const t0 = now();
    const share = await speech.share(this.opts.audio(w.startSample, w.endSample), w.startSample);
    this.voiceMs += now() - t0;
    return share;
  }
}
