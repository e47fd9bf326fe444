import { describe, expect, it } from 'vitest';
import { EventTracker, type EventChange, type TrackedLabel } from '../../agent/detect/tracker.js';

const HOP = 32000;
const WIN = 64000;
const gun: TrackedLabel = { name: 'gunshot', category: 'threat', threshold: 0.5, closeThreshold: 0.3, minWindows: 1 };
const voice: TrackedLabel = { name: 'human_voice', category: 'human', threshold: 0.5, closeThreshold: 0.3, minWindows: 2 };

/** Feeds a score sequence for each label (window i starts at i*HOP) and collects the changes. */
function run(tracker: EventTracker, series: Record<string, number[]>): EventChange[] {
  const n = Math.max(...Object.values(series).map((s) => s.length));
  const out: EventChange[] = [];
  for (let i = 0; i < n; i++) {
    const scores = new Map(Object.entries(series).map(([k, s]) => [k, { score: s[i] ?? 0, evidence: () => [{ label: `${k}@${i}`, score: s[i] ?? 0 }] }]));
    out.push(...tracker.update(i * HOP, i * HOP + WIN, scores));
  }
  return out;
}

const kinds = (changes: EventChange[]) => changes.map((c) => `${c.kind}:${c.event.label}`);

describe('EventTracker', () => {
  it('opens above the threshold, extends, and closes after N quiet hops', () => {
    const t = new EventTracker({ labels: [gun], closeAfterHops: 2 });
    const changes = run(t, { gunshot: [0.1, 0.6, 0.4, 0.2, 0.1, 0.1] });
    expect(kinds(changes)).toEqual(['opened:gunshot', 'updated:gunshot', 'closed:gunshot']);
    const closed = changes.at(-1)!.event;
    expect(closed.startSample).toBe(1 * HOP);
    expect(closed.endSample).toBe(2 * HOP + WIN); // last window that kept it alive
    expect(closed.confidence).toBe(0.6);
    expect(closed.modelLabels).toEqual([{ label: 'gunshot@1', score: 0.6 }]);
    expect(closed.windows).toBe(2);
  });

  it('does not open below the threshold, even above the close threshold', () => {
    const t = new EventTracker({ labels: [gun], closeAfterHops: 1 });
    expect(run(t, { gunshot: [0.45, 0.49, 0.35] })).toEqual([]);
    expect(t.flush()).toEqual([]);
  });

  it('merges bursts separated by a gap shorter than closeAfterHops', () => {
    const t = new EventTracker({ labels: [gun], closeAfterHops: 3 });
    const changes = run(t, { gunshot: [0.9, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1] });
    expect(kinds(changes)).toEqual(['opened:gunshot', 'updated:gunshot', 'closed:gunshot']);
    expect(changes.at(-1)!.event.startSample).toBe(0);
    expect(changes.at(-1)!.event.endSample).toBe(3 * HOP + WIN);
  });

  it('splits bursts separated by a longer gap into two events with distinct keys', () => {
    const t = new EventTracker({ labels: [gun], closeAfterHops: 2 });
    const changes = run(t, { gunshot: [0.9, 0.1, 0.1, 0.8, 0.1, 0.1] });
    const closed = changes.filter((c) => c.kind === 'closed').map((c) => c.event);
    expect(closed).toHaveLength(2);
    expect(closed[0]!.key).not.toBe(closed[1]!.key);
  });

  it('minimum duration: opens only after minWindows windows in a row, starting at the first', () => {
    const t = new EventTracker({ labels: [voice], closeAfterHops: 1 });
    expect(run(t, { human_voice: [0.9, 0.1, 0.9, 0.1] })).toEqual([]); // never two in a row
    const t2 = new EventTracker({ labels: [voice], closeAfterHops: 1 });
    const changes = run(t2, { human_voice: [0.2, 0.7, 0.9, 0.1] });
    expect(kinds(changes)).toEqual(['opened:human_voice', 'closed:human_voice']);
    expect(changes[0]!.event.startSample).toBe(1 * HOP);
    expect(changes[0]!.event.confidence).toBe(0.9);
  });

  it('the peak and its evidence follow the highest window', () => {
    const t = new EventTracker({ labels: [gun], closeAfterHops: 5 });
    run(t, { gunshot: [0.6, 0.95, 0.7] });
    const [closed] = t.flush();
    expect(closed!.event.confidence).toBe(0.95);
    expect(closed!.event.modelLabels[0]!.label).toBe('gunshot@1');
  });

  it('tracks labels independently and flush closes what is open', () => {
    const t = new EventTracker({ labels: [gun, voice], closeAfterHops: 2 });
    expect(kinds(run(t, { gunshot: [0.9, 0.9], human_voice: [0.8, 0.8] }))).toEqual(['opened:gunshot', 'updated:gunshot', 'opened:human_voice']);
    const closed = t.flush();
    expect(kinds(closed)).toEqual(['closed:gunshot', 'closed:human_voice']);
    expect(closed.map((c) => [c.event.startSample, c.event.endSample, c.event.windows])).toEqual([
      [0, HOP + WIN, 2],
      [0, HOP + WIN, 2],
    ]);
    expect(t.flush()).toEqual([]); // nothing left open
  });

  it('is deterministic: the same scores give the same events', () => {
    const series = { gunshot: [0.1, 0.7, 0.2, 0.9, 0.1, 0.1, 0.1] };
    const a = run(new EventTracker({ labels: [gun], closeAfterHops: 2 }), series);
    const b = run(new EventTracker({ labels: [gun], closeAfterHops: 2 }), series);
    expect(kinds(a)).toEqual(['opened:gunshot', 'updated:gunshot', 'closed:gunshot']);
    expect(a.at(-1)!.event).toMatchObject({ startSample: 1 * HOP, endSample: 3 * HOP + WIN, confidence: 0.9, windows: 2 });
    expect(b).toEqual(a);
  });
});
