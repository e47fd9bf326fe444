import type { AlertLabel, ClassMap } from '../../models/classmap.js';

export interface LabelChoice {
  /** Lowers every label's threshold to this (0: report every label's peak). */
  minConfidence?: number;
  /** Only these alert labels (default: every enabled label). */
  labels?: readonly string[];
}

/** The alert labels a detector scores, with thresholds lowered by `minConfidence`. */
export function activeLabels(classMap: ClassMap, choice: LabelChoice): AlertLabel[] {
  const chosen = choice.labels ? classMap.labels.filter((l) => choice.labels!.includes(l.name)) : classMap.labels.filter((l) => l.enabled);
  if (choice.minConfidence === undefined) return chosen;
  const floor = choice.minConfidence;
  return chosen.map((l) => {
    const threshold = Math.min(l.threshold, floor);
    return { ...l, threshold, closeThreshold: threshold * (l.threshold > 0 ? l.closeThreshold / l.threshold : 1) };
  });
}
