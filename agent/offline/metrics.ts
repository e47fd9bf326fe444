/**
 * Detection quality from per-file peak scores: recall, precision, false alarms per hour of
 * background, a threshold sweep, and recall at a fixed false-clip rate. Pure.
 */

export interface ScoredClip {
  /** The folder (class) the clip came from. */
  cls: string;
  durationSec: number;
  /** Peak window score per alert label. */
  peaks: Record<string, number>;
}

export interface SweepPoint {
  threshold: number;
  recall: number;
  /** Share of background clips whose peak reaches the threshold. */
  falseClipRate: number;
  falseAlarmsPerHour: number;
}

export interface LabelQuality {
  label: string;
  positives: number;
  threshold: number;
  recall: number;
  precision: number;
  falseAlarmsPerHour: number;
  /** Recall at the lowest threshold whose false-clip rate on background is ≤ the target. */
  recallAtTarget: number;
  thresholdAtTarget: number;
  sweep: SweepPoint[];
}

export interface QualityOptions {
  /** Folders whose clips are positives for each label (e.g. speech → human_voice). */
  positivesOf: (cls: string) => string | undefined;
  /** Folders that are background (false alarms are counted on them). */
  isBackground: (cls: string) => boolean;
  /** False-clip rate for `recallAtTarget` (0.01 = 1 %). */
  targetFalseClipRate: number;
}

const SWEEP = Array.from({ length: 99 }, (_, i) => (i + 1) / 100);

function point(label: string, t: number, positives: ScoredClip[], background: ScoredClip[], backgroundHours: number): SweepPoint {
  const hits = positives.filter((c) => (c.peaks[label] ?? 0) >= t).length;
  const falseClips = background.filter((c) => (c.peaks[label] ?? 0) >= t).length;
  return {
    threshold: t,
    recall: positives.length ? hits / positives.length : NaN,
    falseClipRate: background.length ? falseClips / background.length : NaN,
    falseAlarmsPerHour: backgroundHours > 0 ? falseClips / backgroundHours : NaN,
  };
}

export function labelQuality(label: string, threshold: number, clips: readonly ScoredClip[], opts: QualityOptions): LabelQuality {
  const positives = clips.filter((c) => opts.positivesOf(c.cls) === label);
  const background = clips.filter((c) => opts.isBackground(c.cls));
  const backgroundHours = background.reduce((s, c) => s + c.durationSec, 0) / 3600;
  const sweep = SWEEP.map((t) => point(label, t, positives, background, backgroundHours));
  const at = point(label, threshold, positives, background, backgroundHours);
  const flagged = clips.filter((c) => (c.peaks[label] ?? 0) >= threshold);
  const truePositives = flagged.filter((c) => opts.positivesOf(c.cls) === label).length;
  const ok = sweep.find((p) => p.falseClipRate <= opts.targetFalseClipRate);
  return {
    label,
    positives: positives.length,
    threshold,
    recall: at.recall,
    precision: flagged.length ? truePositives / flagged.length : NaN,
    falseAlarmsPerHour: at.falseAlarmsPerHour,
    recallAtTarget: ok?.recall ?? 0,
    thresholdAtTarget: ok?.threshold ?? 1,
    sweep,
  };
}

/**
 * Recall at the lowest threshold whose false alarms per hour of background (clips whose peak
 * reaches it) are at most `perHour`; exact over the clips' own scores.
 */
export function recallAtFalseAlarmRate(label: string, clips: readonly ScoredClip[], opts: Pick<QualityOptions, 'positivesOf' | 'isBackground'>, perHour: number): { recall: number; threshold: number } {
  const positives = clips.filter((c) => opts.positivesOf(c.cls) === label).map((c) => c.peaks[label] ?? 0);
  const background = clips.filter((c) => opts.isBackground(c.cls));
  const hours = background.reduce((s, c) => s + c.durationSec, 0) / 3600;
  if (!positives.length) return { recall: NaN, threshold: NaN };
  if (hours === 0) return { recall: NaN, threshold: NaN };
  const bg = background.map((c) => c.peaks[label] ?? 0).sort((a, b) => b - a);
  const allowed = Math.floor(perHour * hours + 1e-9);
  // Above the (allowed+1)-th highest background peak: at most `allowed` false clips.
  const threshold = allowed < bg.length ? bg[allowed]! + 1e-9 : 0;
  return { recall: positives.filter((p) => p >= threshold).length / positives.length, threshold };
}
