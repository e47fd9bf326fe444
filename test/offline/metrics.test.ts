import { describe, expect, it } from 'vitest';
import { labelQuality, type ScoredClip } from '../../agent/offline/metrics.js';

const clip = (cls: string, gunshot: number, durationSec = 4): ScoredClip => ({ cls, durationSec, peaks: { gunshot } });
const opts = { positivesOf: (c: string) => (c === 'gunshot' ? 'gunshot' : undefined), isBackground: (c: string) => c.startsWith('background'), targetFalseClipRate: 0.1 };

describe('labelQuality', () => {
  const clips = [
    clip('gunshot', 0.9),
    clip('gunshot', 0.6),
    clip('gunshot', 0.2),
    clip('gunshot', 0.05),
    ...Array.from({ length: 9 }, (_, i) => clip('background', 0.01 * i, 400)), // 0 .. 0.08
    clip('background', 0.7, 400),
    clip('speech', 0.8),
  ];
  const q = labelQuality('gunshot', 0.5, clips, opts);

  it('recall, precision and false alarms per hour of background at the threshold', () => {
    expect(q.positives).toBe(4);
    expect(q.recall).toBe(0.5); // 0.9, 0.6
    expect(q.precision).toBeCloseTo(2 / 4, 9); // flagged: 0.9, 0.6, background 0.7, speech 0.8
    expect(q.falseAlarmsPerHour).toBeCloseTo(1 / ((10 * 400) / 3600), 9);
  });

  it('recall at the target false-clip rate uses the lowest threshold that meets it', () => {
    // 10 % of 10 background clips = 1 clip may pass: the lowest such threshold is 0.09 (only 0.7 passes)
    expect(q.thresholdAtTarget).toBeCloseTo(0.09, 9);
    expect(q.recallAtTarget).toBe(0.75);
  });

  it('the sweep is monotone: recall never rises with the threshold', () => {
    for (let i = 1; i < q.sweep.length; i++) expect(q.sweep[i]!.recall).toBeLessThanOrEqual(q.sweep[i - 1]!.recall);
  });
});
