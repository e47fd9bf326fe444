/**
 * Scoring of one model window: tagger probabilities (+ gated voice evidence, + a site head's
 * scores) → the score of every alert label, in the form the EventTracker takes. Shared by the
 * offline Analyzer and the live pipeline, so a recording scores the same whether it is analysed
 * or heard.
 */
import { labelScore, topEvidence, type AlertLabel, type ClassMap } from '../../models/classmap.js';
import type { WindowScore } from './tracker.js';

/**
 * The voice detector is a second opinion: it runs only on windows where a label that takes voice
 * evidence already scores at least its `voiceGate` from the tagger (see speech-track.ts for how).
 */
export function voiceWanted(labels: readonly AlertLabel[], probabilities: Float32Array): boolean {
  return labels.some((l) => l.voiceWeight > 0 && labelScore(l, probabilities) >= l.voiceGate);
}

/**
 * Every label's score in one window; evidence is computed lazily (the tracker asks at most once).
 * A label the head scores takes the head's calibrated score alone (HeadScorer.applyTo gives such
 * labels no voice weight, so the voice detector is not run for them).
 */
export function windowScores(
  labels: readonly AlertLabel[],
  classMap: ClassMap,
  probabilities: Float32Array,
  speech: number,
  headScores?: ReadonlyMap<string, number>,
): Map<string, WindowScore> {
  const scores = new Map<string, WindowScore>();
  for (const label of labels) {
    const head = headScores?.get(label.name);
    const score = head ?? labelScore(label, probabilities, speech);
    scores.set(label.name, { score, evidence: () => topEvidence(label, probabilities, classMap.modelLabels) });
  }
  return scores;
}
