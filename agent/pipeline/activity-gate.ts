/**
 * The activity gate: skips inference on quiet, stationary stretches (most of a night in the
 * forest) to save energy. A window goes to the model when any of these holds (meyda features per
 * 1024-sample frame, dsp/features.ts):
 *  - it is loud: its loudest frame is at or above `loudDbfs`;
 *  - it has a transient: its loudest frame is `transientDb` or more above its median frame
 *    (shots, bangs, barks, a voice starting);
 *  - it is tonal and audible: a frame above `floorDbfs` has spectral flatness at or below
 *    `tonalFlatness` (engines, chainsaws, voices, birdsong are harmonic; wind and rain are not).
 * Everything else (steady noise and near-silence) scores 0 for every label.
 */
import { createFeatureExtractor, type FeatureExtractor } from '../../dsp/features.js';

/** Decides, per window, whether inference runs. */
export interface ActivityGate {
  /** False: skip inference for this window (it scores 0 for every label). */
  active(window: Float32Array, sampleRate: number): boolean;
}

export interface ActivityGateSettings {
  loudDbfs: number;
  transientDb: number;
  tonalFlatness: number;
  floorDbfs: number;
}

export const DEFAULT_GATE: Readonly<ActivityGateSettings> = Object.freeze({ loudDbfs: -30, transientDb: 9, tonalFlatness: 0.2, floorDbfs: -70 });

export interface GateDecision {
  active: boolean;
  reason: 'loud' | 'transient' | 'tonal' | 'quiet';
  maxDbfs: number;
  medianDbfs: number;
  minFlatness: number;
}

export class FeatureActivityGate implements ActivityGate {
  private extractor?: FeatureExtractor;
  private rate = 0;

  constructor(private readonly settings: ActivityGateSettings = DEFAULT_GATE) {}

  active(window: Float32Array, sampleRate: number): boolean {
    return this.decide(window, sampleRate).active;
  }

  decide(window: Float32Array, sampleRate: number): GateDecision {
    if (!this.extractor || this.rate !== sampleRate) {
      this.extractor = createFeatureExtractor({ sampleRate, frameSize: 1024, hop: 1024, octaveCentersHz: [1000], floorDb: -120 });
      this.rate = sampleRate;
    }
    const t = this.extractor.track(window);
    const s = this.settings;
    const levels = Array.from(t.dbfs).sort((a, b) => a - b);
    const maxDbfs = levels.at(-1) ?? -120;
    const medianDbfs = levels[Math.floor(levels.length / 2)] ?? -120;
    let minFlatness = 1;
    for (let i = 0; i < t.nFrames; i++) if (t.dbfs[i]! >= s.floorDbfs && t.flatness[i]! < minFlatness) minFlatness = t.flatness[i]!;
    const base = { maxDbfs, medianDbfs, minFlatness };
    if (maxDbfs >= s.loudDbfs) return { active: true, reason: 'loud', ...base };
    if (maxDbfs - medianDbfs >= s.transientDb) return { active: true, reason: 'transient', ...base };
    if (minFlatness <= s.tonalFlatness) return { active: true, reason: 'tonal', ...base };
    return { active: false, reason: 'quiet', ...base };
  }
}
